/// <reference types="node" />
import fs from 'node:fs';
import path from 'node:path';
import { expect, test, type APIRequestContext } from '@playwright/test';
import { formatInfotext } from '../../server/src/lib/infotext.ts';
import { withTextChunk } from '../../server/src/lib/png.ts';
import { fixtureFiles, LIBRARY_DIR, shot, type FixtureFile } from './support/library.ts';

/** A 1×1 PNG. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

/** Put a generated fixture LoRA into the library root under a new file name, and scan it in. */
async function addLora(request: APIRequestContext, source: string, as: string): Promise<void> {
  const target = path.join(LIBRARY_DIR, 'recipes-e2e', `${as}.safetensors`);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.copyFileSync(source, target);
  const { job } = (await (await request.post('/api/v1/library/scan', { data: { roots: [LIBRARY_DIR] } })).json()) as { job: { id: string } };
  await expect
    .poll(async () => ((await (await request.get(`/api/v1/jobs/${job.id}`)).json()) as { job: { status: string } }).job.status, { timeout: 30_000 })
    .toBe('succeeded');
}

test('drop an image → recipe with one LoRA missing → add the file → complete → send to Generate', async ({ page, request }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // fixtures.json also records each file's path.
  const [first, second] = (fixtureFiles() as Array<FixtureFile & { path: string }>).filter((f) => !f.broken);
  await request.patch('/api/v1/library/settings', { data: { watch: false } });
  await addLora(request, first.path, 'e2eHeronInk');

  const infotext = formatInfotext('a heron in morning mist, <lora:e2eHeronInk:0.7> <lora:e2ePaperGrain:0.45>', 'blurry', [
    ['Steps', 24],
    ['Sampler', 'Euler a'],
    ['CFG scale', 6],
    ['Seed', 4242],
    ['Size', '512x768'],
    ['Model', 'sd15-base'],
  ]);
  const image = withTextChunk(PNG, 'parameters', infotext);

  await page.goto('/recipes');
  // A real drop: a DataTransfer holding the file, dispatched on the drop zone.
  const dataTransfer = await page.evaluateHandle(({ b64 }) => {
    const dt = new DataTransfer();
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    dt.items.add(new File([bytes], 'heron.png', { type: 'image/png' }));
    return dt;
  }, { b64: image.toString('base64') });
  await page.getByTestId('recipe-dropzone').dispatchEvent('drop', { dataTransfer });

  const detail = page.getByTestId('recipe-detail');
  await expect(detail).toBeVisible();
  await expect(detail).toContainText('1 missing');
  const loras = detail.getByTestId('recipe-lora');
  await expect(loras).toHaveCount(2);
  await expect(loras.nth(0)).toContainText('file name');
  await expect(loras.nth(1)).toContainText('e2ePaperGrain');
  await expect(loras.nth(1)).toContainText('missing');
  await shot(page, 'recipes-missing');
  await page.keyboard.press('Escape');

  // The missing LoRA arrives in the library: the scan re-matches the recipe without a re-import.
  await addLora(request, second.path, 'e2ePaperGrain');
  await expect
    .poll(async () => ((await (await request.get('/api/v1/recipes', { params: { search: 'heron' } })).json()) as { items: Array<{ missing_count: number }> }).items[0]?.missing_count, { timeout: 15_000 })
    .toBe(0);
  await page.reload();
  const card = page.getByTestId('recipe-card').filter({ hasText: 'heron' }).first();
  await expect(card).not.toContainText('missing');
  await card.click();
  await expect(detail.getByTestId('recipe-lora').nth(1)).toContainText('file name');
  await shot(page, 'recipes-complete');

  await detail.getByTestId('recipe-to-generate').click();
  await expect(page).toHaveURL(/\/generate$/);
  const prompt = page.getByTestId('generate-prompt').locator('textarea');
  await expect(prompt).toHaveValue(/^a heron in morning mist, <lora:[^:]+:0\.7> <lora:[^:]+:0\.45>$/);
  expect(errors).toEqual([]);
});
