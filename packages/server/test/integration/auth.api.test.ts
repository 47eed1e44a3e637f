import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteEntry } from '../../src/http/auth.ts';
import { createTestApp, TEST_DIALECTS, type TestApp } from '../support/test-app.ts';

const KEY = 'correct-horse-battery';
/** A tiny built web app, so the static file routes exist and can be checked as the only public files. */
const INDEX_HTML = '<!doctype html><title>LoRA Manager</title>';

interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  upgraded: boolean;
}

/** One request over real HTTP with the path sent byte for byte as given (inject and fetch would normalise it). */
function raw(port: number, method: string, rawPath: string, headers: Record<string, string> = {}, body?: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: rawPath, headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } : {}) } });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, upgraded: false }));
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 101, headers: res.headers, body: '', upgraded: true });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const WS_HEADERS = { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' };

/** A concrete path for a route pattern: every parameter gets a value that names nothing. */
function concrete(url: string): string {
  return url.replace(/:[a-z_]+/gi, 'missing-1').replace(/\*$/, 'x.js');
}

/** Ways of spelling a path that a router might decode or normalise differently from a string check. */
function spellings(p: string): string[] {
  const segments = p.split('/').filter(Boolean);
  if (segments.length === 0) return [p];
  const encodeFirst = (s: string) => `%${s.charCodeAt(0).toString(16)}${s.slice(1)}`;
  const variants = new Set<string>([
    p,
    `/${[encodeFirst(segments[0]!), ...segments.slice(1)].join('/')}`,
    `/${[...segments.slice(0, -1), encodeFirst(segments.at(-1)!)].join('/')}`,
    p.toUpperCase(),
    `/${segments[0]}/${segments.slice(1).join('//')}`,
    `//${segments.join('/')}`,
    `/${segments[0]}/./${segments.slice(1).join('/')}`,
    `/${segments[0]}/x/../${segments.slice(1).join('/')}`,
    `/${segments[0]}/%2e/${segments.slice(1).join('/')}`,
    `/${segments[0]}%2F${segments.slice(1).join('/')}`,
    `${p}/`,
    `${p};x`,
    `/${segments[0]};/${segments.slice(1).join('/')}`,
    `${p}?api_key=wrong-key-entirely`,
  ]);
  return [...variants];
}

function isProblem(answer: RawAnswer): boolean {
  return /application\/problem\+json/.test(String(answer.headers['content-type'] ?? ''));
}

describe.each(TEST_DIALECTS)('API key on every route (%s)', (dialect) => {
  let t: TestApp;
  let port: number;
  let routes: RouteEntry[];
  beforeAll(async () => {
    const web = fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'lm-web-'));
    fs.mkdirSync(path.join(web, 'assets'));
    fs.writeFileSync(path.join(web, 'index.html'), INDEX_HTML);
    fs.writeFileSync(path.join(web, 'assets', 'app.js'), 'console.log(1)');
    t = await createTestApp(dialect, { API_KEY: KEY, WEB_DIST_DIR: web });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    port = (t.app.server.address() as AddressInfo).port;
    routes = t.app.routeTable.filter((r) => r.method !== 'HEAD' && r.method !== 'OPTIONS');
  });
  afterAll(async () => t.close());

  it('knows its routes, and only the bootstrap routes and the web app files are public', () => {
    expect(routes.length).toBeGreaterThan(80);
    const open = routes.filter((r) => r.public).map((r) => `${r.method} ${r.url}`);
    expect(open.sort()).toEqual(['DELETE /api/v1/auth/session', 'GET /', 'GET /assets/app.js', 'GET /api/health', 'GET /frontend/settings', 'GET /health', 'GET /index.html'].sort());
  });

  it('refuses every other route and method without the key, however the path is spelled', async () => {
    const leaks: string[] = [];
    for (const route of routes.filter((r) => !r.public)) {
      for (const spelling of spellings(concrete(route.url))) {
        const answer = await raw(port, route.method, spelling, route.websocket ? WS_HEADERS : {}, route.method === 'GET' || route.method === 'DELETE' ? undefined : '{}');
        const refused = answer.status === 401 || ([400, 404, 405, 414].includes(answer.status) && isProblem(answer));
        if (!refused || answer.upgraded) leaks.push(`${route.method} ${spelling} -> ${answer.status}`);
      }
      // The canonical spelling is refused for the right reason.
      const canonical = await raw(port, route.method, concrete(route.url), route.websocket ? WS_HEADERS : {});
      if (canonical.status !== 401) leaks.push(`${route.method} ${concrete(route.url)} -> ${canonical.status}, expected 401`);
    }
    expect(leaks).toEqual([]);
  });

  it('lets every route through with the key and answers none of them with a 500', async () => {
    const failures: string[] = [];
    for (const route of routes.filter((r) => !r.public && !r.websocket)) {
      const body = route.method === 'GET' || route.method === 'DELETE' ? undefined : '{}';
      const answer = await raw(port, route.method, concrete(route.url), { 'x-api-key': KEY }, body);
      if (answer.status === 401 || answer.status >= 500) failures.push(`${route.method} ${route.url} -> ${answer.status} ${answer.body.slice(0, 120)}`);
    }
    expect(failures).toEqual([]);
  });

  it('serves the web app without the key, and unknown API paths never show data', async () => {
    expect((await raw(port, 'GET', '/')).body).toBe(INDEX_HTML);
    expect((await raw(port, 'GET', '/library/some-lora')).body).toBe(INDEX_HTML);
    const unknown = await raw(port, 'GET', '/api/v1/nothing-here');
    expect(unknown.status).toBe(404);
    expect(isProblem(unknown)).toBe(true);
    expect((await raw(port, 'POST', '/api/v1/nothing-here', {}, '{}')).status).toBe(401);
  });

  it('accepts the query key on reads only (the original clients), never on writes', async () => {
    expect((await raw(port, 'GET', `/api/v1/adapters?api_key=${KEY}`)).status).toBe(200);
    expect((await raw(port, 'POST', `/api/v1/adapters/bulk?api_key=${KEY}`, {}, '{"action":"activate","lora_ids":[]}')).status).toBe(401);
    expect((await raw(port, 'POST', '/api/v1/adapters/bulk', { 'x-api-key': KEY }, '{"action":"activate","lora_ids":[]}')).status).toBe(200);
  });

  it('refuses the WebSocket without the key on every spelling, and opens it with the key', async () => {
    for (const url of ['/api/v1/ws/progress', '/v1/ws/progress']) {
      for (const spelling of spellings(url)) {
        const answer = await raw(port, 'GET', spelling, WS_HEADERS);
        expect(answer.upgraded, spelling).toBe(false);
        expect([401, 404, 400], spelling).toContain(answer.status);
      }
      expect((await raw(port, 'GET', url, { ...WS_HEADERS, 'x-api-key': KEY })).upgraded).toBe(true);
    }
  });
});

