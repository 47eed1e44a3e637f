import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MANIFEST_NAME, USER_DATA_NAME } from '../../src/lib/archive-manifest.ts';
import { ZipReader } from '../../src/lib/zip-reader.ts';
import { allAdapters, exportZip, importZip, seedLibrary, wipe } from '../support/archive-fixtures.ts';
import { createTestApp, TEST_DIALECTS, type TestApp } from '../support/test-app.ts';
import { buildZip } from '../support/zip-builder.ts';

const API = '/api/v1';
const LIMITS = { maxEntries: 10_000, maxUncompressedBytes: 1e9, maxRatio: 1000 };

/**
 * Issue 14 item 5 and issue 15 items 8 and 10: "Quick Export All" (user_data, system_config) round trips without
 * overwriting what the user set; an unchanged export checked later has no conflicts; the estimate reads no file.
 */
describe.each(TEST_DIALECTS)('user data, settings, conflicts and estimates in archives on %s', (dialect) => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp(dialect);
  });
  afterAll(async () => t.close());
  beforeEach(async () => {
    await wipe(t);
    await t.container.database.db.deleteFrom('setting').execute();
  });

  async function entries(zip: Buffer): Promise<Map<string, Buffer>> {
    const file = path.join(t.dataDir, `inspect-${Date.now()}.zip`);
    fs.writeFileSync(file, zip);
    const reader = await ZipReader.open(file, LIMITS);
    try {
      const out = new Map<string, Buffer>();
      for (const name of reader.entries.keys()) if (name.endsWith('.json')) out.set(name, await reader.buffer(name, 1e8));
      return out;
    } finally {
      reader.close();
      fs.rmSync(file);
    }
  }

  const update = (id: string, changes: Record<string, unknown>) => t.container.repositories.adapters.update(id, { updated_at: '2026-02-01T00:00:00.000Z', ...changes });

  it('user_data and system_config are exported (no longer refused), settings without secrets', async () => {
    await seedLibrary(t, 2);
    await t.container.repositories.settings.set('ui.theme', { dark: true }, '2025-03-01T00:00:00.000Z');
    await t.container.repositories.settings.set('civitai.api_key', 'sealed-secret-key', '2025-03-01T00:00:00.000Z');
    await t.container.repositories.settings.set(
      'generation.servers',
      { sdnext: { base_url: 'http://sd.local:7860', username: 'me', password: 'sealed-password', credentials_origin: 'http://sd.local:7860', default_sampler: 'Euler' } },
      '2025-03-01T00:00:00.000Z',
    );
    const zip = await exportZip(t, { user_data: true, system_config: true });
    const files = await entries(zip);
    const manifest = JSON.parse(files.get(MANIFEST_NAME)!.toString());
    expect(manifest.user_data_path).toBe(USER_DATA_NAME);
    const userData = JSON.parse(files.get(USER_DATA_NAME)!.toString());
    // seedLibrary rates both and favourites the first.
    expect(userData.adapters.map((a: { name: string; rating: number; favorite: boolean; notes: string }) => [a.name, a.rating, a.favorite, a.notes])).toEqual([
      ['style 0', 1, true, 'note 0'],
      ['style 1', 2, false, 'note 1'],
    ]);
    const settingsText = files.get('settings.json')!.toString();
    const settings = JSON.parse(settingsText) as Array<{ key: string; value: unknown }>;
    expect(settings.find((s) => s.key === 'ui.theme')?.value).toEqual({ dark: true });
    expect(settings.find((s) => s.key === 'generation.servers')?.value).toEqual({ sdnext: { base_url: 'http://sd.local:7860', default_sampler: 'Euler' } });
    expect(settingsText).not.toContain('sealed-secret-key');
    expect(settingsText).not.toContain('sealed-password');
    expect(settings.some((s) => s.key === 'civitai.api_key')).toBe(false);
  });

  it('merge fills what is unset here and keeps what the user set; overwrite_user_data replaces it', async () => {
    const [a, b] = await seedLibrary(t, 2);
    const zip = await exportZip(t, { user_data: true, lora_files: false, previews: false });
    // Since the export: a's rating was changed here (the user's), b's notes and rating were cleared.
    await update(a.id, { rating: 5 });
    await update(b.id, { rating: null, notes: null });

    const merged = await importZip(t, zip, { conflict_resolution: 'skip' });
    expect(merged.body.success).toBe(true);
    expect(merged.body.results[0].warnings).toEqual(expect.arrayContaining([expect.stringMatching(/^1 rating\(s\), favourite\(s\) or note\(s\) set here differ/)]));
    const after = new Map((await allAdapters(t)).map((x) => [x.id, x]));
    expect(after.get(a.id)).toMatchObject({ rating: 5, favorite: true, notes: 'note 0' });
    expect(after.get(b.id)).toMatchObject({ rating: 2, notes: 'note 1' });

    await importZip(t, zip, { conflict_resolution: 'skip', overwrite_user_data: true });
    expect((await allAdapters(t)).find((x) => x.id === a.id)).toMatchObject({ rating: 1 });
  });

  it('user data finds a LoRA by its file hash when the catalogue gave it another id', async () => {
    const [a] = await seedLibrary(t, 1);
    const zip = await exportZip(t, { user_data: true, lora_files: false, previews: false });
    const original = (await allAdapters(t))[0];
    await wipe(t);
    const [again] = await seedLibrary(t, 1);
    expect(again.id).not.toBe(a.id);
    await update(again.id, { rating: null, favorite: false, notes: null });
    // A metadata archive whose adapter rows are skipped (same name and version here): only its user data applies.
    await importZip(t, zip, { conflict_resolution: 'skip' });
    expect((await allAdapters(t)).find((x) => x.id === again.id)).toMatchObject({ rating: original.rating, favorite: original.favorite, notes: original.notes });
  });

  it('settings set here are kept in a merge unless import_settings; missing ones are added', async () => {
    await t.container.repositories.settings.set('ui.theme', { dark: true }, '2025-03-01T00:00:00.000Z');
    await t.container.repositories.settings.set('ui.density', 'compact', '2025-03-01T00:00:00.000Z');
    await seedLibrary(t, 1);
    const zip = await exportZip(t, { system_config: true, lora_files: false });
    await t.container.repositories.settings.set('ui.theme', { dark: false }, '2025-04-01T00:00:00.000Z');
    await t.container.database.db.deleteFrom('setting').where('key', '=', 'ui.density').execute();

    const merged = await importZip(t, zip, { conflict_resolution: 'skip' });
    expect(merged.body.results[0].warnings).toEqual(expect.arrayContaining([expect.stringMatching(/^1 setting\(s\) set here differ/)]));
    expect(await t.container.repositories.settings.get('ui.theme')).toEqual({ dark: false });
    expect(await t.container.repositories.settings.get('ui.density')).toBe('compact');

    await importZip(t, zip, { conflict_resolution: 'skip', import_settings: true });
    expect(await t.container.repositories.settings.get('ui.theme')).toEqual({ dark: true });
  });

  it('an export checked again after background hashing has no conflicts; a user edit is one, naming the field', async () => {
    const [a, b] = await seedLibrary(t, 2);
    const zip = await exportZip(t, { lora_files: false, previews: false });
    // What the background does between export and check: hashes, hash status, file facts and updated_at.
    await update(a.id, { sha256: 'f'.repeat(64), autov2: 'abcdef1234', hash_status: 'hashed', file_mtime: '2026-02-01T00:00:00.000Z' });
    await update(b.id, { sha256: 'e'.repeat(64), updated_at: '2026-03-01T00:00:00.000Z' });

    const check = await importZip(t, zip, { mode: 'dry-run' });
    expect(check.body.results[0]).toMatchObject({ status: 'validated', conflicts: [] });

    await update(b.id, { description: 'my own words', rating: 4 });
    const again = await importZip(t, zip, { mode: 'dry-run' });
    expect(again.body.results[0].status).toBe('conflict');
    expect(again.body.results[0].conflicts).toEqual([
      expect.objectContaining({
        reason: 'same_id',
        existing_id: b.id,
        differences: [
          { field: 'description', archive: 'A style LoRA number 1', current: 'my own words' },
          { field: 'rating', archive: '2', current: '4' },
        ],
      }),
    ]);
  });

  it('the estimate comes from the catalogue: a file gone from disk is still counted at its recorded size', async () => {
    const seeded = await seedLibrary(t, 3);
    const recorded = (await allAdapters(t)).reduce((n, x) => n + (x.file_size ?? 0), 0);
    for (const s of seeded) fs.rmSync(s.file);
    const res = await t.app.inject({ method: 'POST', url: `${API}/export/estimate`, payload: { loras: true, previews: false, lora_metadata: false } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ adapter_count: 3, file_count: 3, approximate: true });
    expect(res.json().bytes).toBeGreaterThanOrEqual(recorded);
    const metadataOnly = (await t.app.inject({ method: 'POST', url: `${API}/export/estimate`, payload: { loras: true, lora_files: false, previews: false, lora_metadata: false } })).json();
    expect(metadataOnly.bytes).toBeLessThan(recorded);
    const tagged = (await t.app.inject({ method: 'POST', url: `${API}/export/estimate`, payload: { loras: true, tags: ['user-1'] } })).json();
    expect(tagged.adapter_count).toBe(1);
    // Hostile or impossible options are refused by the estimate as by the export itself.
    const badDate = await t.app.inject({ method: 'POST', url: `${API}/export/estimate`, payload: { loras: true, adapter_date_from: 'yesterday; drop table adapter' } });
    expect(badDate.statusCode).toBe(400);
    expect(badDate.json().code).toBe('invalid_date');
    const tooMany = await t.app.inject({ method: 'POST', url: `${API}/export/estimate`, payload: { loras: true, tags: Array.from({ length: 101 }, (_, i) => `t${i}`) } });
    expect(tooMany.statusCode).toBe(422);
  });

  it('refuses a user-data.json with values out of range, changing nothing', async () => {
    const [a] = await seedLibrary(t, 1);
    const doc = Buffer.from(JSON.stringify({ adapters: [{ id: a.id, name: a.name, version: 'v1', sha256: null, favorite: true, rating: 99, notes: null }], results: [] }));
    const manifest = {
      format: 'lora-manager-archive',
      format_version: 1,
      adapters: [],
      user_data_path: USER_DATA_NAME,
      entries: [{ path: USER_DATA_NAME, size: doc.length, sha256: createHash('sha256').update(doc).digest('hex') }],
    };
    const before = await allAdapters(t);
    const { body } = await importZip(t, buildZip([{ name: MANIFEST_NAME, data: JSON.stringify(manifest) }, { name: USER_DATA_NAME, data: doc }]), { overwrite_user_data: true });
    expect(body.results[0]).toMatchObject({ status: 'error', code: 'metadata_invalid' });
    expect(await allAdapters(t)).toEqual(before);
  });
});
