/// <reference types="node" />
import fs from 'node:fs';
import path from 'node:path';
import { expect, test, type APIRequestContext } from '@playwright/test';
import { LIBRARY_DIR, shot } from './support/library.ts';

/** A 1×1 PNG. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

/** The same bytes under two names: a copy a user made by hand, which the duplicates view should find once hashed. */
async function seedTwins(request: APIRequestContext): Promise<Record<string, string>> {
  await request.patch('/api/v1/library/settings', { data: { watch: false } });
  const header = Buffer.from(JSON.stringify({ __metadata__: { ss_output_name: 'twin' } }));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(header.length));
  const ids: Record<string, string> = {};
  for (const name of ['Twin Original', 'Twin Copy']) {
    const file = path.join(LIBRARY_DIR, 'twins', `${name.replace(/\W+/g, '_')}.safetensors`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, Buffer.concat([length, header]));
    const created = await request.post('/api/v1/adapters', { data: { name, file_path: file } });
    ids[name] = created.ok()
      ? ((await created.json()) as { adapter: { id: string } }).adapter.id
      : ((await (await request.get('/api/v1/adapters', { params: { search: name } })).json()) as { items: Array<{ id: string }> }).items[0].id;
  }
  return ids;
}

const adapter = async (request: APIRequestContext, id: string) =>
  ((await (await request.get(`/api/v1/adapters/${id}`)).json()) as { adapter: { sha256: string | null; preview_path: string | null } }).adapter;

test('one LoRA’s file actions: hash it, find its duplicate, replace its preview, ask CivitAI', async ({ page, request }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const ids = await seedTwins(request);

  await page.goto('/library?q=twin');
  await page.getByTestId('adapter-card').filter({ hasText: 'Twin Original' }).click();
  const detail = page.getByTestId('adapter-detail');
  const actions = detail.getByTestId('detail-file-actions');

  // Hashing runs as a job; the panel's button starts it and the hash lands on the adapter.
  await actions.getByRole('button', { name: /Compute hashes|Verify hashes/ }).click();
  await expect.poll(async () => (await adapter(request, ids['Twin Original'])).sha256, { timeout: 30_000 }).toMatch(/^[0-9a-f]{64}$/);
  await request.post(`/api/v1/adapters/${ids['Twin Copy']}/hash`);
  await expect.poll(async () => (await adapter(request, ids['Twin Copy'])).sha256, { timeout: 30_000 }).toBe((await adapter(request, ids['Twin Original'])).sha256);

  // A new preview from the panel.
  await detail.getByTestId('detail-preview-file').setInputFiles({ name: 'cover.png', mimeType: 'image/png', buffer: PNG });
  await expect(page.getByText('Preview replaced')).toBeVisible();
  expect((await adapter(request, ids['Twin Original'])).preview_path).not.toBeNull();

  // CivitAI is off until the user enables it: the button says so instead of failing silently.
  await detail.getByTestId('detail-civitai-refresh').click();
  await expect(page.getByText(/CivitAI lookups are off/)).toBeVisible();
  await page.keyboard.press('Escape');

  // The duplicates view groups the two files and opens either one.
  await page.getByTestId('open-duplicates').click();
  const dialog = page.getByTestId('duplicates-dialog');
  const group = dialog.getByTestId('duplicate-group').filter({ hasText: 'Twin Original' });
  await expect(group).toContainText('Twin Copy');
  await shot(page, 'library-duplicates');
  await group.locator('.member').filter({ hasText: 'Twin Copy' }).getByRole('button', { name: 'Open' }).click();
  await expect(dialog).toBeHidden();
  await expect(page.locator('.n-drawer')).toContainText('Twin Copy');
  expect(errors).toEqual([]);
});
