import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startCivitaiTestServer, type CivitaiTestServer } from '../support/civitai-test-server.ts';
import { adapterAt, api, resetLibrary, scan, writeLora } from '../support/library.ts';
import { createTestApp, TEST_DIALECTS, type TestApp } from '../support/test-app.ts';

describe.each(TEST_DIALECTS)('CivitAI enrichment on %s', (dialect) => {
  let t: TestApp;
  let civitai: CivitaiTestServer;
  beforeAll(async () => {
    civitai = await startCivitaiTestServer();
    t = await createTestApp(dialect, { SCAN_THREADS: '0', CIVITAI_API_URL: civitai.url, CIVITAI_MIN_INTERVAL_MS: '0' });
  });
  afterAll(async () => {
    await t.close();
    await civitai.close();
  });
  beforeEach(async () => {
    await resetLibrary(t);
    civitai.requests.length = 0;
    civitai.failNext(0, 0);
  });

  it('is off until enabled: nothing is sent to CivitAI', async () => {
    writeLora(path.join(t.libraryDir, 'a.safetensors'), { data: 'fill' });
    await scan(t);
    const a = await adapterAt(t, 'a.safetensors');
    expect(a.hash_status).toBe('done');
    const res = await t.app.inject({ method: 'POST', url: `/api/v1/adapters/${a.id}/civitai/refresh` });
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('civitai_disabled');
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/library/civitai/refresh', payload: {} })).statusCode).toBe(409);
    expect(civitai.requests).toHaveLength(0);
  });

  it('looks files up by hash after hashing, fills empty fields only, never user edits, and keeps "not on CivitAI" apart', async () => {
    await api(t, 'PATCH', '/library/settings', { civitai_enabled: true, civitai_api_key: 'key-for-tests' }, 200);
    writeLora(path.join(t.libraryDir, 'known.safetensors'), { data: 'fill', seed: 1, metadata: null });
    writeLora(path.join(t.libraryDir, 'unknown.safetensors'), { data: 'fill', seed: 2, metadata: null });
    // Hash first (no CivitAI yet): learn the sha256 to teach the test server.
    await api(t, 'PATCH', '/library/settings', { civitai_enabled: false }, 200);
    await scan(t);
    const known = await adapterAt(t, 'known.safetensors');
    civitai.know({ sha256: known.sha256!, autov2: known.autov2!, autov3: known.autov3! });
    await api(t, 'PATCH', `/adapters/${known.id}`, { description: 'my own words' }, 200);
    await api(t, 'PATCH', '/library/settings', { civitai_enabled: true }, 200);

    const { job } = await api(t, 'POST', '/library/civitai/refresh', {}, 202);
    await t.container.queue.drain();
    const result = (await api(t, 'GET', `/jobs/${job.id}`, undefined, 200)).job.result;
    expect(result).toMatchObject({ looked_up: 2, found: 1, not_found: 1, unreachable: 0 });

    const a = (await api(t, 'GET', `/adapters/${known.id}`, undefined, 200)).adapter;
    expect(a).toMatchObject({
      civitai_status: 'found',
      civitai_model_id: 120000,
      civitai_version_id: 1180000,
      version: 'v2.0',
      author_username: 'sumi_artist',
      trained_words: ['inkwash style', 'monochrome ink'],
      description: 'my own words',
      published_at: '2024-12-11T10:02:41.548Z',
      primary_file_download_url: 'https://civitai.com/api/download/models/1180000',
    });
    // The file's own base model (from its tensors) is not replaced: CivitAI only fills what is empty.
    expect(a.base_model).toBe('SD 1.5');
    expect(a.tags).toEqual(expect.arrayContaining(['style', 'ink', 'traditional art']));
    expect(a.preview_path).toBe(path.join(t.dataDir, 'previews', 'civitai', `${known.id}.jpg`));
    const meta = await api(t, 'GET', `/adapters/${known.id}/metadata`, undefined, 200);
    expect(meta.civitai.id).toBe(1180000);
    expect((await adapterAt(t, 'unknown.safetensors')).civitai_status).toBe('not_found');

    // Batched by hash, with the API key as a bearer token.
    const lookups = civitai.requests.filter((r) => r.path === '/api/v1/model-versions/by-hash');
    expect(lookups).toHaveLength(1);
    expect(lookups[0].body).toEqual(expect.arrayContaining([known.sha256!.toUpperCase()]));
    expect(lookups[0].authorization).toBe('Bearer key-for-tests');

    // A bulk refresh asks only about files never looked up or unreachable, so nothing is sent again.
    civitai.requests.length = 0;
    await api(t, 'POST', '/library/civitai/refresh', {}, 202);
    await t.container.queue.drain();
    expect(civitai.requests.filter((r) => r.path.includes('by-hash'))).toHaveLength(0);
  });

  it('marks CivitAI unreachable (retried later) when it fails, and waits out a 429', async () => {
    await api(t, 'PATCH', '/library/settings', { auto_hash: true }, 200);
    writeLora(path.join(t.libraryDir, 'x.safetensors'), { data: 'fill', seed: 3, metadata: null });
    await scan(t);
    const x = await adapterAt(t, 'x.safetensors');
    civitai.know({ sha256: x.sha256! });
    await api(t, 'PATCH', '/library/settings', { civitai_enabled: true }, 200);

    civitai.failNext(10, 503);
    const down = await api(t, 'POST', `/adapters/${x.id}/civitai/refresh`, undefined, 200);
    expect(down.result.status).toBe('unreachable');
    expect(down.adapter.civitai_status).toBe('unreachable');

    civitai.failNext(1, 429);
    const up = await api(t, 'POST', `/adapters/${x.id}/civitai/refresh`, undefined, 200);
    expect(up.result.status).toBe('found');
    expect(up.adapter.civitai_version_id).toBe(1180000);
    expect(civitai.requests.filter((r) => r.path === '/api/v1/model-versions/by-hash').length).toBeGreaterThanOrEqual(2);
  });
});
