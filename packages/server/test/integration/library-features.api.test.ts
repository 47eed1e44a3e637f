import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { adapterAt, adapters, api, resetLibrary, scan, writeLora } from '../support/library.ts';
import { createTestApp, TEST_DIALECTS, type TestApp } from '../support/test-app.ts';

const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

describe.each(TEST_DIALECTS)('library features on %s', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(dialect, { SCAN_THREADS: '1' });
  });
  afterAll(async () => t.close());
  beforeEach(async () => resetLibrary(t));

  it('lists, adds, replaces and removes library roots; LORA_PATHS roots cannot be removed', async () => {
    const roots = await api(t, 'GET', '/library/roots', undefined, 200);
    expect(roots.roots).toEqual([{ path: t.libraryDir, source: 'config', exists: true, readable: true, adapters: 0 }]);
    const extra = fs.mkdtempSync(path.join(path.dirname(t.libraryDir), 'extra-'));
    writeLora(path.join(extra, 'x.safetensors'));
    const added = await api(t, 'POST', '/library/roots', { path: extra }, 201);
    expect(added.roots.map((r: { path: string; source: string }) => [r.path, r.source])).toEqual([[t.libraryDir, 'config'], [extra, 'settings']]);
    await scan(t);
    expect((await api(t, 'GET', '/library/roots', undefined, 200)).roots[1].adapters).toBe(1);

    for (const [body, code] of [[{ path: 'relative/dir' }, 'root_not_absolute'], [{ path: '/does/not/exist' }, 'root_not_found'], [{ path: path.join(extra, 'x.safetensors') }, 'root_not_directory']] as const) {
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/library/roots', payload: body });
      expect(res.statusCode).toBe(400);
      expect(res.json().code).toBe(code);
    }
    const refused = await t.app.inject({ method: 'DELETE', url: `/api/v1/library/roots?path=${encodeURIComponent(t.libraryDir)}` });
    expect(refused.statusCode).toBe(409);
    // Removing a root keeps its adapters (and the user's work) but marks them missing until it comes back.
    const removed = await api(t, 'DELETE', `/library/roots?path=${encodeURIComponent(extra)}`, undefined, 200);
    expect(removed.roots).toHaveLength(1);
    expect((await adapters(t, 'missing=true')).map((a) => a.file_path)).toEqual([path.join(extra, 'x.safetensors')]);
    await api(t, 'PUT', '/library/roots', { roots: [extra] }, 200);
    expect((await scan(t)).restored).toBe(1);
    await api(t, 'PUT', '/library/roots', { roots: [] }, 200);
  });

  it('keeps library settings; the CivitAI key is stored but never returned', async () => {
    expect(await api(t, 'GET', '/library/settings', undefined, 200)).toEqual({
      watch: true,
      auto_hash: true,
      write_sidecars: false,
      write_previews: false,
      civitai_enabled: false,
      civitai_api_key_set: false,
    });
    const updated = await api(t, 'PATCH', '/library/settings', { civitai_api_key: 'secret-key-123', write_sidecars: true }, 200);
    expect(updated).toMatchObject({ civitai_api_key_set: true, write_sidecars: true });
    expect(JSON.stringify(await api(t, 'GET', '/library/settings', undefined, 200))).not.toContain('secret-key-123');
    expect((await t.app.inject({ method: 'PATCH', url: '/api/v1/library/settings', payload: { watch: 'yes' } })).statusCode).toBe(422);
    expect((await api(t, 'PATCH', '/library/settings', { civitai_api_key: null }, 200)).civitai_api_key_set).toBe(false);
  });

  it("writes edits back to A1111's NAME.json only when allowed, merging and keeping keys it does not own", async () => {
    writeLora(path.join(t.libraryDir, 'w.safetensors'));
    const json = path.join(t.libraryDir, 'w.json');
    fs.writeFileSync(json, JSON.stringify({ 'activation text': 'old', 'preferred weight': 0, extensions: { sd_civitai_helper: { version: '1.8' } }, vae: 'x.vae' }));
    await api(t, 'PATCH', '/library/settings', { auto_hash: false }, 200);
    await scan(t);
    const a = await adapterAt(t, 'w.safetensors');
    await api(t, 'PATCH', `/adapters/${a.id}`, { activation_text: 'not written' }, 200);
    expect(JSON.parse(fs.readFileSync(json, 'utf8'))['activation text']).toBe('old');

    await api(t, 'PATCH', '/library/settings', { write_sidecars: true }, 200);
    await api(t, 'PATCH', `/adapters/${a.id}`, { activation_text: 'new words', preferred_weight: 0.8, notes: 'n' }, 200);
    const written = JSON.parse(fs.readFileSync(json, 'utf8'));
    expect(written).toEqual({ 'activation text': 'new words', 'preferred weight': 0.8, notes: 'n', extensions: { sd_civitai_helper: { version: '1.8' } }, vae: 'x.vae' });
    expect(fs.readFileSync(json, 'utf8')).toContain('\n    "');
    // Edited fields are the user's: the next scan (the sidecar changed, so it is re-read) keeps them.
    fs.writeFileSync(json, JSON.stringify({ ...written, 'activation text': 'edited elsewhere' }));
    await scan(t);
    expect((await api(t, 'GET', `/adapters/${a.id}`, undefined, 200)).adapter.activation_text).toBe('new words');
    const meta = await api(t, 'GET', `/adapters/${a.id}/metadata`, undefined, 200);
    expect(meta.user_fields).toEqual(['activation_text', 'notes', 'preferred_weight']);

    // A LoRA without NAME.json gets one, with A1111's keys only.
    writeLora(path.join(t.libraryDir, 'fresh.safetensors'));
    await scan(t);
    const fresh = await adapterAt(t, 'fresh.safetensors');
    await api(t, 'PATCH', `/adapters/${fresh.id}`, { negative_text: 'lowres' }, 200);
    expect(JSON.parse(fs.readFileSync(path.join(t.libraryDir, 'fresh.json'), 'utf8'))).toEqual({ 'negative text': 'lowres' });
  });

  it('hashes in the background: SHA-256, AutoV1/V2/V3 as the tools compute them, cached, and checks embedded hashes on demand', async () => {
    // Data large enough (> 1 MiB) for the AutoV1 slice, with real bytes.
    const file = writeLora(path.join(t.libraryDir, 'h.safetensors'), { data: 'fill', seed: 11, tensors: [{ name: 'lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight', dtype: 'F32', shape: [8, 65536] }, { name: 'lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight', dtype: 'F32', shape: [320, 8] }] });
    const bytes = fs.readFileSync(file);
    const dataOffset = 8 + Number(bytes.readBigUInt64LE(0));
    const dataHash = createHash('sha256').update(bytes.subarray(dataOffset)).digest('hex');
    const legacy = createHash('sha256').update(bytes.subarray(0x100000, 0x110000)).digest('hex').slice(0, 8);
    // A second file claims a wrong embedded tensor-data hash.
    writeLora(path.join(t.libraryDir, 'claims.safetensors'), { data: 'fill', seed: 12, extraMetadata: { sshs_model_hash: 'ab'.repeat(32) } });

    await scan(t);
    const a = await adapterAt(t, 'h.safetensors');
    expect(a).toMatchObject({ hash_status: 'done', sha256: sha256(file), autov2: sha256(file).slice(0, 10), autov1: legacy, autov3: dataHash.slice(0, 12) });
    const claims = await adapterAt(t, 'claims.safetensors');
    // AutoV3 comes from the embedded hash, as CivitAI takes it, until a check says otherwise.
    expect(claims.autov3).toBe('abababababab');
    expect((await api(t, 'GET', `/adapters/${claims.id}/metadata`, undefined, 200)).hashes.autov3_verified).toBeNull();

    const { job } = await api(t, 'POST', `/adapters/${claims.id}/hash?verify=true`, undefined, 202);
    await t.container.queue.drain();
    const result = (await api(t, 'GET', `/jobs/${job.id}`, undefined, 200)).job.result;
    expect(result).toMatchObject({ hashed: 1, autov3_mismatches: 1 });
    const hashes = (await api(t, 'GET', `/adapters/${claims.id}/metadata`, undefined, 200)).hashes;
    expect(hashes).toMatchObject({ autov3_verified: false, embedded_data_hash: 'ab'.repeat(32) });
    expect(hashes.data_hash).toMatch(/^[0-9a-f]{64}$/);

    // Hashing again without verify uses the size+mtime cache.
    const again = await t.container.services.libraryHash.hash({ adapterIds: [a.id] });
    expect(again).toMatchObject({ hashed: 0, cached: 1 });
  });

  it('groups duplicates by SHA-256 and re-links a moved file by its hash when its header could not tell', async () => {
    const original = writeLora(path.join(t.libraryDir, 'dup', 'one.safetensors'), { data: 'fill', seed: 5 });
    fs.copyFileSync(original, path.join(t.libraryDir, 'dup', 'two.safetensors'));
    writeLora(path.join(t.libraryDir, 'dup', 'other.safetensors'), { data: 'fill', seed: 6 });
    await scan(t);
    const dups = await api(t, 'GET', '/adapters/duplicates', undefined, 200);
    expect(dups.total_groups).toBe(1);
    expect(dups.groups[0].sha256).toBe(sha256(original));
    expect(dups.groups[0].adapters.map((a: { relative_path: string }) => a.relative_path).sort()).toEqual(['dup/one.safetensors', 'dup/two.safetensors']);

    // An adapter registered through the API has no scan fingerprint: after a move only its hash can find it.
    await resetLibrary(t);
    const file = writeLora(path.join(t.libraryDir, 'reg.safetensors'), { data: 'fill', seed: 9 });
    const created = (await api(t, 'POST', '/adapters', { name: 'registered', file_path: file, rating: 3 }, 201)).adapter;
    await t.container.services.libraryHash.hash({ adapterIds: [created.id] });
    fs.mkdirSync(path.join(t.libraryDir, 'moved'));
    const moved = path.join(t.libraryDir, 'moved', 'reg-new-name.safetensors');
    fs.renameSync(file, moved);
    await scan(t);
    const all = await adapters(t);
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ id: created.id, file_path: moved, rating: 3, missing: false, sha256: sha256(moved) });
  });

  it('serves previews, WebP thumbnails made once, and stores uploads in the data directory unless writing beside the LoRA is allowed', async () => {
    writeLora(path.join(t.libraryDir, 'p.safetensors'));
    const png = await sharp({ create: { width: 600, height: 900, channels: 3, background: '#3366aa' } }).png().toBuffer();
    fs.writeFileSync(path.join(t.libraryDir, 'p.preview.png'), png);
    writeLora(path.join(t.libraryDir, 'none.safetensors'));
    await api(t, 'PATCH', '/library/settings', { auto_hash: false }, 200);
    await scan(t);
    const a = await adapterAt(t, 'p.safetensors');
    const original = await t.app.inject({ method: 'GET', url: `/api/v1/adapters/${a.id}/preview` });
    expect(original.statusCode).toBe(200);
    expect(original.headers['content-type']).toBe('image/png');
    expect(original.rawPayload.equals(png)).toBe(true);
    const thumb = await t.app.inject({ method: 'GET', url: `/api/v1/adapters/${a.id}/preview?thumbnail=true&size=128` });
    expect(thumb.headers['content-type']).toBe('image/webp');
    expect(await sharp(thumb.rawPayload).metadata()).toMatchObject({ format: 'webp', width: 128, height: 192 });
    const cached = fs.readdirSync(path.join(t.dataDir, 'thumbnails'), { recursive: true }).filter((f) => String(f).endsWith('.webp'));
    expect(cached).toHaveLength(1);
    const again = await t.app.inject({ method: 'GET', url: `/api/v1/adapters/${a.id}/preview?thumbnail=true&size=128`, headers: { 'if-none-match': thumb.headers.etag as string } });
    expect(again.statusCode).toBe(304);
    const none = await adapterAt(t, 'none.safetensors');
    expect((await t.app.inject({ method: 'GET', url: `/api/v1/adapters/${none.id}/preview` })).json().code).toBe('preview_not_found');

    const upload = async (id: string) => {
      const boundary = '----lmtest';
      const jpeg = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#aa3366' } }).jpeg().toBuffer();
      const body = Buffer.concat([
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`),
        jpeg,
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ]);
      return t.app.inject({ method: 'PUT', url: `/api/v1/adapters/${id}/preview`, payload: body, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } });
    };
    const stored = await upload(none.id);
    expect(stored.statusCode).toBe(200);
    expect(stored.json().adapter.preview_path).toBe(path.join(t.dataDir, 'previews', 'user', `${none.id}.png`));
    expect(fs.existsSync(path.join(t.libraryDir, 'none.preview.png'))).toBe(false);
    await api(t, 'PATCH', '/library/settings', { write_previews: true }, 200);
    const beside = await upload(none.id);
    expect(beside.json().adapter.preview_path).toBe(path.join(t.libraryDir, 'none.preview.png'));
    expect((await sharp(fs.readFileSync(path.join(t.libraryDir, 'none.preview.png'))).metadata()).format).toBe('png');
    const notImage = await t.app.inject({
      method: 'PUT',
      url: `/api/v1/adapters/${none.id}/preview`,
      payload: Buffer.from('------b\r\nContent-Disposition: form-data; name="file"; filename="x.png"\r\n\r\nhello\r\n------b--\r\n'),
      headers: { 'content-type': 'multipart/form-data; boundary=----b' },
    });
    expect(notImage.statusCode).toBe(422);
    expect(notImage.json().code).toBe('preview_not_an_image');
  });
});
