import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, TEST_DIALECTS, type TestApp } from '../support/test-app.ts';
import { until } from '../support/wait.ts';

const API = '/api/v1';

async function createAdapter(t: TestApp, name: string, fields: Record<string, unknown> = {}): Promise<string> {
  const file = t.libraryFile(`${name}-${Math.random().toString(36).slice(2, 8)}.safetensors`);
  const res = await t.app.inject({ method: 'POST', url: `${API}/adapters`, payload: { name, version: `v${Math.random()}`, file_path: file, ...fields } });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().adapter.id;
}

async function clearAdapters(t: TestApp): Promise<void> {
  const ids = (await t.app.inject(`${API}/adapters?per_page=200`)).json().items.map((a: { id: string }) => a.id);
  if (ids.length) await t.app.inject({ method: 'POST', url: `${API}/adapters/bulk`, payload: { action: 'delete', lora_ids: ids } });
}

async function finished(t: TestApp, id: string) {
  return until(`delivery ${id} to finish`, async () => {
    const d = (await t.app.inject(`${API}/deliveries/${id}`)).json().delivery;
    return ['succeeded', 'failed', 'cancelled'].includes(d.status) ? d : undefined;
  });
}

describe.each(TEST_DIALECTS)('compose and deliveries, original acceptance cases, on %s', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(dialect, { DELIVERY_CLI_ENABLED: 'true' });
  });
  afterAll(async () => t?.close());
  afterEach(async () => clearAdapters(t));

  it('formats tokens with three decimals, ordered by ordinal then name (case 12)', async () => {
    await createAdapter(t, 'beta', { weight: 0.75, active: true });
    await createAdapter(t, 'alpha', { weight: 0.5, active: true });
    const res = await t.app.inject({ method: 'POST', url: `${API}/compose`, payload: { prefix: 'start', suffix: 'end' } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      prompt: 'start <lora:alpha:0.500> <lora:beta:0.750> end',
      tokens: ['<lora:alpha:0.500>', '<lora:beta:0.750>'],
      warnings: [],
      delivery: null,
    });
    // An ordinal moves an adapter after the ones without (null counts as 0); prefix and suffix are trimmed.
    const alpha = (await t.app.inject(`${API}/adapters?search=alpha`)).json().items[0].id;
    await t.app.inject({ method: 'PATCH', url: `${API}/adapters/${alpha}`, payload: { ordinal: 2 } });
    const again = await t.app.inject({ method: 'POST', url: `${API}/compose`, payload: { prefix: '  hello ', suffix: 'end' } });
    expect(again.json().prompt).toBe('hello <lora:beta:0.750> <lora:alpha:0.500> end');
  });

  it('warns instead of failing when nothing is active (case 13)', async () => {
    const res = await t.app.inject({ method: 'POST', url: `${API}/compose`, payload: { prefix: 'hello' } });
    expect(res.statusCode).toBe(200);
    expect(res.json().prompt).toBe('hello');
    expect(res.json().warnings.join(' ')).toContain('No active adapters');
  });

  it('turns a compose with sdnext settings into a generation job with those params (case 14)', async () => {
    await createAdapter(t, 'solo', { active: true });
    const generation_params = { prompt: 'seed prompt', negative_prompt: 'avoid', steps: 15, cfg_scale: 6.5, seed: 1234, denoising_strength: 0.35, width: 640, height: 512 };
    const res = await t.app.inject({
      method: 'POST',
      url: `${API}/compose`,
      payload: { prefix: 'p', delivery: { mode: 'sdnext', sdnext: { generation_params, mode: 'deferred', save_images: false, return_format: 'url' } } },
    });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.warnings).toEqual([]);
    expect(body.delivery.status).toBe('pending');
    const stored = (await t.app.inject(`${API}/deliveries/${body.delivery.id}`)).json().delivery;
    expect(stored.mode).toBe('sdnext');
    expect(stored.params).toMatchObject({ backend: 'sdnext', mode: 'deferred', save_images: false, return_format: 'url' });
    expect(stored.params.generation_params).toMatchObject({ ...generation_params, prompt: body.prompt });
    expect(body.prompt).toContain('<lora:');
  });

  it('schedules a cli delivery from compose and serves it back (case 15)', async () => {
    const res = await t.app.inject({ method: 'POST', url: `${API}/compose`, payload: { prefix: 'p', delivery: { mode: 'cli', cli: {} } } });
    const id = res.json().delivery.id;
    const get = await t.app.inject(`${API}/deliveries/${id}`);
    expect(get.statusCode).toBe(200);
    expect(get.json().delivery.id).toBe(id);
  });

  it('runs a cli delivery with its template, and fails an unknown mode with the original detail (case 16)', async () => {
    const created = await t.app.inject({ method: 'POST', url: `${API}/deliveries`, payload: { prompt: 'hi', mode: 'cli', params: { template: 'T:{prompt}' } } });
    expect(created.statusCode).toBe(201);
    const done = await finished(t, created.json().delivery_id);
    expect(done.status).toBe('succeeded');
    expect(done.result.status).toBe('ok');
    expect(fs.readFileSync(done.result.file_path, 'utf8')).toBe('T:hi');
    expect(done.result.file_path.startsWith(path.join(t.dataDir, 'deliveries'))).toBe(true);

    const unknown = await t.app.inject({ method: 'POST', url: `${API}/deliveries`, payload: { prompt: 'hi', mode: 'carrier-pigeon' } });
    const failed = await finished(t, unknown.json().delivery_id);
    expect(failed.status).toBe('failed');
    expect(failed.result.detail).toBe('unknown mode: carrier-pigeon');
    expect((await t.app.inject(`${API}/deliveries/nope`)).json().title).toBe('delivery not found');
  });
});