describe('browser sessions: the key stays out of URLs', () => {
  let t: TestApp;
  let port: number;
  beforeAll(async () => {
    t = await createTestApp('sqlite', { API_KEY: KEY });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    port = (t.app.server.address() as AddressInfo).port;
  });
  afterAll(async () => t.close());

  async function session(): Promise<string> {
    const res = await raw(port, 'POST', '/api/v1/auth/session', { 'x-api-key': KEY }, '{}');
    expect(res.status).toBe(200);
    const cookie = String(res.headers['set-cookie']);
    expect(cookie).toMatch(/^lm_session=[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=86400/);
    expect(cookie).not.toContain(KEY);
    expect(JSON.parse(res.body)).toMatchObject({ api_key_required: true });
    return cookie.split(';')[0]!;
  }

  it('is created only with the key', async () => {
    expect((await raw(port, 'POST', '/api/v1/auth/session', {}, '{}')).status).toBe(401);
    expect((await raw(port, 'POST', `/api/v1/auth/session?api_key=${KEY}`, {}, '{}')).status).toBe(401);
  });

  it('opens reads, images and the WebSocket from our own origin, but no write', async () => {
    const cookie = await session();
    expect((await raw(port, 'GET', '/api/v1/adapters', { cookie })).status).toBe(200);
    expect((await raw(port, 'GET', '/api/v1/adapters', { cookie: `theme=dark; ${cookie}` })).status).toBe(200);
    expect((await raw(port, 'POST', '/api/v1/adapters/bulk', { cookie }, '{"action":"activate","lora_ids":[]}')).status).toBe(401);
    expect((await raw(port, 'GET', '/api/v1/ws/progress', { ...WS_HEADERS, cookie, origin: `http://127.0.0.1:${port}` })).upgraded).toBe(true);
    const foreign = await raw(port, 'GET', '/api/v1/ws/progress', { ...WS_HEADERS, cookie, origin: 'http://evil.example' });
    expect(foreign.upgraded).toBe(false);
    expect(foreign.status).toBe(403);
    expect(JSON.parse(foreign.body).code).toBe('origin_not_allowed');
  });

  it('refuses a forged, altered or expired cookie, and sign-out clears it', async () => {
    const cookie = await session();
    const [name, token] = cookie.split('=');
    const [v, exp, sig] = token!.split('.');
    for (const bad of [`${name}=${v}.${Number(exp) + 86_400}.${sig}`, `${name}=${v}.${exp}.${sig!.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'))}`, `${name}=v1.1.${sig}`, `${name}=`]) {
      expect((await raw(port, 'GET', '/api/v1/adapters', { cookie: bad })).status, bad).toBe(401);
    }
    const out = await raw(port, 'DELETE', '/api/v1/auth/session');
    expect(out.status).toBe(204);
    expect(String(out.headers['set-cookie'])).toMatch(/^lm_session=; .*Max-Age=0/);
  });
});

describe('the key never reaches a log line', () => {
  it('redacts api_key from every request logged', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const t = await createTestApp('sqlite', { API_KEY: KEY }, { logger: pino({ level: 'info' }, sink) });
    try {
      await t.app.inject(`/api/v1/adapters?api_key=${KEY}&page=1`);
      await t.app.inject(`/api/v1/nothing?api_key=${KEY}`);
      await t.app.inject(`/api/v1/adapters?api_key=${KEY.slice(0, -1)}x`);
      const log = lines.join('');
      expect(log).toContain('api_key=[redacted]&page=1');
      expect(log).not.toContain(KEY);
      expect(log).not.toContain(KEY.slice(0, -1));
    } finally {
      await t.close();
    }
  });
});

