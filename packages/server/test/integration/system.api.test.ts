import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/test-app.ts';

describe('system routes without an API key', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp('sqlite');
  });
  afterAll(async () => t.close());

  it('answers health at the root and under /api/v1', async () => {
    expect((await t.app.inject('/health')).json()).toEqual({ status: 'ok', service: 'lora-manager' });
    expect((await t.app.inject('/api/v1/health')).json().status).toBe('ok');
  });

  it('serves frontend settings at both paths (acceptance case 2)', async () => {
    for (const url of ['/frontend/settings', '/api/v1/frontend/settings']) {
      const body = (await t.app.inject(url)).json();
      expect(body.backendUrl).toMatch(/\/api\/v1$/);
      expect(body.generationPolling).toEqual({ queueMs: 2000, websocketRetryMs: 3000, systemStatusMs: 10000 });
      expect(body.apiKeyRequired).toBe(false);
    }
  });

  it('publishes an OpenAPI document with the adapter routes', async () => {
    const doc = (await t.app.inject('/api/docs/json')).json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/v1/adapters', '/api/v1/adapters/{id}', '/api/v1/adapters/bulk']));
    expect((await t.app.inject('/api/docs')).statusCode).toBeLessThan(400);
  });

  it('answers unknown API routes with a problem document', async () => {
    const res = await t.app.inject('/api/v1/nothing-here');
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ status: 404, code: 'route_not_found' });
  });
});

describe('with API_KEY set', () => {
  const KEY = 'correct-horse-battery';
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp('sqlite', { API_KEY: KEY });
  });
  afterAll(async () => t.close());

  it('requires the key on every /api route and the docs', async () => {
    for (const url of ['/api/v1/adapters', '/api/v1/adapters/tags', '/api/v1/health', '/api/v1/frontend/settings', '/api/docs/json']) {
      const res = await t.app.inject(url);
      expect(res.statusCode, url).toBe(401);
      expect(res.json().code).toBe('unauthorized');
    }
    const wrong = await t.app.inject({ url: '/api/v1/adapters', headers: { 'x-api-key': 'nope' } });
    expect(wrong.statusCode).toBe(401);
    const right = await t.app.inject({ url: '/api/v1/adapters', headers: { 'x-api-key': KEY } });
    expect(right.statusCode).toBe(200);
    const query = await t.app.inject({ url: `/api/v1/adapters?api_key=${KEY}` });
    expect(query.statusCode).toBe(200);
  });

  it('keeps the bootstrap routes open and never reveals the key', async () => {
    const res = await t.app.inject('/frontend/settings');
    expect(res.statusCode).toBe(200);
    expect(res.body).not.toContain(KEY);
    expect(res.json().apiKeyRequired).toBe(true);
    expect((await t.app.inject('/health')).statusCode).toBe(200);
  });
});
