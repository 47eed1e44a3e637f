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
  // An earlier scan's summary ("0 added") is on the page until this one is committed: wait for one that added some.
  await expect(page.getByTestId('settings-last-scan')).toContainText(/[1-9]\d* added/, { timeout: 30_000 });
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
  // History says cancelled, not a red "failed".
  await page.getByTestId('nav-history').click();
  await page.getByTestId('history-search').locator('input').fill('a long cancelled render');
  const tile = page.getByTestId('history-item').first();
  await expect(tile).toContainText('cancelled');
  await expect(tile).not.toContainText('failed');
});

test("the form takes the server's defaults and lists; a batch shows as a batch with each image's seed", async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/generate');
  // The A1111 test server's defaults (Settings → Generation) and its own sampler list, not a list written into the page.
  await expect(page.getByTestId('generate-reset-defaults')).toContainText('20 steps, DPM++ 2M, CFG 7');
  await expect(page.getByText('Steps: 20')).toBeVisible();
  await page.getByTestId('generate-sampler').click();
  await expect(page.locator('.n-base-select-option')).toHaveText(['Euler', 'DPM++ 2M']);
  await page.keyboard.press('Escape');

  await page.getByTestId('generate-prompt').locator('textarea').fill('a batch of two foxes');
  await page.getByTestId('generate-batch-size').locator('input').fill('2');
  await page.getByTestId('generate-batch-size').locator('input').blur();
  await page.getByTestId('generate-queue').click();
  await expect(page.getByTestId('queue-item').filter({ hasText: 'a batch of two foxes' })).toHaveCount(0, { timeout: 30_000 });
  const latest = page.getByTestId('recent-results').locator('a').first();
  await expect(latest.getByTestId('batch-count')).toHaveText('2 images');
  await expect(latest.locator('img')).toHaveCount(2);
  await shot(page, 'generate-batch');

  // The latest result opens in History's viewer; each image of the batch carries its own seed.
  await latest.click();
  await expect(page).toHaveURL(/\/history\?open=/);
  const detail = page.getByTestId('result-detail');
  await expect(detail).toContainText('a batch of two foxes');
  const seeds = await detail.getByTestId('result-image-seed').allTextContents();
  expect(seeds).toHaveLength(2);
  expect(new Set(seeds).size).toBe(2);
  await detail.getByTestId('result-batch').locator('button').nth(1).click();
  await expect(detail.getByTestId('result-seed')).toHaveText(seeds[1]);
  await shot(page, 'history-batch-detail');
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('history-item').first().getByTestId('batch-count')).toHaveText('2 images');
  expect(errors).toEqual([]);
});

test('warns before sending to a server that is not answering, and sends only when asked', async ({ page, request }) => {
  // A ComfyUI at a port nothing listens on.
  await request.put('/api/v1/generation/settings', { data: { comfyui: { base_url: 'http://127.0.0.1:9' } } });
  try {
    await page.goto('/generate');
    await page.getByTestId('generate-backend').click();
    await page.locator('.n-base-select-option').filter({ hasText: 'comfyui (not answering)' }).click();
    await page.getByTestId('generate-prompt').locator('textarea').fill('a fox for a server that is down');
    await expect(page.getByTestId('generate-server-down')).toContainText('comfyui is not answering');
    await page.getByTestId('generate-queue').click();
    await expect(page.getByTestId('generate-send-anyway')).toHaveText('Queue anyway');
    await shot(page, 'generate-server-down');
    await page.getByRole('button', { name: "Don't send" }).click();
    await expect(page.getByTestId('generate-send-anyway')).toHaveCount(0);
    await expect(page.getByTestId('queue-item').filter({ hasText: 'a fox for a server that is down' })).toHaveCount(0);
  } finally {
    await request.put('/api/v1/generation/settings', { data: { comfyui: { base_url: null } } });
    await page.evaluate(() => localStorage.setItem('lora-manager.generate.backend', 'sdnext'));
  }
});
