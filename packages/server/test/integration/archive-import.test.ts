import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { allAdapters, exportZip, fakeLora, importZip, seedLibrary, sha256File, snapshot, tagRows, wipe } from '../support/archive-fixtures.ts';
import { createTestApp, TEST_DIALECTS, type TestApp } from '../support/test-app.ts';

describe.each(TEST_DIALECTS)('archive round trips and conflicts on %s', (dialect) => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp(dialect);
  });
  afterAll(async () => t.close());
  beforeEach(async () => {
    await wipe(t);
    await t.container.database.db.deleteFrom('setting').execute();
  });

  it('export → wipe → import gives identical adapters, tag rows, files and settings', async () => {
    const seeded = await seedLibrary(t, 3);
    await t.container.repositories.settings.set('ui.theme', { dark: true }, '2025-03-01T00:00:00.000Z');
    const before = await allAdapters(t);
    const tagsBefore = await Promise.all(seeded.map((s) => tagRows(t, s.id)));
    const filesBefore = snapshot(t.libraryDir);
    const mtimesBefore = seeded.map((s) => fs.statSync(s.file).mtime.toISOString());
    expect(Object.keys(filesBefore)).toHaveLength(9);

    const zip = await exportZip(t, { system_config: true });
    await wipe(t);
    await t.container.database.db.deleteFrom('setting').execute();
    expect(snapshot(t.libraryDir)).toEqual({});

    const { status, body } = await importZip(t, zip, { mode: 'merge', import_settings: true });
    expect(status).toBe(200);
    expect(body).toMatchObject({ success: true, processed_files: 1, results: [{ status: 'imported', created: 3, files_written: 9 }] });

    const after = await allAdapters(t);
    // The import fills primary_file_local_path with where the file now is (the original's rule, acceptance case 29);
    // every other field comes back exactly as it was exported.
    expect(after.map(({ primary_file_local_path: _p, ...rest }) => rest)).toEqual(before.map(({ primary_file_local_path: _p, ...rest }) => rest));
    for (const a of after) expect(a.primary_file_local_path).toBe(a.file_path);
    expect(await Promise.all(seeded.map((s) => tagRows(t, s.id)))).toEqual(tagsBefore);
    expect(snapshot(t.libraryDir)).toEqual(filesBefore);
    expect(seeded.map((s) => fs.statSync(s.file).mtime.toISOString())).toEqual(mtimesBefore);
    expect(await t.container.repositories.settings.get('ui.theme')).toEqual({ dark: true });
    expect(fs.readdirSync(path.join(t.dataDir, 'staging'))).toEqual([]);
  });

  it('a metadata-only archive restores the catalogue and finds the files already on disk', async () => {
    await seedLibrary(t, 2);
    const before = await allAdapters(t);
    const zip = await exportZip(t, { lora_files: false, previews: false });
    await t.container.repositories.adapters.deleteByIds(before.map((a) => a.id));

    const { body } = await importZip(t, zip);
    expect(body.results[0]).toMatchObject({ status: 'imported', created: 2 });
    const after = await allAdapters(t);
    expect(after.map((a) => [a.id, a.file_path, a.missing])).toEqual(before.map((a) => [a.id, a.file_path, false]));
  });

  it('conflict_resolution ask imports nothing and lists the conflicts', async () => {
    await seedLibrary(t, 2);
    const zip = await exportZip(t);
    await t.container.repositories.adapters.update((await allAdapters(t))[0].id, { notes: 'edited since the export', updated_at: '2026-01-01T00:00:00.000Z' });
    const before = await allAdapters(t);
    const files = snapshot(t.libraryDir);

    const { body } = await importZip(t, zip, { conflict_resolution: 'ask' });
    expect(body.success).toBe(false);
    expect(body.results[0]).toMatchObject({ status: 'conflict', code: 'import_conflicts', created: 0, updated: 0 });
    expect(body.results[0].conflicts).toEqual([expect.objectContaining({ reason: 'same_id', existing_id: before[0].id })]);
    expect(await allAdapters(t)).toEqual(before);
    expect(snapshot(t.libraryDir)).toEqual(files);
  });

  it('an unchanged adapter is no conflict: re-importing the same archive changes nothing', async () => {
    await seedLibrary(t, 2);
    const zip = await exportZip(t);
    const before = await allAdapters(t);
    const { body } = await importZip(t, zip);
    expect(body.results[0]).toMatchObject({ status: 'imported', unchanged: 2, created: 0, files_written: 0 });
    expect(await allAdapters(t)).toEqual(before);
  });

  it('skip keeps what is there; overwrite takes the archive; per-adapter decisions mix them', async () => {
    const [a, b] = await seedLibrary(t, 2);
    const zip = await exportZip(t);
    const edit = async () => {
      for (const s of [a, b]) await t.container.repositories.adapters.update(s.id, { notes: 'local edit', updated_at: '2026-01-01T00:00:00.000Z' });
      fs.writeFileSync(a.file, fakeLora(999, 5000));
    };
    await edit();
    const localA = sha256File(a.file);

    const skipped = (await importZip(t, zip, { conflict_resolution: 'skip' })).body.results[0];
    expect(skipped).toMatchObject({ status: 'imported', skipped: 2, files_written: 0 });
    expect((await allAdapters(t)).map((x) => x.notes)).toEqual(['local edit', 'local edit']);
    expect(sha256File(a.file)).toBe(localA);

    const overwritten = (await importZip(t, zip, { conflict_resolution: 'overwrite' })).body.results[0];
    expect(overwritten).toMatchObject({ status: 'imported', updated: 2, files_written: 1 });
    expect((await allAdapters(t)).map((x) => x.notes)).toEqual(['note 0', 'note 1']);
    expect(sha256File(a.file)).not.toBe(localA);

    await edit();
    const mixed = (await importZip(t, zip, { conflict_resolution: 'ask', decisions: { [a.id]: 'overwrite', [b.id]: 'skip' } })).body.results[0];
    expect(mixed).toMatchObject({ status: 'imported', updated: 1, skipped: 1 });
    expect((await allAdapters(t)).map((x) => x.notes)).toEqual(['note 0', 'local edit']);
  });

  it('rename imports a copy under a new name, id and file name next to the original', async () => {
    const [a] = await seedLibrary(t, 1);
    const zip = await exportZip(t);
    await t.container.repositories.adapters.update(a.id, { notes: 'mine', updated_at: '2026-01-01T00:00:00.000Z' });
    fs.writeFileSync(a.file, fakeLora(777, 5000));
    const mine = sha256File(a.file);

    const result = (await importZip(t, zip, { conflict_resolution: 'rename' })).body.results[0];
    expect(result).toMatchObject({ status: 'imported', renamed: 1 });
    const adapters = await allAdapters(t);
    expect(adapters.map((x) => x.name)).toEqual(['style 0', 'style 0 (imported)']);
    const copy = adapters[1];
    expect(copy.id).not.toBe(a.id);
    expect(copy.file_path).toBe(a.file.replace('style_0.safetensors', 'style_0 (2).safetensors'));
    expect(fs.existsSync(copy.file_path)).toBe(true);
    expect(fs.existsSync(a.file.replace('style_0.safetensors', 'style_0 (2).civitai.info'))).toBe(true);
    expect(sha256File(a.file)).toBe(mine);
    expect(adapters[0].notes).toBe('mine');
  });

  it('replace mode makes the catalogue what the archive holds (files of removed adapters stay on disk)', async () => {
    const [a, b] = await seedLibrary(t, 2);
    const zip = await exportZip(t, { adapter_ids: [a.id] });
    const { body } = await importZip(t, zip, { mode: 'replace' });
    expect(body.results[0]).toMatchObject({ status: 'imported', deleted: 1, unchanged: 1 });
    expect((await allAdapters(t)).map((x) => x.id)).toEqual([a.id]);
    expect(fs.existsSync(b.file)).toBe(true);
  });

  it('dry-run verifies everything and changes nothing', async () => {
    await seedLibrary(t, 2);
    const zip = await exportZip(t);
    await wipe(t);
    const { body } = await importZip(t, zip, { mode: 'dry-run', validate: true });
    expect(body).toMatchObject({ success: true, results: [{ status: 'validated', files_written: 6 }] });
    expect(body.results[0].adapters.map((x: { status: string }) => x.status)).toEqual(['validated', 'validated']);
    expect(await allAdapters(t)).toEqual([]);
    expect(snapshot(t.libraryDir)).toEqual({});
  });

  it('exports a selection by ids, tags and creation date', async () => {
    const seeded = await seedLibrary(t, 3);
    const names = async (body: Record<string, unknown>) => {
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/export/estimate', payload: { loras: true, ...body } });
      return res.json().adapter_count as number;
    };
    expect(await names({})).toBe(3);
    expect(await names({ adapter_ids: [seeded[1].id] })).toBe(1);
    expect(await names({ tags: ['USER-2'] })).toBe(1);
    expect(await names({ tags: ['style', 'user-0'], tag_mode: 'all' })).toBe(1);
    expect(await names({ adapter_date_from: '2025-01-02', adapter_date_to: '2025-01-03' })).toBe(2);
    expect(await names({ tags: ['unwanted'] })).toBe(0);
  });
});