describe('compose options and warnings', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp('sqlite');
  });
  afterAll(async () => t?.close());
  afterEach(async () => clearAdapters(t));

  const compose = async (payload: Record<string, unknown>) => (await t.app.inject({ method: 'POST', url: `${API}/compose`, payload })).json();

  it('renders per-backend syntax with separate text-encoder and UNet weights', async () => {
    const id = await createAdapter(t, 'ink');
    const adapters = [{ id, weight: 0.8, te_weight: 0.5, unet_weight: 1 }];
    expect((await compose({ adapters, syntax: 'a1111' })).tokens).toEqual(['<lora:ink:0.5:1>']);
    expect((await compose({ adapters, syntax: 'sdnext' })).tokens).toEqual(['<lora:ink:0.8:te=0.5:unet=1>']);
    expect((await compose({ adapters, syntax: 'comfyui' })).tokens).toEqual(['<lora:ink:1:0.5>']);
    expect((await compose({ adapters: [{ id, weight: 0.75 }], syntax: 'a1111' })).tokens).toEqual(['<lora:ink:0.75>']);
    const unknown = await compose({ adapters: [{ id: 'missing-id' }] });
    expect(unknown.warnings).toContain('Unknown adapter ids: missing-id');
  });

  it('adds trigger words and activation text when asked, each once', async () => {
    await createAdapter(t, 'a', { active: true, ordinal: 1, triggers: ['inkstyle'], trained_words: ['InkStyle', 'wash'], activation_text: 'ink wash painting' });
    await createAdapter(t, 'b', { active: true, ordinal: 2, trained_words: ['wash', 'glow'] });
    const plain = await compose({ prefix: 'cat' });
    expect(plain.prompt).toBe('cat <lora:a:1.000> <lora:b:1.000>');
    const full = await compose({ prefix: 'cat', suffix: 'night', include_triggers: true, include_activation_text: true });
    expect(full.trigger_words).toEqual(['inkstyle', 'wash', 'glow']);
    expect(full.prompt).toBe('cat <lora:a:1.000> <lora:b:1.000> inkstyle, wash, glow ink wash painting night');
  });

  it('uses a preferred weight only when asked, and treats 0 as unset', async () => {
    const id = await createAdapter(t, 'pw', { active: true, weight: 0.6 });
    await t.app.inject({ method: 'PATCH', url: `${API}/adapters/${id}`, payload: { preferred_weight: 0.9 } });
    expect((await compose({})).tokens).toEqual(['<lora:pw:0.600>']);
    expect((await compose({ use_preferred_weight: true })).tokens).toEqual(['<lora:pw:0.900>']);
    await t.app.inject({ method: 'PATCH', url: `${API}/adapters/${id}`, payload: { preferred_weight: 0 } });
    const zero = await compose({ use_preferred_weight: true });
    expect(zero.tokens).toEqual(['<lora:pw:0.600>']);
    expect(zero.warnings).toEqual([]);
  });

  it('warns about duplicate names, zero weights, mixed base models and missing files', async () => {
    await createAdapter(t, 'twin', { active: true, sd_version: 'SDXL' });
    await createAdapter(t, 'twin', { active: true, sd_version: 'SDXL' });
    await createAdapter(t, 'zero', { active: true, weight: 0, sd_version: 'SD1.5' });
    const goneId = await createAdapter(t, 'gone', { active: true });
    const gone = (await t.app.inject(`${API}/adapters/${goneId}`)).json().adapter.file_path;
    fs.rmSync(gone);
    const res = await compose({});
    expect(res.tokens).toEqual(['<lora:gone:1.000>', '<lora:twin:1.000>', '<lora:zero:0.000>']);
    expect(res.warnings).toEqual([
      'Duplicate adapter names found: twin',
      'Adapters with zero weight: zero',
      'Adapters are for different base models: SDXL (twin); SD1.5 (zero)',
      'Adapter files are missing: gone',
    ]);
  });

  it('can name LoRAs by file name, which A1111 always resolves', async () => {
    const id = await createAdapter(t, 'Pretty Name', { active: true });
    const file = (await t.app.inject(`${API}/adapters/${id}`)).json().adapter.file_path;
    const res = await compose({ token_name: 'file', syntax: 'a1111' });
    expect(res.tokens).toEqual([`<lora:${path.basename(file, '.safetensors')}:1>`]);
  });
});

