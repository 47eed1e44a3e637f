/// <reference types="node" />
import { expect, test } from '@playwright/test';
import { seedLibrary, shot } from './support/library.ts';

test('search → open → activate → compose → generate → watch progress → history → rate', async ({ page, request }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await seedLibrary(request, [
    { name: 'Watercolor Fox', tags: ['style', 'watercolor'], base_model: 'SD 1.5', triggers: ['wcfox'] },
    { name: 'Misty Forest', tags: ['background'], base_model: 'SD 1.5', triggers: ['mistyforest'] },
  ]);
  // Start from an empty composition whatever earlier tests activated.
  const active = (await (await request.get('/api/v1/adapters', { params: { active_only: 'true', per_page: 200 } })).json()) as { items: Array<{ id: string }> };
  if (active.items.length) await request.post('/api/v1/adapters/bulk', { data: { action: 'deactivate', lora_ids: active.items.map((a) => a.id) } });

  // Library: find the LoRA and activate it from its detail panel.
  await page.goto('/library');
  await page.getByTestId('library-search').locator('input').fill('watercolor fox');
  await page.getByTestId('adapter-card').filter({ hasText: 'Watercolor Fox' }).click();
  await page.getByTestId('adapter-detail').getByTestId('detail-active').click();
  await expect(page.getByText('Watercolor Fox is active')).toBeVisible();
  await page.keyboard.press('Escape');

  // Compose: the active LoRA is listed; the server composes the prompt live.
  await page.getByTestId('nav-compose').click();
  await expect(page.getByTestId('compose-item')).toHaveCount(1);
  await page.getByTestId('compose-prefix').locator('textarea').fill('a fox in a misty forest');
  await expect(page.getByTestId('compose-preview')).toContainText('a fox in a misty forest');
  await expect(page.getByTestId('compose-preview')).toContainText('<lora:Watercolor_Fox:1>');
  await expect(page.getByTestId('compose-preview')).toContainText('wcfox');
  await shot(page, 'compose');
  await page.getByTestId('compose-send').click();

  // Generate: the prompt arrived; queue it and watch the progress.
  await expect(page).toHaveURL(/\/generate$/);
  await expect(page.getByTestId('generate-prompt').locator('textarea')).toHaveValue(/<lora:Watercolor_Fox:1>/);
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