describe.each(TEST_DIALECTS)('hostile input gets a 4xx problem, never a 500 (%s)', (dialect) => {
  let t: TestApp;
  let port: number;
  beforeAll(async () => {
    t = await createTestApp(dialect);
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    port = (t.app.server.address() as AddressInfo).port;
  });
  afterAll(async () => t.close());

  it('refuses NUL in a search, a path parameter or a body', async () => {
    for (const url of ['/api/v1/adapters?search=a%00b', '/api/v1/adapters?tags=x%00', '/api/v1/adapters/a%00b', '/api/v1/generation/results?search=%00']) {
      const res = await t.app.inject(url);
      expect(res.statusCode, url).toBe(422);
      expect(res.json().code, url).toBe('validation_failed');
    }
    const patch = await t.app.inject({ method: 'POST', url: '/api/v1/adapters/bulk', payload: { action: 'add_tags', lora_ids: ['x'], tags: ['a\u0000b'] } });
    expect(patch.statusCode).toBe(422);
  });

  it('refuses a body nested deeper than any request needs, instead of running out of stack', async () => {
    const file = t.libraryFile('deep.safetensors');
    // Spelled as text: building it as an object would exhaust the test's own stack in JSON.stringify.
    const extra = `${'{"x":'.repeat(5000)}{}${'}'.repeat(5000)}`;
    const body = `{"name":"Deep","file_path":${JSON.stringify(file)},"extra":${extra}}`;
    const deep = await t.app.inject({ method: 'POST', url: '/api/v1/adapters', headers: { 'content-type': 'application/json' }, payload: body });
    expect(deep.statusCode).toBe(422);
    expect(deep.json().code).toBe('validation_failed');
    let shallow: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 20; i++) shallow = { x: shallow };
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/adapters', payload: { name: 'Shallow', file_path: file, extra: shallow } })).statusCode).toBe(201);
  });

  it('bounds free text: a 100,000-character tag or name is refused, a long note within its limit is kept', async () => {
    const file = t.libraryFile('bounded.safetensors');
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/adapters', payload: { name: 'Bounded', file_path: file } });
    expect(created.statusCode).toBe(201);
    const id = created.json().adapter?.id ?? created.json().id;
    for (const payload of [{ tags: ['x'.repeat(100_000)] }, { tags: Array.from({ length: 501 }, (_, i) => `t${i}`) }, { description: 'd'.repeat(50_001) }, { base_model: 'b'.repeat(1001) }]) {
      const res = await t.app.inject({ method: 'PATCH', url: `/api/v1/adapters/${id}`, payload });
      expect(res.statusCode, Object.keys(payload)[0]).toBe(422);
      expect(res.json().code).toBe('validation_failed');
    }
    const bulk = await t.app.inject({ method: 'POST', url: '/api/v1/adapters/bulk', payload: { action: 'add_tags', lora_ids: [id], tags: ['t'.repeat(201)] } });
    expect(bulk.statusCode).toBe(422);
    const search = await t.app.inject(`/api/v1/adapters?search=${'s'.repeat(5000)}`);
    expect(search.statusCode).toBe(422);
    const note = await t.app.inject({ method: 'PATCH', url: `/api/v1/adapters/${id}`, payload: { notes: 'n'.repeat(20_000) } });
    expect(note.statusCode).toBe(200);
  });

  it('answers an over-long URL, over-large headers and a broken escape with problem documents', async () => {
    const long = await raw(port, 'GET', `/api/v1/adapters/${'a'.repeat(300)}`);
    expect(long.status).toBe(414);
    expect(isProblem(long)).toBe(true);
    expect(JSON.parse(long.body).code).toBe('uri_too_long');

    const huge = await raw(port, 'GET', '/api/v1/adapters', { 'x-filler': 'h'.repeat(20_000) });
    expect(huge.status).toBe(431);
    expect(isProblem(huge)).toBe(true);
    expect(JSON.parse(huge.body).code).toBe('headers_too_large');

    const hugeUrl = await raw(port, 'GET', `/api/v1/adapters?search=${'q'.repeat(20_000)}`);
    expect([414, 431]).toContain(hugeUrl.status);
    expect(isProblem(hugeUrl)).toBe(true);

    const broken = await raw(port, 'GET', '/api/v1/adapters/%E0%A4%A');
    expect(broken.status).toBe(400);
    expect(isProblem(broken)).toBe(true);
  });
});

