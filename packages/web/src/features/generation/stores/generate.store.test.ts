import type { Job } from '@lora-manager/contract';
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useLiveStore } from '../../../stores/live.store.ts';
import { useGenerateStore } from './generate.store.ts';

const job = (over: Partial<Job>): Job =>
  ({ id: 'j1', kind: 'generation', status: 'running', progress: 0.4, progress_detail: { progress: 0.4, step: 8, total_steps: 20, eta_seconds: 3, preview: '/api/v1/generation/jobs/j1/preview?v=2' }, payload: { prompt: 'a fox', backend: 'sdnext' }, result: null, error: null, attempts: 1, max_attempts: 3, queue_group: null, created_at: '2026-01-01T00:00:00Z', started_at: null, finished_at: null, updated_at: '2026-01-01T00:00:01Z', ...over }) as Job;

describe('generate store', () => {
  beforeEach(() => {
    localStorage.clear();
    setActivePinia(createPinia());
    // A finished job makes the store reload the latest results; answer it with an empty page.
    vi.stubGlobal('fetch', async () => Response.json({ items: [], total: 0, page: 1, page_size: 12, pages: 0 }));
  });
  // Let debounced requests fire against the stub before it goes away.
  afterEach(async () => {
    await new Promise((r) => setTimeout(r, 200));
    vi.unstubAllGlobals();
  });

  it('shows live progress from job events in the queue, and moves finished jobs out of it', () => {
    const store = useGenerateStore();
    const live = useLiveStore();
    live.handle({ type: 'job_update', timestamp: 't', data: { job: job({}), change: 'progress' } });
    live.handle({ type: 'job_update', timestamp: 't', data: { job: job({ id: 'other', kind: 'library.scan' }), change: 'progress' } });
    expect(store.activeQueue).toHaveLength(1);
    expect(store.activeQueue[0]).toMatchObject({ prompt: 'a fox', step: 8, totalSteps: 20, eta: 3, backend: 'sdnext' });
    expect(store.imageUrl(store.activeQueue[0].preview)).toBe('/api/v1/generation/jobs/j1/preview?v=2');
    // An older event arriving late does not move the job backwards.
    live.handle({ type: 'job_update', timestamp: 't', data: { job: job({ status: 'succeeded', progress: 1, updated_at: '2026-01-01T00:00:05Z' }), change: 'succeeded' } });
    live.handle({ type: 'job_update', timestamp: 't', data: { job: job({ updated_at: '2026-01-01T00:00:02Z' }), change: 'progress' } });
    expect(store.activeQueue).toHaveLength(0);
    expect(store.finishedQueue[0].status).toBe('succeeded');
  });

  it('refuses to send an invalid form and queues a valid one on the chosen server', async () => {
    const calls: string[] = [];
    vi.stubGlobal('fetch', async (url: string, init?: RequestInit) => {
      calls.push(`${init?.method ?? 'GET'} ${url} ${init?.body ?? ''}`);
      if (url.includes('queue-generation')) return Response.json({ delivery_id: 'j9', job_id: 'j9', status: 'queued', warnings: [] });
      if (url.includes('jobs/active')) return Response.json([]);
      return new Response('null', { status: 404 });
    });
    const store = useGenerateStore();
    store.backend = 'sdnext';
    expect(await store.run('deferred')).toBeNull();
    store.form.prompt = 'a fox';
    expect(await store.run('deferred')).toBe('j9');
    const queued = calls.find((c) => c.includes('queue-generation'));
    expect(queued).toContain('backend=sdnext');
    expect(queued).toContain('"prompt":"a fox"');
  });

  it('lists running jobs above queued ones, the queued in the order they will run', () => {
    const store = useGenerateStore();
    const live = useLiveStore();
    const at = (s: number) => `2026-01-01T00:00:0${s}Z`;
    live.handle({ type: 'job_update', timestamp: 't', data: { job: job({ id: 'q-old', status: 'pending', created_at: at(1), updated_at: at(1) }), change: 'created' } });
    live.handle({ type: 'job_update', timestamp: 't', data: { job: job({ id: 'q-new', status: 'pending', created_at: at(3), updated_at: at(3) }), change: 'created' } });
    live.handle({ type: 'job_update', timestamp: 't', data: { job: job({ id: 'run', status: 'running', created_at: at(2), updated_at: at(4) }), change: 'progress' } });
    live.handle({ type: 'job_update', timestamp: 't', data: { job: job({ id: 'again', status: 'retrying', error: 'CUDA out of memory', created_at: at(0), updated_at: at(4) }), change: 'retrying' } });
    expect(store.activeQueue.map((q) => q.id)).toEqual(['run', 'again', 'q-old', 'q-new']);
    expect(store.activeQueue[1]).toMatchObject({ error: 'CUDA out of memory', attempts: 1, maxAttempts: 3 });
  });

  it("takes the selected server's defaults and lists, keeping what the user changed", async () => {
    vi.stubGlobal('fetch', async (url: string) => {
      if (url.includes('backends/sdnext/options')) {
        return Response.json({
          backend: 'sdnext',
          available: true,
          error: null,
          defaults: { steps: 30, sampler_name: 'Euler', cfg_scale: 5 },
          samplers: ['Euler', 'DPM++ 2M'],
          schedulers: ['karras'],
          checkpoints: ['a.safetensors'],
          current_checkpoint: 'a.safetensors',
        });
      }
      return new Response('null', { status: 404 });
    });
    const store = useGenerateStore();
    store.backend = 'sdnext';
    store.form.cfg_scale = 9;
    await store.loadServerOptions();
    expect(store.form).toMatchObject({ steps: 30, sampler_name: 'Euler', cfg_scale: 9 });
    expect(store.serverOptions?.samplers).toEqual(['Euler', 'DPM++ 2M']);
    store.resetToServerDefaults();
    expect(store.form.cfg_scale).toBe(5);
  });
});
