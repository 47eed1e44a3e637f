import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { allAdapters, fakeLora, importZip, exportZip, seedLibrary, sha256File, snapshot, wipe } from '../support/archive-fixtures.ts';
import { createTestApp, TEST_DIALECTS, type TestApp } from '../support/test-app.ts';

describe.each(TEST_DIALECTS)('backups on %s', (dialect) => {
  let t: TestApp;
  let now = new Date('2025-06-01T12:00:00.000Z');

  beforeAll(async () => {
    t = await createTestApp(dialect, {}, { clock: { now: () => now } });
  });
  afterAll(async () => t.close());
  beforeEach(async () => {
    await wipe(t);
    for (const b of (await t.app.inject({ method: 'GET', url: '/api/v1/backups' })).json()) {
      await t.app.inject({ method: 'DELETE', url: `/api/v1/backups/${b.id}` });
    }
    await t.container.database.db.deleteFrom('setting').execute();
    now = new Date('2025-06-01T12:00:00.000Z');
  });

  const create = async (backup_type = 'full') => {
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/backup/create', payload: { backup_type } });
    expect(res.statusCode).toBe(200);
    return res.json().backup as { id: string; size: number; sha256: string; adapter_count: number; file_count: number };
  };

  it('downloads a backup byte for byte', async () => {
    await seedLibrary(t, 1);
    const backup = await create();
    const res = await t.app.inject({ method: 'GET', url: `/api/v1/backups/${backup.id}/download` });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/zip');
    expect(res.headers['content-disposition']).toBe(`attachment; filename="${backup.id}.zip"`);
    expect(res.rawPayload.length).toBe(backup.size);
    expect(res.rawPayload.equals(fs.readFileSync(path.join(t.dataDir, 'backups', `${backup.id}.zip`)))).toBe(true);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/backups/backup_nope/download' })).statusCode).toBe(404);
  });

  it('restores a full backup after the disk and the catalogue were lost', async () => {
    await seedLibrary(t, 2);
    const before = await allAdapters(t);
    const files = snapshot(t.libraryDir);
    const backup = await create('full');
    expect(backup).toMatchObject({ adapter_count: 2, file_count: 6 });

    await wipe(t);
    const res = await t.app.inject({ method: 'POST', url: `/api/v1/backups/${backup.id}/restore`, payload: { backup_before: false } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ success: true, results: [{ status: 'imported', created: 2, files_written: 6 }] });
    expect((await allAdapters(t)).map(({ primary_file_local_path: _p, ...a }) => a)).toEqual(before.map(({ primary_file_local_path: _p, ...a }) => a));
    expect(snapshot(t.libraryDir)).toEqual(files);
  });

  it('a metadata backup restores the catalogue state and keeps the LoRA files where they are', async () => {
    const [a, b] = await seedLibrary(t, 2);
    const backup = await create('metadata_only');
    expect(backup.file_count).toBe(2); // the two .civitai.info sidecars, no weights, no previews
    await t.container.repositories.adapters.update(a.id, { notes: 'changed after the backup', updated_at: '2026-01-01T00:00:00.000Z' });
    await t.container.repositories.adapters.deleteByIds([b.id]);
    await t.app.inject({ method: 'POST', url: '/api/v1/adapters', payload: { name: 'newcomer', file_path: t.libraryFile('new.safetensors') } });

    const res = await t.app.inject({ method: 'POST', url: `/api/v1/backups/${backup.id}/restore` });
    const result = res.json().results[0];
    expect(result).toMatchObject({ status: 'imported', created: 1, updated: 1, deleted: 1 });
    expect(result.backup_id).toMatch(/^backup_/); // backup_before defaults to true for restores
    const after = await allAdapters(t);
    expect(after.map((x) => [x.name, x.notes, x.missing])).toEqual([
      ['style 0', 'note 0', false],
      ['style 1', 'note 1', false],
    ]);
    expect(fs.existsSync(path.join(t.libraryDir, 'new.safetensors'))).toBe(true);
  });

  it('backup_before keeps the files an overwrite replaces, so the import can be undone', async () => {
    const [a] = await seedLibrary(t, 1);
    const zip = await exportZip(t);
    fs.writeFileSync(a.file, fakeLora(4242, 9000));
    await t.container.repositories.adapters.update(a.id, { notes: 'local', updated_at: '2026-01-01T00:00:00.000Z' });
    const local = sha256File(a.file);

    const { body } = await importZip(t, zip, { conflict_resolution: 'overwrite', backup_before: true });
    const backupId = body.results[0].backup_id as string;
    expect(sha256File(a.file)).not.toBe(local);
    const list = (await t.app.inject({ method: 'GET', url: '/api/v1/backups' })).json();
    expect(list.find((x: { id: string }) => x.id === backupId)).toMatchObject({ trigger: 'pre-import', type: 'Metadata (pre-import)', file_count: 2 });

    const undo = await t.app.inject({ method: 'POST', url: `/api/v1/backups/${backupId}/restore`, payload: { backup_before: false } });
    expect(undo.json().success).toBe(true);
    expect(sha256File(a.file)).toBe(local);
    expect((await allAdapters(t))[0].notes).toBe('local');
  });

  it('runs the schedule when due and keeps only the newest scheduled backups', async () => {
    await seedLibrary(t, 1);
    const put = await t.app.inject({ method: 'PUT', url: '/api/v1/backups/schedule', payload: { enabled: true, interval_hours: 24, backup_type: 'metadata', keep: 2 } });
    expect(put.json()).toMatchObject({ enabled: true, last_run_at: null, next_run_at: now.toISOString() });
    const manual = await create('metadata');

    const made: string[] = [];
    for (let day = 0; day < 4; day++) {
      const backup = await t.container.services.backups.runScheduled();
      expect(backup).not.toBeNull();
      made.push(backup!.id);
      expect(await t.container.services.backups.runScheduled()).toBeNull(); // not due again the same day
      now = new Date(now.getTime() + 25 * 3_600_000);
    }
    const ids = (await t.app.inject({ method: 'GET', url: '/api/v1/backups' })).json().map((b: { id: string }) => b.id);
    expect(ids).toEqual([made[3], made[2], manual.id]);
    for (const gone of made.slice(0, 2)) expect(fs.existsSync(path.join(t.dataDir, 'backups', `${gone}.zip`))).toBe(false);
    const state = (await t.app.inject({ method: 'GET', url: '/api/v1/backups/schedule' })).json();
    expect(state.last_run_at).toBe(new Date(Date.parse('2025-06-01T12:00:00.000Z') + 3 * 25 * 3_600_000).toISOString());
  });

  it('lists an archive copied into the backups folder and refuses unknown backup types', async () => {
    await seedLibrary(t, 1);
    const zip = await exportZip(t);
    fs.writeFileSync(path.join(t.dataDir, 'backups', 'backup_from_another_machine.zip'), zip);
    const list = (await t.app.inject({ method: 'GET', url: '/api/v1/backups/history' })).json();
    expect(list).toEqual([expect.objectContaining({ id: 'backup_from_another_machine', status: 'completed', backup_type: 'full', adapter_count: 1 })]);

    const bad = await t.app.inject({ method: 'POST', url: '/api/v1/backup/create', payload: { backup_type: 'everything' } });
    expect(bad.statusCode).toBe(422);
    expect(bad.json().code).toBe('validation_failed');
  });
});