describe.each(TEST_DIALECTS)('what a browser page of another site can make this server do (%s)', (dialect) => {
  let t: TestApp;
  let port: number;
  const bulk = '{"action":"activate","lora_ids":[]}';
  beforeAll(async () => {
    t = await createTestApp(dialect, { ALLOWED_HOSTS: 'gpu-box' });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    port = (t.app.server.address() as AddressInfo).port;
  });
  afterAll(async () => t.close());

  it('refuses writes and uploads from a page of another origin, and lets our own page and non-browser clients write', async () => {
    for (const headers of [{ origin: 'http://evil.example' }, { origin: 'null' }, { origin: `http://127.0.0.1:${port + 1}` }, { 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' }] as Array<Record<string, string>>) {
      const res = await raw(port, 'POST', '/api/v1/adapters/bulk', headers, bulk);
      expect(res.status, JSON.stringify(headers)).toBe(403);
      expect(JSON.parse(res.body).code).toBe('origin_not_allowed');
    }
    const upload = await raw(port, 'POST', '/api/v1/import', { origin: 'http://evil.example', 'content-type': 'multipart/form-data; boundary=x' }, '--x--');
    expect(upload.status).toBe(403);
    expect((await raw(port, 'POST', '/api/v1/adapters/bulk', { origin: `http://127.0.0.1:${port}`, 'sec-fetch-site': 'same-origin' }, bulk)).status).toBe(200);
    expect((await raw(port, 'POST', '/api/v1/adapters/bulk', {}, bulk)).status).toBe(200);
    expect((await raw(port, 'GET', '/api/v1/adapters', { origin: 'http://evil.example' })).status).toBe(200); // reads: CORS keeps the answer from the page
  });

  it('refuses a WebSocket opened by a page of another origin', async () => {
    const foreign = await raw(port, 'GET', '/api/v1/ws/progress', { ...WS_HEADERS, origin: 'http://evil.example' });
    expect(foreign.upgraded).toBe(false);
    expect(foreign.status).toBe(403);
    expect((await raw(port, 'GET', '/api/v1/ws/progress', { ...WS_HEADERS, origin: `http://127.0.0.1:${port}` })).upgraded).toBe(true);
  });

  it('without an API key, answers only to its own names: a rebound DNS name reads nothing', async () => {
    const rebound = await raw(port, 'GET', '/api/v1/generation/settings', { host: `evil.example:${port}` });
    expect(rebound.status).toBe(403);
    expect(JSON.parse(rebound.body).code).toBe('host_not_allowed');
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `gpu-box:${port}`, `GPU-BOX:${port}`]) {
      expect((await raw(port, 'GET', '/api/v1/generation/settings', { host })).status, host).toBe(200);
    }
  });
});

describe('with an API key, the key is the defence against rebinding', () => {
  it('answers any host name that brings the key', async () => {
    const t = await createTestApp('sqlite', { API_KEY: KEY });
    try {
      await t.app.listen({ host: '127.0.0.1', port: 0 });
      const port = (t.app.server.address() as AddressInfo).port;
      expect((await raw(port, 'GET', '/api/v1/adapters', { host: 'lm.example.org', 'x-api-key': KEY })).status).toBe(200);
      expect((await raw(port, 'GET', '/api/v1/adapters', { host: 'lm.example.org' })).status).toBe(401);
    } finally {
      await t.close();
    }
  });
});
