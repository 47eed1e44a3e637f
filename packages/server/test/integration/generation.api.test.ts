import fs from 'node:fs';
import path from 'node:path';
import type { JobEvent } from '@lora-manager/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTextChunks } from '../../src/lib/png.ts';
import { startA1111TestServer, type A1111TestServer } from '../support/a1111-test-server.ts';
import { createTestApp, TEST_DIALECTS, type TestApp } from '../support/test-app.ts';
import { until, unzip } from '../support/wait.ts';

const API = '/api/v1';

async function addActiveAdapter(t: TestApp, name: string, extra: Record<string, unknown> = {}): Promise<string> {
  const file = t.libraryFile(`${name}.safetensors`);
  const res = await t.app.inject({ method: 'POST', url: `${API}/adapters`, payload: { name, file_path: file, version: 'v1', active: true, ...extra } });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().adapter.id;
}

describe.each(TEST_DIALECTS)('generation pipeline end to end on %s', (dialect) => {
  let sd: A1111TestServer;
  let t: TestApp;
  const events: JobEvent[] = [];

  beforeAll(async () => {
    sd = await startA1111TestServer({ livePreview: true, stepDelayMs: 2 });
    t = await createTestApp(dialect, { SDNEXT_BASE_URL: sd.url, SDNEXT_POLL_INTERVAL: '0.05', GENERATION_BACKOFF_MS: '5' });
    t.container.events.subscribe('jobs', (e) => events.push(e as JobEvent));
  });
  afterAll(async () => {
    await t?.close();
    await sd?.close();
  });

  it('compose → queue → live progress → images on disk → history → download → export', async () => {
    const adapterId = await addActiveAdapter(t, 'inkwash', { weight: 0.8 });
    sd.hold();
    const composed = await t.app.inject({
      method: 'POST',
      url: `${API}/compose`,
      payload: {
        prefix: 'a lighthouse',
        suffix: 'at dusk',
        delivery: {
          mode: 'sdnext',
          sdnext: { generation_params: { prompt: 'ignored', steps: 6, width: 64, height: 48, batch_size: 2, seed: 42 }, mode: 'deferred', return_format: 'url' },
        },
      },
    });
    expect(composed.statusCode, composed.body).toBe(200);
    const body = composed.json();
    expect(body.prompt).toBe('a lighthouse <lora:inkwash:0.800> at dusk');
    expect(body.delivery).toMatchObject({ status: 'pending' });
    const id: string = body.delivery.id;

    // While the server is held mid-generation, the job shows per-job step progress and a preview image.
    await sd.waitForStep(2);
    const progress = await until('a progress event', () => events.find((e) => e.job.id === id && e.change === 'progress' && e.job.progress_detail?.step));
    expect(progress.job.progress_detail).toMatchObject({ total_steps: 6 });
    expect(progress.job.progress).toBeGreaterThan(0);
    const active = (await t.app.inject(`${API}/generation/jobs/active`)).json();
    const mine = active.find((j: { id: string }) => j.id === id);
    expect(mine).toMatchObject({ status: 'processing', raw_status: 'running', backend: 'sdnext', total_steps: 6 });
    expect(mine.progress).toBeLessThanOrEqual(1);
    const withPreview = await until('a preview', async () => {
      const job = (await t.app.inject(`${API}/generation/jobs/${id}`)).json().delivery;
      return job.preview_url ? job : undefined;
    });
    const preview = await t.app.inject(withPreview.preview_url);
    expect(preview.statusCode).toBe(200);
    expect(preview.headers['content-type']).toBe('image/png');
    sd.release();
    await t.container.queue.drain();

    const changes = events.filter((e) => e.job.id === id).map((e) => e.change);
    expect(changes[0]).toBe('queued');
    expect(changes).toContain('started');
    expect(changes).toContain('progress');
    expect(changes.at(-1)).toBe('succeeded');

    // What the server received: the composed prompt, the job id as task id, the params given.
    const sent = sd.requests.filter((r) => r.path === '/sdapi/v1/txt2img').at(-1)!;
    expect(sent.body).toMatchObject({ prompt: 'a lighthouse <lora:inkwash:0.800> at dusk', steps: 6, width: 64, height: 48, batch_size: 2, seed: 42, force_task_id: id });

    // Images are files under OUTPUT_DIR/<job id>/, with thumbnails; the job row holds URLs, not image data.
    const dir = path.join(t.config.outputDir, id);
    expect(fs.existsSync(path.join(dir, '0.png'))).toBe(true);
    expect(fs.existsSync(path.join(dir, '1.png'))).toBe(true);
    expect(fs.existsSync(path.join(dir, 'thumbs', '0.webp'))).toBe(true);
    expect(fs.existsSync(path.join(dir, 'preview.png'))).toBe(false);
    const job = await t.container.repositories.jobs.findById(id);
    expect(job?.status).toBe('succeeded');
    expect(JSON.stringify(job?.result)).not.toMatch(/iVBOR/);
    expect(job?.result).toMatchObject({ status: 'completed', images: [`${API}/generation/results/${id}/images/0`, `${API}/generation/results/${id}/images/1`] });

    const list = await t.app.inject(`${API}/generation/results`);
    expect(list.statusCode).toBe(200);
    const item = list.json().find((r: { id: string }) => r.id === id);
    expect(item).toMatchObject({
      job_id: id,
      status: 'completed',
      prompt: 'a lighthouse <lora:inkwash:0.800> at dusk',
      width: 64,
      height: 48,
      seed: 42,
      steps: 6,
      image_url: `${API}/generation/results/${id}/images/0`,
      thumbnail_url: `${API}/generation/results/${id}/images/0/thumbnail`,
      adapters: [{ id: adapterId, name: 'inkwash', weight: 0.8 }],
      rating: null,
      is_favorite: false,
    });
    expect(item.images).toHaveLength(2);

    const image = await t.app.inject(item.image_url);
    expect(image.statusCode).toBe(200);
    expect(image.headers['content-type']).toBe('image/png');
    expect(readTextChunks(image.rawPayload).parameters).toMatch(/Seed: 42, Size: 64x48/);
    const thumb = await t.app.inject(item.thumbnail_url);
    expect(thumb.headers['content-type']).toBe('image/webp');

    const download = await t.app.inject(`${API}/generation/results/${id}/download`);
    expect(download.statusCode).toBe(200);
    expect(download.headers['content-disposition']).toMatch(/^attachment; filename=".+\.png"$/);
    expect(download.rawPayload.equals(fs.readFileSync(path.join(dir, '0.png')))).toBe(true);

    const exported = await t.app.inject({ method: 'POST', url: `${API}/generation/results/export`, payload: { ids: [id] } });
    expect(exported.statusCode).toBe(200);
    expect(exported.headers['content-type']).toBe('application/zip');
    expect(exported.headers['content-disposition']).toMatch(/attachment; filename="generation-results-\d{8}-\d{6}\.zip"/);
    const entries = await unzip(exported.rawPayload);
    expect(JSON.parse(entries.get(`results/${id}/metadata.json`)!.toString())).toMatchObject({ id, prompt: item.prompt, status: 'succeeded' });
    expect(entries.get(`results/${id}/000_0.png`)?.equals(fs.readFileSync(path.join(dir, '0.png')))).toBe(true);
    expect(JSON.parse(entries.get('manifest.json')!.toString())).toMatchObject({ count: 1, results: [{ id, assets: [{}, {}] }] });
  });

  it('persists an immediate /generate and answers with base64 images (acceptance 17)', async () => {
    const res = await t.app.inject({ method: 'POST', url: `${API}/generation/generate`, payload: { prompt: 'a red cube', steps: 3, width: 32, height: 32 } });
    expect(res.statusCode, res.body).toBe(200);
    const result = res.json();
    expect(result.status).toBe('completed');
    expect(Buffer.from(result.images[0], 'base64').subarray(1, 4).toString()).toBe('PNG');
    expect(sd.requests.filter((r) => r.path === '/sdapi/v1/txt2img').at(-1)!.body.prompt).toBe('a red cube');
    // Studio runs reach the history (the original's /generate persisted nothing).
    const stored = (await t.app.inject(`${API}/generation/jobs/${result.job_id}`)).json().delivery;
    expect(stored).toMatchObject({ id: result.job_id, status: 'completed', raw_status: 'succeeded', mode: 'sdnext' });
    expect(stored.params).toMatchObject({ mode: 'immediate', return_format: 'base64', backend: 'sdnext', generation_params: { prompt: 'a red cube', steps: 3 } });
  });

  it('cancels a running generation: the server is interrupted and the late answer changes nothing (acceptance 21)', async () => {
    sd.hold();
    const queued = await t.app.inject({ method: 'POST', url: `${API}/generation/queue-generation`, payload: { prompt: 'to be cancelled', steps: 50, width: 32, height: 32 } });
    expect(queued.statusCode).toBe(200);
    const id = queued.json().delivery_id;
    // Queued exactly once, announced once (acceptance 19): the WebSocket turns `queued` into generation_started.
    const announced = events.filter((e) => e.job.id === id && e.change === 'queued');
    expect(announced).toHaveLength(1);
    expect(announced[0].job.payload).toMatchObject({ prompt: 'to be cancelled', steps: 50, backend: 'sdnext' });
    await sd.waitForStep(1);
    const interrupts = sd.count('/sdapi/v1/interrupt');
    const cancel = await t.app.inject({ method: 'POST', url: `${API}/generation/jobs/${id}/cancel` });
    expect(cancel.statusCode).toBe(200);
    expect(cancel.json()).toEqual({ success: true, status: 'cancelled', message: 'Generation job cancelled' });
    await sd.waitFor('/sdapi/v1/interrupt', interrupts + 1);
    sd.release();
    await t.container.queue.drain();
    const job = (await t.app.inject(`${API}/generation/jobs/${id}`)).json().delivery;
    expect(job).toMatchObject({ status: 'failed', raw_status: 'cancelled' });
    expect((await t.app.inject(`${API}/generation/results/${id}`)).json().images).toEqual([]);
    expect(fs.existsSync(path.join(t.config.outputDir, id, '0.png'))).toBe(false);

    expect((await t.app.inject({ method: 'POST', url: `${API}/generation/jobs/${id}/cancel` })).statusCode).toBe(400);
    expect((await t.app.inject({ method: 'POST', url: `${API}/generation/jobs/nope/cancel` })).statusCode).toBe(404);
  });

  it('runs one job at a time on one server', async () => {
    const before = sd.maxConcurrent;
    expect(before).toBeLessThanOrEqual(1);
    const ids = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await t.app.inject({ method: 'POST', url: `${API}/generation/queue-generation`, payload: { prompt: `p${i}`, steps: 4, width: 16, height: 16 } })).json().delivery_id);
    }
    await t.container.queue.drain();
    expect(sd.maxConcurrent).toBe(1);
    for (const id of ids) expect((await t.container.repositories.jobs.findById(id))?.status).toBe('succeeded');
  });
});

