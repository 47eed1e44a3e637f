import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MANIFEST_NAME } from '../../src/lib/archive-manifest.ts';
import { ZipReader } from '../../src/lib/zip-reader.ts';
import { createTestApp, TEST_DIALECTS, type TestApp } from '../support/test-app.ts';
import { buildZip, multipartBody } from '../support/zip-builder.ts';

const LIMITS = { maxEntries: 1000, maxRatio: 1000, maxUncompressedBytes: 1e12 };

/** The original's acceptance cases 29 and 30 (original-system.md §5.2), plus the 4xx answers §6 item 17 asks for. */
describe.each(TEST_DIALECTS)('archive API on %s', (dialect) => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp(dialect);
  });
  afterAll(async () => t.close());
  beforeEach(async () => {
    await t.container.database.db.deleteFrom('adapter').execute();
    await t.container.database.db.deleteFrom('adapter_search').execute();
  });

  async function zipEntries(body: Buffer): Promise<{ names: string[]; manifest: any }> {
    const file = path.join(t.dataDir, `inspect-${Date.now()}.zip`);
    fs.writeFileSync(file, body);
    const reader = await ZipReader.open(file, LIMITS);
    try {
      return { names: [...reader.entries.keys()], manifest: JSON.parse((await reader.buffer(MANIFEST_NAME, 1e8)).toString()) };
    } finally {
      reader.close();
      fs.rmSync(file);
    }
  }

  const importZip = (data: Buffer, config: unknown = { mode: 'merge', validate: true, backup_before: false }, name = 'export.zip') => {
    const { payload, headers } = multipartBody([{ name, data }], config);
    return t.app.inject({ method: 'POST', url: '/api/v1/import', payload, headers });
  };

  it('case 29: exports, estimates, and imports an adapter back after it was deleted', async () => {
    const file = t.libraryFile('alpha.safetensors', Buffer.alloc(4096, 3));
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/adapters', payload: { name: 'alpha', version: 'v1', file_path: file, weight: 1.0 } });
    expect(created.statusCode).toBe(201);

    const exported = await t.app.inject({ method: 'POST', url: '/api/v1/export', payload: { loras: true, format: 'zip' } });
    expect(exported.statusCode).toBe(200);
    expect(exported.headers['content-type']).toBe('application/zip');
    expect(exported.headers['content-disposition']).toMatch(/^attachment; filename=lora_export_\d{8}_\d{6}\.zip$/);
    expect(exported.rawPayload.subarray(0, 4).toString('latin1')).toBe('PK\x03\x04');
    const { names, manifest } = await zipEntries(exported.rawPayload);
    expect(manifest.adapter_count).toBe(1);
    expect(names.some((n) => n.endsWith('alpha.safetensors'))).toBe(true);

    const estimate = await t.app.inject({ method: 'POST', url: '/api/v1/export/estimate', payload: { loras: true } });
    expect(estimate.statusCode).toBe(200);
    expect(estimate.json().size).not.toBe('0 Bytes');
    expect(estimate.json().time).not.toBe('0 seconds');

    await t.container.database.db.deleteFrom('adapter').execute();
    const imported = await importZip(exported.rawPayload);
    expect(imported.statusCode).toBe(200);
    expect(imported.json()).toMatchObject({ success: true, processed_files: 1, results: [{ status: 'imported' }] });
    const list = (await t.app.inject({ method: 'GET', url: '/api/v1/adapters' })).json();
    expect(list.items.map((a: { name: string }) => a.name)).toEqual(['alpha']);
    const local = list.items[0].primary_file_local_path as string;
    expect(local.startsWith(t.libraryDir + path.sep)).toBe(true);
    expect(fs.existsSync(local)).toBe(true);
  });

  it('case 29: a zip without a manifest imports nothing and says why', async () => {
    const res = await importZip(buildZip([{ name: 'adapters/x/metadata.json', data: '{"name":"x"}' }]));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ success: false, processed_files: 0, results: [{ status: 'error', code: 'manifest_missing' }] });
    expect(res.json().results[0].detail).toMatch(/manifest/i);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/adapters' })).json().total).toBe(0);
  });

  it('case 30: creates, lists and deletes a backup kept under DATA_DIR/backups', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/backups/history' })).json()).toEqual([]);
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/backup/create', payload: { backup_type: 'full' } });
    expect(created.statusCode).toBe(200);
    const { success, backup_id: id } = created.json();
    expect(success).toBe(true);
    const file = path.join(t.dataDir, 'backups', `${id}.zip`);
    expect(fs.existsSync(file)).toBe(true);
    expect(file.startsWith(t.libraryDir)).toBe(false);

    const history = (await t.app.inject({ method: 'GET', url: '/api/v1/backups/history' })).json();
    expect(history.map((b: { id: string }) => b.id)).toEqual([id]);
    expect(history[0]).toMatchObject({ type: 'Full', status: 'completed' });

    expect((await t.app.inject({ method: 'DELETE', url: `/api/v1/backups/${id}` })).statusCode).toBe(204);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/backups/history' })).json()).toEqual([]);
    expect(fs.existsSync(file)).toBe(false);
    const again = await t.app.inject({ method: 'DELETE', url: `/api/v1/backups/${id}` });
    expect(again.statusCode).toBe(404);
    expect(again.json()).toMatchObject({ code: 'backup_not_found', title: 'Backup not found' });
  });

  it('answers a non-ZIP upload with a 400 and a clear code, and refuses what the original silently ignored', async () => {
    const res = await importZip(Buffer.from('this is plain text, not an archive'), {}, 'notes.txt');
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'not_a_zip', title: 'File is not a zip file' });

    const badConfig = await importZip(buildZip([{ name: 'a.txt', data: 'x' }]), '{not json');
    expect(badConfig.statusCode).toBe(400);
    expect(badConfig.json().code).toBe('invalid_import_config');
    expect(badConfig.json().title).toMatch(/^Invalid config: /);

    const noFiles = await t.app.inject({ method: 'POST', url: '/api/v1/import', payload: { files: [] } });
    expect(noFiles.statusCode).toBe(415);

    const off = await t.app.inject({ method: 'POST', url: '/api/v1/export', payload: { loras: false } });
    expect(off.statusCode).toBe(400);
    expect(off.json().title).toBe('LoRA export must be enabled');
    const tar = await t.app.inject({ method: 'POST', url: '/api/v1/export', payload: { loras: true, format: 'tar' } });
    expect(tar.json().title).toBe('Only ZIP exports are supported');
    const encrypted = await t.app.inject({ method: 'POST', url: '/api/v1/export', payload: { loras: true, encrypt: true, password: 'x' } });
    expect(encrypted.statusCode).toBe(400);
    expect(encrypted.json().code).toBe('export_option_unsupported');
    const zero = await t.app.inject({ method: 'POST', url: '/api/v1/export/estimate', payload: { loras: false } });
    expect(zero.json()).toMatchObject({ size: '0 Bytes', time: '0 seconds' });
  });
});
