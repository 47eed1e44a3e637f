/// <reference types="node" />
import { expect, test } from '@playwright/test';
import { fixtureFiles, GENERATED_LIBRARY_DIR, shot } from './support/library.ts';

test('scan → search → open → activate → compose → generate → watch progress → history → rate', async ({ page, request }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const good = fixtureFiles().filter((f) => !f.broken);

  // Add the generated library as a folder from the settings page, scan it and watch the scan finish.
  await page.goto('/settings');
  await page.getByTestId('settings-root-input').locator('input').fill(GENERATED_LIBRARY_DIR);
  await page.getByRole('button', { name: 'Add folder' }).click();
  await expect(page.getByTestId('settings-library')).toContainText(GENERATED_LIBRARY_DIR);
  await page.getByTestId('settings-scan').click();
  await expect(page.getByTestId('settings-scan-progress')).toBeVisible();
  // Other spec files may have registered LoRAs in the same root before: the scan adds at least the generated ones.
  await expect(page.getByTestId('settings-last-scan')).toContainText(/\d+ added/, { timeout: 30_000 });
  const total = ((await (await request.get('/api/v1/adapters', { params: { per_page: 1 } })).json()) as { total: number }).total;
  expect(total).toBeGreaterThanOrEqual(good.length);
  await shot(page, 'settings-scan');

  // Library: find one of the scanned LoRAs and activate it from its detail panel.
  // One without sidecars, so its name is its file name.
  const target = good.find((f) => f.sidecars.length === 0) ?? good[0];
  await page.getByTestId('nav-library').click();
  await expect(page.getByTestId('library-count')).toContainText(`${total} LoRAs`);
  await shot(page, 'library-scanned');
  await page.getByTestId('library-search').locator('input').fill(target.stem);
  await expect(page).toHaveURL(new RegExp(`q=${target.stem}`));
  const card = page.getByTestId('adapter-card').filter({ hasText: target.stem }).first();
  await card.click();
  const panel = page.getByTestId('adapter-detail');
  await expect(panel).toContainText(target.stem);
  await shot(page, 'library-scanned-detail');
  await panel.getByTestId('detail-active').click();
  await expect(page.getByText(`${target.stem} is active`)).toBeVisible();
  await page.keyboard.press('Escape');

  // Compose: the active LoRA is listed; the server composes the prompt live.
  await page.getByTestId('nav-compose').click();
  await expect(page.getByTestId('compose-item')).toHaveCount(1);
  await page.getByTestId('compose-prefix').locator('textarea').fill('a fox in a misty forest');
  await expect(page.getByTestId('compose-preview')).toContainText('a fox in a misty forest');
  await expect(page.getByTestId('compose-preview')).toContainText(`<lora:${target.stem}:1>`);
  await shot(page, 'compose');
  await page.getByTestId('compose-send').click();

  // Generate: the prompt arrived; queue it and watch the progress.
  await expect(page).toHaveURL(/\/generate$/);
  await expect(page.getByTestId('generate-prompt').locator('textarea')).toHaveValue(new RegExp(`<lora:${target.stem}:1>`));
  await expect(page.getByTestId('generate-backend')).toContainText('sdnext');
  await page.getByTestId('generate-queue').click();
  const item = page.getByTestId('queue-item').first();
  await expect(item).toBeVisible();
  await expect(item.getByTestId('queue-progress')).toContainText(/step \d+ \/ \d+/);
  await shot(page, 'generate-progress');
  await expect(page.getByTestId('queue-item')).toHaveCount(0, { timeout: 30_000 });
  await expect(page.getByTestId('recent-results').locator('img').first()).toBeVisible();
  await shot(page, 'generate-done');

  // History: the image is there; open it and rate it.
  await page.getByTestId('nav-history').click();
  const tile = page.getByTestId('history-item').first();
  await expect(tile.locator('img')).toBeVisible();
  await shot(page, 'history');
  await tile.click();
  const detail = page.getByTestId('result-detail');
  await expect(detail).toContainText('a fox in a misty forest');
  await expect(detail.getByTestId('result-infotext')).toContainText('Steps:');
  await detail.getByTestId('result-rating').locator('.n-rate__item').nth(3).click();
  await shot(page, 'history-detail');
  await expect
    .poll(async () => ((await (await request.get('/api/v1/generation/results', { params: { envelope: 'true' } })).json()) as { items: Array<{ rating: number | null }> }).items[0].rating)
    .toBe(4);

  // "Use these parameters again" fills the studio.
  await detail.getByTestId('result-reuse').click();
  await expect(page).toHaveURL(/\/generate$/);
  await expect(page.getByTestId('generate-prompt').locator('textarea')).toHaveValue(/a fox in a misty forest/);
  expect(errors).toEqual([]);
});

test('cancel a queued generation', async ({ page, request }) => {
  await page.goto('/generate');
  await page.getByTestId('generate-prompt').locator('textarea').fill('a long cancelled render');
  await page.getByTestId('generate-queue').click();
  const item = page.getByTestId('queue-item').filter({ hasText: 'a long cancelled render' });
  await expect(item).toBeVisible();
  await item.getByTestId('queue-cancel').click();
  await expect(item).toHaveCount(0);
  const jobs = (await (await request.get('/api/v1/jobs', { params: { kind: 'generation', status: 'cancelled' } })).json()) as { total: number };
  expect(jobs.total).toBeGreaterThanOrEqual(1);
});
