/// <reference types="node" />
import { expect, test } from '@playwright/test';
import { seedLibrary, shot, type SeedAdapter } from './support/library.ts';

const ADAPTERS: SeedAdapter[] = [
  { name: 'Quillpaint Alpha', tags: ['style', 'quillpaint'], base_model: 'SDXL 1.0', triggers: ['quillpaint stroke'] },
  { name: 'Quillpaint Beta', tags: ['style', 'quillpaint'], base_model: 'SDXL 1.0', triggers: ['quillpaint stroke', 'quill ink'] },
  { name: 'Quillpaint Gamma', tags: ['quillpaint'], base_model: 'SDXL 1.0', triggers: ['quill ink'] },
];

let ids: Record<string, string> = {};
test.beforeAll(async ({ request }) => {
  ids = await seedLibrary(request, ADAPTERS);
});

test('similar LoRAs in the detail panel, with why, feedback and one-click activation; trigger search', async ({ page, request }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));

  await page.goto('/library');
  await page.getByTestId('library-search').locator('input').fill('Quillpaint Alpha');
  await page.getByTestId('adapter-card').filter({ hasText: 'Quillpaint Alpha' }).click();
  const similar = page.getByTestId('adapter-detail').getByTestId('detail-similar');
  const beta = similar.getByTestId('suggestion').filter({ hasText: 'Quillpaint Beta' });
  await expect(beta).toContainText('shares trigger words: quillpaint stroke');
  await shot(page, 'library-detail-similar');
  await beta.getByTestId('suggestion-up').click();
  await beta.getByTestId('suggestion-activate').click();
  await expect.poll(async () => (await (await request.get(`/api/v1/adapters/${ids['Quillpaint Beta']}`)).json()).adapter.active).toBe(true);
  const feedbackOnBeta = async () => {
    const feedback = (await (await request.get('/api/v1/recommendations/feedback')).json()) as Array<{ recommended_lora_id: string; feedback_type: string }>;
    return feedback.filter((f) => f.recommended_lora_id === ids['Quillpaint Beta']).map((f) => f.feedback_type).sort();
  };
  await expect.poll(feedbackOnBeta).toEqual(['activated', 'positive']);
  await page.keyboard.press('Escape');

  await page.getByTestId('library-search').locator('input').fill('trigger:quill ink');
  // Other specs' LoRAs on the same server may answer to "ink…" too; the exact matches come first.
  const matches = page.getByTestId('trigger-matches').getByTestId('suggestion');
  await expect(matches.nth(1)).toContainText('exact trigger match');
  expect((await matches.locator('.name').allTextContents()).slice(0, 2).sort()).toEqual(['Quillpaint Beta', 'Quillpaint Gamma']);
  await shot(page, 'library-trigger-search');
  expect(errors).toEqual([]);
});

test('Compose suggests LoRAs for the prompt', async ({ page, request }) => {
  // Start from no active LoRA (other specs on this server activate some, and their base model would narrow the list).
  const active = (await (await request.get('/api/v1/adapters', { params: { active_only: true, per_page: 100 } })).json()) as { items: Array<{ id: string }> };
  if (active.items.length) await request.post('/api/v1/adapters/bulk', { data: { action: 'deactivate', lora_ids: active.items.map((a) => a.id) } });
  await page.goto('/compose');
  await page.getByTestId('compose-prefix').locator('textarea').fill('a harbour at dusk, quillpaint stroke');
  await page.getByTestId('compose-suggest-run').click();
  const suggestions = page.getByTestId('compose-suggest').getByTestId('suggestion');
  await expect(suggestions.first()).toBeVisible();
  await expect(page.getByTestId('compose-suggest')).toContainText('your prompt uses its trigger: quillpaint stroke');
  await shot(page, 'compose-suggest');
});
