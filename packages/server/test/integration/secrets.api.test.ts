import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pino, type Logger } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createContainer } from '../../src/container.ts';
import { sealSecret } from '../../src/lib/secret-box.ts';
import { startA1111TestServer, type A1111TestServer } from '../support/a1111-test-server.ts';
import { startCivitaiTestServer, type CivitaiTestServer } from '../support/civitai-test-server.ts';
import { adapterAt, api, scan, writeLora } from '../support/library.ts';
import { createTestApp, TEST_DIALECTS, type TestApp } from '../support/test-app.ts';

const API = '/api/v1';
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

async function putSettings(t: TestApp, sdnext: Record<string, unknown>) {
  return t.app.inject({ method: 'PUT', url: `${API}/generation/settings`, payload: { sdnext } });
}

/** Run one generation on the SDNext server in force, and read /backends (which probes it). */
async function useServer(t: TestApp): Promise<void> {
  await t.app.inject(`${API}/generation/backends`);
  const queued = await t.app.inject({ method: 'POST', url: `${API}/generation/queue-generation`, payload: { prompt: 'x', width: 16, height: 16 } });
  expect(queued.statusCode, queued.body).toBe(200);
  await t.container.queue.drain();
}

/** A port nothing listens on (a server opened and closed again). */
async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe.each(TEST_DIALECTS)('secrets stay secret on %s', (dialect) => {
  let first: A1111TestServer;
  let second: A1111TestServer;
  let civitai: CivitaiTestServer;
  const apps: TestApp[] = [];
  const app = async (env: Record<string, string> = {}, logger?: Logger) => {
    const t = await createTestApp(dialect, { SDNEXT_POLL_INTERVAL: '0.05', GENERATION_MAX_ATTEMPTS: '1', SCAN_THREADS: '0', ...env }, logger ? { logger } : {});
    apps.push(t);
    return t;
  };

  beforeAll(async () => {
    first = await startA1111TestServer({ auth: { username: 'ann', password: 'first-pw' } });
    second = await startA1111TestServer();
    civitai = await startCivitaiTestServer();
  });
  afterEach(async () => {
    for (const t of apps.splice(0)) await t.close();
    first.requests.length = 0;
    second.requests.length = 0;
  });
  afterAll(async () => {
    await first?.close();
    await second?.close();
    await civitai?.close();
  });

  it('never sends saved credentials to a server URL they were not entered for', async () => {
    const t = await app();
    expect((await putSettings(t, { base_url: first.url, username: 'ann', password: 'first-pw' })).statusCode).toBe(200);
    await useServer(t);
    expect(first.requests.at(-1)?.headers.authorization).toBe(basic('ann', 'first-pw'));

    // What the settings page sends when only the URL changed: the username, no password.
    const moved = await putSettings(t, { base_url: second.url, username: 'ann' });
    expect(moved.statusCode).toBe(200);
    expect(moved.json().sdnext).toMatchObject({ base_url: second.url, password_set: false });
    await useServer(t);
    expect(second.count('/sdapi/v1/txt2img')).toBe(1);
    expect(second.requests.filter((r) => r.headers.authorization !== undefined)).toEqual([]);

    // Moving back does not bring the old password back: it was dropped, not parked.
    await putSettings(t, { base_url: first.url });
    expect((await t.app.inject(`${API}/generation/settings`)).json().sdnext.password_set).toBe(false);
  });

  it('sends configured credentials only to the configured server', async () => {
    const t = await app({ SDNEXT_BASE_URL: first.url, SDNEXT_USERNAME: 'ann', SDNEXT_PASSWORD: 'first-pw' });
    const moved = (await putSettings(t, { base_url: second.url })).json();
    expect(moved.sdnext).toMatchObject({ base_url: second.url, username: null, password_set: false });
    expect(moved.sources['sdnext.password']).toBe('default');
    await useServer(t);
    expect(second.count('/sdapi/v1/txt2img')).toBe(1);
    expect(second.requests.filter((r) => r.headers.authorization !== undefined)).toEqual([]);

    // Back on the configured server, the configured credentials apply again.
    const back = (await putSettings(t, { base_url: null })).json();
    expect(back.sdnext).toMatchObject({ base_url: first.url, username: 'ann', password_set: true });
    await useServer(t);
    expect(first.requests.at(-1)?.headers.authorization).toBe(basic('ann', 'first-pw'));
  });

  it('refuses server URLs that carry credentials, a fragment or a query, with a stable code', async () => {
    const t = await app();
    for (const base_url of ['http://ann:pw@127.0.0.1:9', 'http://127.0.0.1:9/#x', 'http://127.0.0.1:9/?a=b', 'http://[::1']) {
      const res = await putSettings(t, { base_url });
      expect(res.statusCode, base_url).toBe(422);
      expect(res.json().code, base_url).toBe('invalid_server_url');
    }
    const comfy = await t.app.inject({ method: 'PUT', url: `${API}/generation/settings`, payload: { comfyui: { base_url: 'https://u:p@example.com' } } });
    expect(comfy.json().code).toBe('invalid_server_url');
    expect((await t.app.inject(`${API}/generation/settings`)).json().sdnext.base_url).toBeNull();
  });

  it('does not turn the reachability probe into a port scanner', async () => {
    const t = await app({ SDNEXT_BASE_URL: first.url, SDNEXT_USERNAME: 'ann', SDNEXT_PASSWORD: 'first-pw' });
    // The probe route takes no URL: whatever a request names, only the configured server is asked.
    const named = await t.app.inject({ method: 'GET', url: `${API}/generation/backends?base_url=${encodeURIComponent(second.url)}&url=${encodeURIComponent(second.url)}` });
    expect(named.statusCode).toBe(200);
    expect(second.requests).toEqual([]);

    const sdnextError = async (base_url: string) => {
      await putSettings(t, { base_url });
      return (await t.app.inject(`${API}/generation/backends`)).json().backends.find((b: { name: string }) => b.name === 'sdnext');
    };
    // A closed port reads the same as any other failure to connect: no errno, no resolver text.
    const closed = await sdnextError(`http://127.0.0.1:${await closedPort()}`);
    expect(closed).toMatchObject({ available: false, error: 'SDNext is not reachable' });
    // An HTTP service that is not A1111 (here one answering 404 everywhere) is "answered, not A1111", no status.
    const other = await sdnextError(civitai.url);
    expect(other.available).toBe(false);
    expect(other.error).toMatch(/answered, but not as an SDNext\/A1111 server/);
    expect(other.error).not.toMatch(/HTTP|404/);

    // ComfyUI's probe is as coarse.
    const comfyError = async (base_url: string) => {
      await t.app.inject({ method: 'PUT', url: `${API}/generation/settings`, payload: { comfyui: { base_url } } });
      return (await t.app.inject(`${API}/generation/backends`)).json().backends.find((b: { name: string }) => b.name === 'comfyui');
    };
    expect(await comfyError(`http://127.0.0.1:${await closedPort()}`)).toMatchObject({ available: false, error: 'ComfyUI is not reachable' });
    expect(await comfyError(civitai.url)).toMatchObject({ available: false, error: 'the server answered, but not as a ComfyUI server' });
  });

  it('stores the SDNext password and the CivitAI key encrypted, and still uses them', async () => {
    const t = await app({ CIVITAI_API_URL: civitai.url, CIVITAI_MIN_INTERVAL_MS: '0' });
    await putSettings(t, { base_url: first.url, username: 'ann', password: 'first-pw' });
    await api(t, 'PATCH', '/library/settings', { civitai_enabled: true, civitai_api_key: 'civitai-key-plain' }, 200);

    const rows = await t.container.database.db.selectFrom('setting').selectAll().execute();
    const stored = JSON.stringify(rows);
    expect(stored).not.toContain('first-pw');
    expect(stored).not.toContain('civitai-key-plain');
    expect(stored).toContain('enc:v1:');
    for (const route of ['/generation/settings', '/library/settings']) {
      const body = (await t.app.inject(`${API}${route}`)).body;
      expect(body).not.toContain('first-pw');
      expect(body).not.toContain('civitai-key-plain');
    }

    await useServer(t);
    expect(first.requests.find((r) => r.path === '/sdapi/v1/txt2img')?.headers.authorization).toBe(basic('ann', 'first-pw'));
    writeLora(path.join(t.libraryDir, 'a.safetensors'), { data: 'fill', seed: 7, metadata: null });
    await scan(t);
    const adapter = await adapterAt(t, 'a.safetensors');
    // CivitAI's answer names the example image; here it is on another host, which must not get the key.
    civitai.know({ sha256: adapter.sha256!, autov2: adapter.autov2!, autov3: adapter.autov3! }, { imageUrl: `${second.url}/images/example.jpeg` });
    await api(t, 'POST', `/adapters/${adapter.id}/civitai/refresh`, undefined, 200);
    expect(civitai.requests.filter((r) => r.path.startsWith('/api/v1/')).at(-1)?.authorization).toBe('Bearer civitai-key-plain');
    expect(second.count('/images/example.jpeg')).toBe(1);
    expect(second.requests.filter((r) => r.headers.authorization !== undefined)).toEqual([]);
  });

  it('reads plaintext secrets an older version stored and seals them at the next write', async () => {
    const t = await app();
    const now = new Date().toISOString();
    await t.container.repositories.settings.set('generation.servers', { sdnext: { base_url: first.url, username: 'ann', password: 'first-pw' } }, now);
    expect((await t.app.inject(`${API}/generation/settings`)).json().sdnext.password_set).toBe(true);
    await useServer(t);
    expect(first.requests.at(-1)?.headers.authorization).toBe(basic('ann', 'first-pw'));
    await putSettings(t, { default_steps: 3 });
    expect(JSON.stringify(await t.container.repositories.settings.get('generation.servers'))).not.toContain('first-pw');
    first.requests.length = 0;
    await useServer(t);
    expect(first.requests.at(-1)?.headers.authorization).toBe(basic('ann', 'first-pw'));
  });

  it('treats a secret sealed with another key as unset, without failing, and says so once in the log', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
    const t = await app({ SECRETS_KEY: randomBytes(32).toString('base64') }, logger);
    const otherKey = randomBytes(32);
    const now = new Date().toISOString();
    await t.container.repositories.settings.set('generation.servers', { sdnext: { base_url: first.url, username: 'ann', password: sealSecret(otherKey, 'first-pw'), credentials_origin: new URL(first.url).origin } }, now);
    await t.container.repositories.settings.set('civitai.api_key', sealSecret(otherKey, 'civitai-key-plain'), now);
    const generation = await t.app.inject(`${API}/generation/settings`);
    expect(generation.statusCode).toBe(200);
    expect(generation.json().sdnext.password_set).toBe(false);
    const library = await t.app.inject(`${API}/library/settings`);
    expect(library.statusCode).toBe(200);
    expect(library.json().civitai_api_key_set).toBe(false);
    expect((await t.app.inject(`${API}/generation/backends`)).statusCode).toBe(200);
    await t.app.inject(`${API}/generation/settings`);
    const warnings = lines.map((l) => JSON.parse(l) as { secret?: string }).filter((l) => l.secret !== undefined);
    expect(warnings.map((w) => w.secret).sort()).toEqual(['civitai.api_key', 'sdnext.password']);
    expect(lines.join('')).not.toContain('first-pw');

    // A row that is not even a string (hand-edited, or from an archive) is no key either.
    await t.container.repositories.settings.set('civitai.api_key', 12345, now);
    expect((await t.app.inject(`${API}/library/settings`)).json()).toMatchObject({ civitai_api_key_set: false });
  });
});

