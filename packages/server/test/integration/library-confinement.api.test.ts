import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { LibraryRoot, ScanSummary } from '@lora-manager/contract';
import { afterEach, describe, expect, it } from 'vitest';
import { MANIFEST_NAME } from '../../src/lib/archive-manifest.ts';
import { ZipReader } from '../../src/lib/zip-reader.ts';
import { adapters, api, writeLora } from '../support/library.ts';
import { createTestApp, TEST_DIALECTS, type TestApp } from '../support/test-app.ts';

/** A hostile or careless client, and hostile links inside the library: nothing outside the roots is walked or served. */
describe.each(TEST_DIALECTS)('library confinement on %s', (dialect) => {
  let t: TestApp | undefined;
  const extra: string[] = [];
  const scratch = (prefix: string) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    extra.push(dir);
    return dir;
  };
  afterEach(async () => {
    await t?.close();
    t = undefined;
    for (const dir of extra.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });
  const start = async (env: Record<string, string> = {}) => (t = await createTestApp(dialect, { SCAN_THREADS: '0', ...env }));
  const dryRun = async (app: TestApp) => api<ScanSummary>(app, 'POST', '/import/scan', {}, 200);
  const register = (app: TestApp, file_path: string) =>
    app.app.inject({ method: 'POST', url: '/api/v1/adapters', payload: { name: `n-${path.basename(file_path)}-${Math.random()}`, file_path } });

  it('refuses /, system folders, DATA_DIR, OUTPUT_DIR, folders around them and links to them as roots (422)', async () => {
    const outputs = scratch('lm-out-');
    const app = await start({ OUTPUT_DIR: outputs });
    const links = scratch('lm-links-');
    fs.symlinkSync('/etc', path.join(links, 'etc-link'));
    fs.mkdirSync(path.join(app.dataDir), { recursive: true });
    const forbidden = ['/', '/etc', '/proc', app.dataDir, path.dirname(app.dataDir), outputs, path.join(links, 'etc-link')];
    for (const root of forbidden) {
      const res = await app.app.inject({ method: 'POST', url: '/api/v1/library/roots', payload: { path: root } });
      expect(res.statusCode, `${root}: ${res.body}`).toBe(422);
      expect(res.json().code).toBe('library_root_forbidden');
      expect(res.json().detail.length).toBeGreaterThan(5);
      const put = await app.app.inject({ method: 'PUT', url: '/api/v1/library/roots', payload: { roots: [root] } });
      expect(put.statusCode).toBe(422);
    }
    // An ordinary folder is still accepted.
    await api(app, 'POST', '/library/roots', { path: links }, 201);
  });

  it('starts with LORA_PATHS=/ and a saved /etc root: reported as refused, never walked', async () => {
    const first = await start({ LORA_PATHS: '/' });
    const { roots } = await api<{ roots: LibraryRoot[] }>(first, 'GET', '/library/roots', undefined, 200);
    const slash = roots.find((r) => r.path === '/');
    expect(slash?.refused).toMatch(/system|file ?system/i);
    const status = await api<{ roots: LibraryRoot[] }>(first, 'GET', '/library/status', undefined, 200);
    expect(status.roots.find((r) => r.path === '/')?.refused).toBeTruthy();
    // A root saved by an older version is refused the same way.
    await first.container.repositories.settings.set('library.roots', ['/etc'], new Date().toISOString());
    const summary = await dryRun(first);
    expect(summary.roots).toEqual([]);
    expect(summary.files_seen).toBe(0);
    expect((await api<{ roots: LibraryRoot[] }>(first, 'GET', '/library/roots', undefined, 200)).roots.find((r) => r.path === '/etc')?.refused).toBeTruthy();
  });

  it('stops a walk at LIBRARY_MAX_ENTRIES and says so, without marking the rest missing', async () => {
    const app = await start({ LIBRARY_MAX_ENTRIES: '20' });
    for (let i = 0; i < 3; i++) writeLora(path.join(app.libraryDir, `a${i}.safetensors`));
    await api(app, 'POST', '/library/scan', {}, 202);
    await app.container.queue.drain();
    expect(await adapters(app)).toHaveLength(3);
    for (let i = 0; i < 40; i++) app.libraryFile(`junk/${i}.txt`, 'x');
    const summary = await dryRun(app);
    expect(summary.roots_truncated?.map((r) => r.root)).toEqual([app.libraryDir]);
    expect(summary.roots_truncated?.[0].reason).toMatch(/LIBRARY_MAX_ENTRIES/);
    expect(summary.missing).toBe(0);
  });

  it('does not follow links out of the roots: not catalogued, registration refused', async () => {
    const app = await start();
    const outside = scratch('lm-outside-');
    writeLora(path.join(outside, 'secret.safetensors'));
    writeLora(path.join(outside, 'dir', 'deep.safetensors'));
    fs.symlinkSync(path.join(outside, 'secret.safetensors'), path.join(app.libraryDir, 'out-file.safetensors'));
    fs.symlinkSync(path.join(outside, 'dir'), path.join(app.libraryDir, 'out-dir'));
    // Links that stay inside keep working.
    writeLora(path.join(app.libraryDir, 'real', 'inner.safetensors'));
    fs.symlinkSync(path.join(app.libraryDir, 'real', 'inner.safetensors'), path.join(app.libraryDir, 'inner-link.safetensors'));

    const summary = await dryRun(app);
    expect(summary.added).toBe(1);
    expect(summary.added_paths.some((p) => p.includes('out-'))).toBe(false);
    const problems = summary.walk_errors.map((e) => e.path);
    expect(problems).toContain(path.join(app.libraryDir, 'out-file.safetensors'));
    expect(problems).toContain(path.join(app.libraryDir, 'out-dir'));

    const refused = await register(app, path.join(app.libraryDir, 'out-file.safetensors'));
    const missing = await register(app, path.join(app.libraryDir, 'nope.safetensors'));
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toEqual(missing.json());
    expect((await register(app, path.join(app.libraryDir, 'out-dir', 'deep.safetensors'))).statusCode).toBe(400);
    expect((await register(app, path.join(app.libraryDir, 'inner-link.safetensors'))).statusCode).toBe(201);
  });

  it('follows links out of the roots when LIBRARY_ALLOW_LINKS_OUT=true', async () => {
    const app = await start({ LIBRARY_ALLOW_LINKS_OUT: 'true' });
    const outside = scratch('lm-outside-');
    writeLora(path.join(outside, 'secret.safetensors'));
    writeLora(path.join(outside, 'dir', 'deep.safetensors'));
    fs.symlinkSync(path.join(outside, 'secret.safetensors'), path.join(app.libraryDir, 'out-file.safetensors'));
    fs.symlinkSync(path.join(outside, 'dir'), path.join(app.libraryDir, 'out-dir'));
    const summary = await dryRun(app);
    expect(summary.added).toBe(2);
    expect((await register(app, path.join(app.libraryDir, 'out-file.safetensors'))).statusCode).toBe(201);
  });

  it('serves a preview only from inside the roots: the database, /etc/passwd and links to them are 404 with no bytes', async () => {
    const app = await start();
    const lora = writeLora(path.join(app.libraryDir, 'p.safetensors'));
    const created = await register(app, lora);
    expect(created.statusCode).toBe(201);
    const id = created.json().adapter.id as string;
    fs.mkdirSync(app.dataDir, { recursive: true });
    const database = path.join(app.dataDir, 'lora-manager.db');
    fs.writeFileSync(database, 'SQLite format 3\0 civitai_api_key=TOPSECRET');
    fs.symlinkSync(database, path.join(app.libraryDir, 'p.preview.png'));
    const none = await app.app.inject({ method: 'GET', url: `/api/v1/adapters/${id}/preview` });
    expect(none.statusCode).toBe(404);

    const setPreview = (file: string) => app.container.repositories.adapters.updateMany([{ id, changes: { preview_path: file, updated_at: new Date().toISOString() } }]);
    for (const file of [database, '/etc/passwd', path.join(app.libraryDir, 'p.preview.png'), `${app.libraryDir}/../data/lora-manager.db`]) {
      await setPreview(file);
      for (const url of [`/api/v1/adapters/${id}/preview`, `/api/v1/adapters/${id}/preview?thumbnail=true`]) {
        const res = await app.app.inject({ method: 'GET', url });
        expect(res.statusCode, `${file} ${url}`).toBe(404);
        expect(res.json().code).toBe(none.json().code);
        expect(res.body).not.toContain('TOPSECRET');
        expect(res.body).not.toContain('root:');
      }
    }
    // A real preview inside the root is still served.
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082', 'hex');
    fs.writeFileSync(path.join(app.libraryDir, 'real.png'), png);
    await setPreview(path.join(app.libraryDir, 'real.png'));
    expect((await app.app.inject({ method: 'GET', url: `/api/v1/adapters/${id}/preview` })).statusCode).toBe(200);
  });

  it('answers a missing file and a file outside the roots the same way', async () => {
    const app = await start();
    const passwd = await register(app, '/etc/passwd');
    const nothing = await register(app, '/nonexistent/x.safetensors');
    expect(passwd.statusCode).toBe(400);
    expect(passwd.statusCode).toBe(nothing.statusCode);
    expect(passwd.json()).toEqual(nothing.json());
  });

  it('exports no file reached through a link out of the roots (the LoRA and its preview swapped for links after registration)', async () => {
    const app = await start();
    const outside = scratch('lm-outside-');
    fs.writeFileSync(path.join(outside, 'secret.bin'), 'TOPSECRET');
    const lora = app.libraryFile('alpha.safetensors', Buffer.alloc(4096, 3));
    expect((await register(app, lora)).statusCode).toBe(201);
    fs.rmSync(lora);
    fs.symlinkSync(path.join(outside, 'secret.bin'), lora);
    fs.symlinkSync(path.join(outside, 'secret.bin'), path.join(app.libraryDir, 'alpha.preview.png'));

    const exported = await app.app.inject({ method: 'POST', url: '/api/v1/export', payload: { loras: true, format: 'zip' } });
    expect(exported.statusCode).toBe(200);
    const zip = path.join(outside, 'export.zip');
    fs.writeFileSync(zip, exported.rawPayload);
    const reader = await ZipReader.open(zip, { maxEntries: 1000, maxRatio: 1000, maxUncompressedBytes: 1e12 });
    try {
      const names = [...reader.entries.keys()];
      expect(names.filter((n) => n.includes('/files/'))).toEqual([]);
      const manifest = JSON.parse((await reader.buffer(MANIFEST_NAME, 1e8)).toString());
      expect(JSON.stringify(manifest)).toContain('outside the library roots');
    } finally {
      reader.close();
    }
  });

  it('stops at LIBRARY_MAX_DEPTH and says so', async () => {
    const app = await start({ LIBRARY_MAX_DEPTH: '2' });
    writeLora(path.join(app.libraryDir, 'a', 'shallow.safetensors'));
    writeLora(path.join(app.libraryDir, 'a', 'b', 'c', 'deep.safetensors'));
    const summary = await dryRun(app);
    expect(summary.added_paths).toEqual([path.join(app.libraryDir, 'a', 'shallow.safetensors')]);
    expect(summary.walk_errors).toContainEqual({ path: path.join(app.libraryDir, 'a', 'b', 'c'), reason: expect.stringMatching(/LIBRARY_MAX_DEPTH/) });
  });

  it('rescans a root too large to watch periodically instead of watching it, and says so in the status', async () => {
    const app = await start({ LIBRARY_WATCH_MAX_ENTRIES: '5' });
    for (let i = 0; i < 10; i++) app.libraryFile(`many/${i}.txt`, 'x');
    await api(app, 'PATCH', '/library/settings', { watch: true }, 200);
    await app.container.libraryWatcher.begin();
    try {
      const { watcher } = await api(app, 'GET', '/library/status', undefined, 200);
      expect(watcher.rescanned_roots).toEqual([app.libraryDir]);
      expect(watcher.detail).toMatch(/LIBRARY_WATCH_MAX_ENTRIES/);
    } finally {
      await app.container.libraryWatcher.end();
    }
  });

  it('neither hashes nor writes sidecars through links out of the roots planted after registration', async () => {
    const app = await start();
    await api(app, 'PATCH', '/library/settings', { auto_hash: false, write_sidecars: true }, 200);
    const outside = scratch('lm-outside-');
    const victim = path.join(outside, 'victim.json');
    fs.writeFileSync(victim, '{"keep":1}');
    fs.writeFileSync(path.join(outside, 'secret.bin'), 'TOPSECRET');
    const lora = writeLora(path.join(app.libraryDir, 'w.safetensors'));
    const created = await register(app, lora);
    expect(created.statusCode).toBe(201);
    const id = created.json().adapter.id as string;
    fs.symlinkSync(victim, path.join(app.libraryDir, 'w.json'));
    await api(app, 'PATCH', `/adapters/${id}`, { activation_text: 'planted', notes: 'n' }, 200);
    expect(fs.readFileSync(victim, 'utf8')).toBe('{"keep":1}');
    // Not read through and copied into the library either: the planted link is left alone.
    expect(fs.lstatSync(path.join(app.libraryDir, 'w.json')).isSymbolicLink()).toBe(true);

    fs.rmSync(lora);
    fs.symlinkSync(path.join(outside, 'secret.bin'), lora);
    await api(app, 'POST', `/adapters/${id}/hash`, undefined, 202);
    await app.container.queue.drain();
    const adapter = (await api(app, 'GET', `/adapters/${id}`, undefined, 200)).adapter;
    expect(adapter.sha256).toBeNull();
    expect(adapter.hash_status).toBe('error');
  });
});
