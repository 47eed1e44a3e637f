import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startA1111TestServer, type A1111TestServer } from '../support/a1111-test-server.ts';
import { startComfyTestServer, type ComfyTestServer } from '../support/comfyui-test-server.ts';
import { createTestApp, TEST_DIALECTS, type TestApp } from '../support/test-app.ts';

const API = '/api/v1';

/** GET /generation/backends/:name/options: what the Generate form offers comes from the selected server. */
describe.each(TEST_DIALECTS)('generation form options on %s', (dialect) => {
  let sd: A1111TestServer;
  let comfy: ComfyTestServer;
  let t: TestApp;

  beforeAll(async () => {
    sd = await startA1111TestServer();
    comfy = await startComfyTestServer({ checkpoints: ['sdxl-base.safetensors', 'pony.safetensors'] });
    t = await createTestApp(dialect, { SDNEXT_BASE_URL: sd.url, COMFYUI_BASE_URL: comfy.url, SDNEXT_DEFAULT_STEPS: '20', SDNEXT_DEFAULT_SAMPLER: 'DPM++ 2M' });
  });
  afterAll(async () => {
    await t?.close();
    await sd?.close();
    await comfy?.close();
  });

  it("offers the SDNext server's samplers, schedulers and checkpoints with the configured defaults", async () => {
    const res = await t.app.inject(`${API}/generation/backends/sdnext/options`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({
      backend: 'sdnext',
      available: true,
      error: null,
      defaults: { steps: 20, sampler_name: 'DPM++ 2M', cfg_scale: 7 },
      samplers: ['Euler', 'DPM++ 2M'],
      schedulers: ['automatic', 'karras'],
      checkpoints: ['test-model.safetensors [abc123]', 'other-model.safetensors [def456]'],
      current_checkpoint: 'test-model.safetensors',
    });
    // a1111 is the same client under its other name.
    expect((await t.app.inject(`${API}/generation/backends/a1111/options`)).json().samplers).toEqual(['Euler', 'DPM++ 2M']);
  });

  it('follows defaults saved in Settings', async () => {
    await t.app.inject({ method: 'PUT', url: `${API}/generation/settings`, payload: { sdnext: { default_steps: 31, default_sampler: 'Euler', default_cfg_scale: 5.5 } } });
    const res = (await t.app.inject(`${API}/generation/backends/sdnext/options`)).json();
    expect(res.defaults).toEqual({ steps: 31, sampler_name: 'Euler', cfg_scale: 5.5 });
    await t.app.inject({ method: 'PUT', url: `${API}/generation/settings`, payload: { sdnext: { default_steps: null, default_sampler: null, default_cfg_scale: null } } });
  });

  it("offers ComfyUI's KSampler choices and its checkpoints", async () => {
    const res = (await t.app.inject(`${API}/generation/backends/comfyui/options`)).json();
    expect(res).toMatchObject({
      backend: 'comfyui',
      available: true,
      samplers: ['euler', 'dpmpp_2m'],
      schedulers: ['normal', 'karras'],
      checkpoints: ['sdxl-base.safetensors', 'pony.safetensors'],
    });
  });

  it('says a server that does not answer is down, with empty lists and the defaults still given', async () => {
    await t.app.inject({ method: 'PUT', url: `${API}/generation/settings`, payload: { comfyui: { base_url: 'http://127.0.0.1:9' } } });
    const res = await t.app.inject(`${API}/generation/backends/comfyui/options`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ available: false, error: 'ComfyUI is not reachable', samplers: [], schedulers: [], checkpoints: [], defaults: { steps: 20 } });
    await t.app.inject({ method: 'PUT', url: `${API}/generation/settings`, payload: { comfyui: { base_url: null } } });
  });

  it('refuses unknown and hostile backend names with a problem, never a 500', async () => {
    const unknown = await t.app.inject(`${API}/generation/backends/dalle/options`);
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().code).toBe('backend_not_found');
    expect((await t.app.inject(`${API}/generation/backends/..%2F..%2Fetc/options`)).statusCode).toBe(404);
    expect((await t.app.inject(`${API}/generation/backends/${'x'.repeat(100)}/options`)).statusCode).toBe(422);
  });
});

describe('generation form options without a configured server', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp('sqlite', { SDNEXT_BASE_URL: '' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers "not configured" with the defaults, so the form still has values', async () => {
    const res = (await t.app.inject(`${API}/generation/backends/sdnext/options`)).json();
    expect(res).toMatchObject({ backend: 'sdnext', available: false, error: 'not configured', samplers: [], checkpoints: [] });
    expect(res.defaults.steps).toBeGreaterThan(0);
  });
});