describe('files on disk (SQLite database in a fresh DATA_DIR)', () => {
  let tmp: string;
  let sd: A1111TestServer;
  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lm-secrets-'));
    sd = await startA1111TestServer({ auth: { username: 'ann', password: 'disk-pw' } });
  });
  afterAll(async () => {
    await sd?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const dataDir = () => path.join(tmp, 'data');
  async function start(env: Record<string, string> = {}) {
    const config = loadConfig({ DATA_DIR: dataDir(), LORA_PATHS: path.join(tmp, 'library'), LOG_LEVEL: 'silent', WEB_DIST_DIR: path.join(tmp, 'no-web'), ...env }, tmp);
    fs.mkdirSync(path.join(tmp, 'library'), { recursive: true });
    const container = await createContainer(config, { logger: pino({ level: 'silent' }) });
    const app = await buildApp(container);
    await app.ready();
    return {
      app,
      container,
      async close() {
        await app.close();
        await container.close();
      },
    };
  }
  const mode = (file: string) => fs.statSync(file).mode & 0o777;
  const rawDatabase = () =>
    ['lora-manager.db', 'lora-manager.db-wal']
      .map((f) => path.join(dataDir(), f))
      .filter((f) => fs.existsSync(f))
      .map((f) => fs.readFileSync(f).toString('latin1'))
      .join('');

  it('creates DATA_DIR 0700, the key file and the database files 0600, and keeps secrets out of the file', async () => {
    const s = await start();
    await s.app.inject({ method: 'PUT', url: `${API}/generation/settings`, payload: { sdnext: { base_url: sd.url, username: 'ann', password: 'disk-pw' } } });
    await s.app.inject({ method: 'PATCH', url: `${API}/library/settings`, payload: { civitai_api_key: 'disk-civitai-key' } });
    expect(mode(dataDir())).toBe(0o700);
    expect(mode(path.join(dataDir(), 'secret.key'))).toBe(0o600);
    for (const f of ['lora-manager.db', 'lora-manager.db-wal', 'lora-manager.db-shm']) expect(mode(path.join(dataDir(), f)), f).toBe(0o600);
    expect(rawDatabase()).not.toContain('disk-pw');
    expect(rawDatabase()).not.toContain('disk-civitai-key');
    await s.close();
    expect(rawDatabase()).not.toContain('disk-pw');
    expect(rawDatabase()).not.toContain('disk-civitai-key');
  });

  // Runs on the DATA_DIR of the test above: its sealed SDNext password must still open with the key file it made.
  it('seals plaintext an older version left at start, keeps working with the same key file, and survives a wrong SECRETS_KEY', async () => {
    let s = await start();
    await s.container.repositories.settings.set('civitai.api_key', 'legacy-civitai-key', new Date().toISOString());
    await s.close();
    expect(rawDatabase()).toContain('legacy-civitai-key');

    s = await start();
    expect(JSON.stringify(await s.container.repositories.settings.get('civitai.api_key'))).toMatch(/^"enc:v1:/);
    expect((await s.app.inject(`${API}/library/settings`)).json().civitai_api_key_set).toBe(true);
    expect((await s.app.inject(`${API}/generation/settings`)).json().sdnext.password_set).toBe(true);
    await s.close();
    expect(rawDatabase()).not.toContain('legacy-civitai-key');

    s = await start({ SECRETS_KEY: randomBytes(32).toString('hex') });
    expect((await s.app.inject(`${API}/library/settings`)).json().civitai_api_key_set).toBe(false);
    const settings = await s.app.inject(`${API}/generation/settings`);
    expect(settings.statusCode).toBe(200);
    expect(settings.json().sdnext).toMatchObject({ base_url: sd.url, password_set: false });
    await s.close();
  });
});