describe('http and cli deliveries', () => {
  let t: TestApp;
  let receiver: http.Server;
  let port: number;
  const received: Array<{ path: string; body: string; headers: http.IncomingHttpHeaders }> = [];
  let status = 201;

  beforeAll(async () => {
    receiver = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ path: req.url ?? '', body: Buffer.concat(chunks).toString(), headers: req.headers });
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ accepted: true }));
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    port = (receiver.address() as AddressInfo).port;
    const marker = `require('fs').writeFileSync(process.argv[1] + '.ran', process.argv.slice(2).join('|'))`;
    t = await createTestApp('sqlite', {
      DELIVERY_HTTP_ALLOWED_HOSTS: `127.0.0.1:${port}, example.invalid`,
      DELIVERY_CLI_ENABLED: 'true',
      DELIVERY_CLI_COMMAND: JSON.stringify([process.execPath, '-e', marker, '{file}', '{prompt}', '$(rm -rf /)']),
      DELIVERY_MAX_ATTEMPTS: '2',
      GENERATION_BACKOFF_MS: '5',
    });
  });
  afterAll(async () => {
    await t?.close();
    receiver?.closeAllConnections();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  it('flattens compose http options and treats any 2xx as success', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: `${API}/compose`,
      payload: { prefix: 'to the web', delivery: { mode: 'http', http: { host: '127.0.0.1', port, path: '/hook', headers: { 'x-token': 'abc' } } } },
    });
    const done = await finished(t, res.json().delivery.id);
    expect(done.status).toBe('succeeded');
    expect(done.params).toMatchObject({ host: '127.0.0.1', port, path: '/hook' });
    expect(done.result).toMatchObject({ status: 201, detail: { accepted: true } });
    expect(received.at(-1)).toMatchObject({ path: '/hook', body: JSON.stringify({ prompt: 'to the web' }) });
    expect(received.at(-1)?.headers['x-token']).toBe('abc');
  });

  it('refuses hosts that are not allowed, and reports a missing host like the original', async () => {
    const blocked = await t.app.inject({ method: 'POST', url: `${API}/deliveries`, payload: { prompt: 'x', mode: 'http', params: { host: '169.254.169.254' } } });
    const b = await finished(t, blocked.json().delivery_id);
    expect(b).toMatchObject({ status: 'failed', attempts: 1 });
    expect(b.result.detail).toMatch(/not allowed/);
    const missing = await t.app.inject({ method: 'POST', url: `${API}/deliveries`, payload: { prompt: 'x', mode: 'http', params: {} } });
    expect((await finished(t, missing.json().delivery_id)).result).toEqual({ status: 'error', detail: 'Missing required parameter: host' });
  });

  it('retries a failing receiver, then fails with its answer', async () => {
    status = 503;
    const before = received.length;
    const res = await t.app.inject({ method: 'POST', url: `${API}/deliveries`, payload: { prompt: 'x', mode: 'http', params: { host: '127.0.0.1', port } } });
    const done = await finished(t, res.json().delivery_id);
    status = 201;
    expect(done).toMatchObject({ status: 'failed', attempts: 2 });
    expect(done.result.status).toBe(503);
    expect(received.length - before).toBe(2);
  });

  it('runs the configured command as an argument list, never through a shell', async () => {
    const res = await t.app.inject({ method: 'POST', url: `${API}/deliveries`, payload: { prompt: 'a "quoted" $(prompt)', mode: 'cli', params: { template: '{prompt};' } } });
    const done = await finished(t, res.json().delivery_id);
    expect(done.status, JSON.stringify(done.result)).toBe('succeeded');
    expect(done.result.exit_code).toBe(0);
    expect(fs.readFileSync(`${done.result.file_path}.ran`, 'utf8')).toBe('a "quoted" $(prompt);|$(rm -rf /)');
  });
});

describe('cli deliveries are off by default', () => {
  it('fails a cli delivery with a readable reason when not enabled', async () => {
    const t = await createTestApp('sqlite');
    try {
      const res = await t.app.inject({ method: 'POST', url: `${API}/deliveries`, payload: { prompt: 'hi', mode: 'cli' } });
      const done = await finished(t, res.json().delivery_id);
      expect(done.status).toBe('failed');
      expect(done.result.detail).toBe('cli deliveries are disabled on this server (set DELIVERY_CLI_ENABLED=true)');
    } finally {
      await t.close();
    }
  });
});