describe('generation failures, retries and settings', () => {
  let sd: A1111TestServer;
  let t: TestApp;

  beforeAll(async () => {
    sd = await startA1111TestServer({ auth: { username: 'ann', password: 'secret-pw' }, sdnext: true });
    t = await createTestApp('sqlite', {
      SDNEXT_BASE_URL: `${sd.url}/`,
      SDNEXT_USERNAME: 'ann',
      SDNEXT_PASSWORD: 'secret-pw',
      SDNEXT_POLL_INTERVAL: '0.05',
      SDNEXT_DEFAULT_STEPS: '7',
      SDNEXT_DEFAULT_SAMPLER: 'Euler',
      GENERATION_MAX_ATTEMPTS: '3',
      GENERATION_BACKOFF_MS: '5',
    });
  });
  afterAll(async () => {
    await t?.close();
    await sd?.close();
  });

  const queue = async (payload: Record<string, unknown>) =>
    (await t.app.inject({ method: 'POST', url: `${API}/generation/queue-generation`, payload: { width: 16, height: 16, ...payload } })).json().delivery_id as string;

  it('sends basic auth and applies SDNEXT_DEFAULT_* to what the request left out', async () => {
    const id = await queue({ prompt: 'defaults' });
    await t.container.queue.drain();
    expect((await t.container.repositories.jobs.findById(id))?.status).toBe('succeeded');
    const sent = sd.requests.filter((r) => r.path === '/sdapi/v1/txt2img').at(-1)!;
    expect(sent.headers.authorization).toBe(`Basic ${Buffer.from('ann:secret-pw').toString('base64')}`);
    expect(sent.body).toMatchObject({ steps: 7, sampler_name: 'Euler', cfg_scale: 7, negative_prompt: '' });
  });

  it('retries a server error with backoff and succeeds', async () => {
    sd.failNext(2, 500, 'CUDA out of memory');
    const id = await queue({ prompt: 'flaky' });
    await t.container.queue.drain();
    const job = await t.container.repositories.jobs.findById(id);
    expect(job).toMatchObject({ status: 'succeeded', attempts: 3 });
  });

  it('fails with a readable reason once the attempts are used up', async () => {
    sd.failNext(3, 503, 'model is loading');
    const id = await queue({ prompt: 'doomed' });
    await t.container.queue.drain();
    const job = (await t.app.inject(`${API}/generation/jobs/${id}`)).json().delivery;
    expect(job).toMatchObject({ status: 'failed', raw_status: 'failed', attempts: 3 });
    expect(job.error).toBe('SDNext txt2img failed (HTTP 503): model is loading');
    expect(job.result).toMatchObject({ status: 'failed', error_message: job.error });
    const failed = (await t.app.inject(`${API}/generation/results?status=failed`)).json();
    expect(failed.find((r: { id: string }) => r.id === id)?.error).toBe(job.error);
  });

  it('does not retry a request the server refuses as invalid', async () => {
    sd.failNext(1, 422, 'Sampler not found: Nope');
    const id = await queue({ prompt: 'bad sampler', sampler_name: 'Nope' });
    await t.container.queue.drain();
    expect(await t.container.repositories.jobs.findById(id)).toMatchObject({ status: 'failed', attempts: 1, error: 'SDNext txt2img failed (HTTP 422): Sampler not found: Nope' });
  });

  it('lists backends with the original keys plus reachability', async () => {
    const res = (await t.app.inject(`${API}/generation/backends`)).json();
    expect(res.sdnext).toBe(true);
    expect(res.comfyui).toBe(false);
    expect(res.backends.find((b: { name: string }) => b.name === 'sdnext')).toMatchObject({ configured: true, available: true, base_url: sd.url });
  });

  it('lets the web page change the server settings without ever returning the password', async () => {
    const before = (await t.app.inject(`${API}/generation/settings`)).json();
    expect(before.sdnext).toMatchObject({ base_url: sd.url, username: 'ann', password_set: true, default_steps: 7 });
    expect(JSON.stringify(before)).not.toContain('secret-pw');
    const put = await t.app.inject({ method: 'PUT', url: `${API}/generation/settings`, payload: { sdnext: { default_steps: 9 }, comfyui: { base_url: 'http://127.0.0.1:9/' } } });
    expect(put.statusCode).toBe(200);
    expect(put.json()).toMatchObject({ sdnext: { default_steps: 9 }, comfyui: { base_url: 'http://127.0.0.1:9' }, sources: { 'sdnext.default_steps': 'settings', 'sdnext.base_url': 'environment' } });
    const backends = (await t.app.inject(`${API}/generation/backends`)).json();
    expect(backends.comfyui).toBe(true);
    expect(backends.backends.find((b: { name: string }) => b.name === 'comfyui')).toMatchObject({ configured: true, available: false });
    const cleared = await t.app.inject({ method: 'PUT', url: `${API}/generation/settings`, payload: { sdnext: { default_steps: null }, comfyui: { base_url: null } } });
    expect(cleared.json()).toMatchObject({ sdnext: { default_steps: 7 }, comfyui: { base_url: null } });
    const bad = await t.app.inject({ method: 'PUT', url: `${API}/generation/settings`, payload: { sdnext: { base_url: 'ftp://x' } } });
    expect(bad.statusCode).toBe(422);
  });

  it('answers the original shapes for unknown and unconfigured backends', async () => {
    const unknown = await t.app.inject({ method: 'POST', url: `${API}/generation/generate?backend=dalle`, payload: { prompt: 'x' } });
    expect(unknown.json()).toEqual({ job_id: 'unknown', status: 'failed', error_message: "Generation backend 'dalle' not found" });
    const unconfigured = await t.app.inject({ method: 'POST', url: `${API}/generation/generate?backend=comfyui`, payload: { prompt: 'x' } });
    expect(unconfigured.json()).toEqual({ job_id: 'unknown', status: 'failed', error_message: 'ComfyUI backend not configured' });
    expect((await t.app.inject({ method: 'POST', url: `${API}/generation/queue-generation?backend=dalle`, payload: { prompt: 'x' } })).statusCode).toBe(400);
    const progress = await t.app.inject(`${API}/generation/progress/whatever?backend=dalle`);
    expect(progress.statusCode).toBe(404);
    expect(progress.json().title).toBe("Backend 'dalle' not found");
  });

  it('validates mode and return_format (acceptance 18)', async () => {
    for (const query of ['mode=invalid', 'return_format=unsupported']) {
      const generate = await t.app.inject({ method: 'POST', url: `${API}/generation/generate?${query}`, payload: { prompt: 'x' } });
      expect(generate.statusCode, query).toBe(422);
      const both = await t.app.inject({
        method: 'POST',
        url: `${API}/generation/compose-and-generate?${query}`,
        payload: { compose_request: { prefix: 'hi' }, generation_params: { prompt: '', steps: 1 } },
      });
      expect(both.statusCode, query).toBe(422);
    }
  });

  it('refuses compose-and-generate without active adapters, and generates with them', async () => {
    const none = await t.app.inject({ method: 'POST', url: `${API}/generation/compose-and-generate`, payload: { compose_request: { prefix: 'hi' }, generation_params: { prompt: 'x', width: 16, height: 16 } } });
    expect(none.statusCode).toBe(400);
    expect(none.json().title).toBe('No active adapters found');
    await addActiveAdapter(t, 'glowstick', { weight: 0.5 });
    const ok = await t.app.inject({ method: 'POST', url: `${API}/generation/compose-and-generate`, payload: { compose_request: { prefix: 'hi' }, generation_params: { prompt: 'x', steps: 2, width: 16, height: 16 } } });
    expect(ok.json()).toMatchObject({ status: 'completed' });
    expect(sd.requests.filter((r) => r.path === '/sdapi/v1/txt2img').at(-1)!.body.prompt).toBe('hi <lora:glowstick:0.500>');
  });
});
