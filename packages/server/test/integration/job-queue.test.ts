import type { Job, JobEvent, ServerEvent } from '@lora-manager/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { PermanentJobError } from '../../src/jobs/job-queue.ts';
import { anyKind } from '../support/any-kind-queue.ts';
import { createTestApp, TEST_DIALECTS, type TestApp } from '../support/test-app.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 5000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > until) return value;
    await sleep(10);
  }
}

describe.each(TEST_DIALECTS)('embedded job queue on %s', (dialect) => {
  let t: TestApp;
  const events: JobEvent[] = [];
  let release: () => void = () => undefined;
  let abortedWith: unknown = null;
  let concurrentPeak = 0;
  let concurrentNow = 0;

  beforeAll(async () => {
    t = await createTestApp(dialect);
    const queue = anyKind(t.container.queue);
    const bus = t.container.events;
    bus.subscribe('jobs', (e) => events.push(e as JobEvent));
    queue.register('test.echo', async (payload: { value: number }, ctx) => {
      await ctx.progress({ progress: 0.5, step: 1, total_steps: 2, message: 'half way' });
      return { doubled: payload.value * 2 };
    });
    let flaky = 0;
    queue.register(
      'test.flaky',
      async (payload: { failTimes: number }) => {
        flaky += 1;
        if (flaky <= payload.failTimes) throw new Error(`flaky failure ${flaky}`);
        return { tries: flaky };
      },
      { maxAttempts: 3, backoffMs: 20 },
    );
    queue.register('test.permanent', async () => {
      throw new PermanentJobError('unknown mode: carrier-pigeon', { detail: 'unknown mode: carrier-pigeon' });
    }, { maxAttempts: 5 });
    queue.register(
      'test.blocking',
      async (_payload, ctx) => {
        concurrentNow += 1;
        concurrentPeak = Math.max(concurrentPeak, concurrentNow);
        await new Promise<void>((resolve) => {
          release = resolve;
          ctx.signal.addEventListener('abort', () => {
            abortedWith = ctx.signal.reason;
            resolve();
          });
        });
        concurrentNow -= 1;
        return { finished: true };
      },
      { concurrency: 4 },
    );
  });
  afterAll(async () => t.close());

  const getJob = (id: string) => t.container.repositories.jobs.findById(id) as Promise<Job>;

  it('runs a job to success, keeping its result and progress, and publishes each change', async () => {
    const job = await anyKind(t.container.queue).enqueue('test.echo', { value: 21 });
    // The event follows the row write, so wait for the event rather than the row.
    await waitFor(async () => events.some((e) => e.job.id === job.id && e.change === 'succeeded'), Boolean);
    const done = await getJob(job.id);
    expect(done).toMatchObject({ status: 'succeeded', result: { doubled: 42 }, progress: 1, attempts: 1 });
    expect(done.progress_detail).toMatchObject({ step: 1, total_steps: 2, message: 'half way' });
    expect(done.finished_at).toMatch(/Z$/);
    const changes = events.filter((e) => e.job.id === job.id).map((e) => e.change);
    expect(changes).toEqual(['queued', 'started', 'progress', 'succeeded']);
  });

  it('retries with backoff, then succeeds', async () => {
    const job = await anyKind(t.container.queue).enqueue('test.flaky', { failTimes: 2 });
    const done = await waitFor(() => getJob(job.id), (j) => j.status === 'succeeded');
    expect(done).toMatchObject({ status: 'succeeded', attempts: 3, result: { tries: 3 } });
    expect(events.filter((e) => e.job.id === job.id && e.change === 'retrying')).toHaveLength(2);
  });

  it('fails with a readable reason once attempts are used up', async () => {
    const job = await anyKind(t.container.queue).enqueue('test.flaky', { failTimes: 99 }, { maxAttempts: 2 });
    const done = await waitFor(() => getJob(job.id), (j) => j.status === 'failed');
    expect(done.status).toBe('failed');
    expect(done.attempts).toBe(2);
    expect(done.error).toMatch(/^flaky failure/);
  });

  it('fails a permanent error at once', async () => {
    const job = await anyKind(t.container.queue).enqueue('test.permanent', {});
    const done = await waitFor(() => getJob(job.id), (j) => j.status === 'failed');
    expect(done).toMatchObject({ attempts: 1, error: 'unknown mode: carrier-pigeon', result: { detail: 'unknown mode: carrier-pigeon' } });
  });

  it('runs jobs of one group one at a time', async () => {
    concurrentPeak = 0;
    const a = await anyKind(t.container.queue).enqueue('test.blocking', {}, { group: 'sdnext:http://gpu' });
    const b = await anyKind(t.container.queue).enqueue('test.blocking', {}, { group: 'sdnext:http://gpu' });
    await waitFor(() => getJob(a.id), (j) => j.status === 'running');
    await sleep(50);
    expect((await getJob(b.id)).status).toBe('pending');
    release();
    await waitFor(() => getJob(b.id), (j) => j.status === 'running');
    expect((await getJob(a.id)).status).toBe('succeeded');
    release();
    await waitFor(() => getJob(b.id), (j) => j.status === 'succeeded');
    expect(concurrentPeak).toBe(1);
  });

  it('cancels a running job: the handler is aborted and its late result does not overwrite the cancel', async () => {
    abortedWith = null;
    const job = await anyKind(t.container.queue).enqueue('test.blocking', {});
    await waitFor(() => getJob(job.id), (j) => j.status === 'running');
    const res = await t.app.inject({ method: 'POST', url: `/api/v1/jobs/${job.id}/cancel` });
    expect(res.statusCode).toBe(200);
    expect(res.json().job.status).toBe('cancelled');
    await waitFor(async () => abortedWith, (v) => v !== null);
    expect(abortedWith).toBe('cancelled');
    await sleep(30);
    expect((await getJob(job.id)).status).toBe('cancelled');

    const again = await t.app.inject({ method: 'POST', url: `/api/v1/jobs/${job.id}/cancel` });
    expect(again.statusCode).toBe(400);
    expect(again.json().code).toBe('job_not_cancellable');
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/jobs/nope/cancel' })).statusCode).toBe(404);
  });

  it('lists and reads jobs over HTTP', async () => {
    const page = (await t.app.inject('/api/v1/jobs?kind=test.echo&status=succeeded')).json();
    expect(page.total).toBeGreaterThanOrEqual(1);
    expect(page.items.every((j: Job) => j.kind === 'test.echo' && j.status === 'succeeded')).toBe(true);
    const one = await t.app.inject(`/api/v1/jobs/${page.items[0].id}`);
    expect(one.json().job.result).toEqual({ doubled: 42 });
    expect((await t.app.inject('/api/v1/jobs/unknown')).json().code).toBe('job_not_found');
  });
});

describe('recovery after a crash', () => {
  it('sends jobs left running back to work on the next start, and fails those out of attempts', async () => {
    const first = await createTestApp('sqlite');
    const { repositories } = first.container;
    const now = new Date().toISOString();
    // What a killed process leaves behind: rows in `running` that nobody runs.
    for (const [id, max] of [['left-running', 3], ['out-of-attempts', 1]] as const) {
      await repositories.jobs.create({ id, kind: 'test.recover', payload: {}, maxAttempts: max, group: null, now });
      await repositories.jobs.claim(id, now);
    }
    await repositories.jobs.create({ id: 'left-pending', kind: 'test.recover', payload: {}, maxAttempts: 1, group: null, now });

    // A new queue over the same database, as after a restart.
    const { InProcessJobQueue } = await import('../../src/jobs/in-process.job-queue.ts');
    const { JobLifecycle } = await import('../../src/jobs/job-lifecycle.ts');
    const { container } = first;
    const lifecycle = new JobLifecycle(repositories.jobs, container.events, container.clock, container.logger);
    const restarted = new InProcessJobQueue(repositories.jobs, lifecycle, container.events, container.logger);
    restarted.register('test.recover', async () => ({ ok: true }));
    await restarted.start();
    await restarted.drain();
    expect((await repositories.jobs.findById('left-running'))?.status).toBe('succeeded');
    expect((await repositories.jobs.findById('left-pending'))?.status).toBe('succeeded');
    const failed = await repositories.jobs.findById('out-of-attempts');
    expect(failed?.status).toBe('failed');
    expect(failed?.error).toContain('interrupted');
    await restarted.close();
    await first.close();
  });
});

describe('progress WebSocket', () => {
  const KEY = 'websocket-key-123';
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await createTestApp('sqlite', { API_KEY: KEY });
    anyKind(t.container.queue).register('generation.test', async (_p, ctx) => {
      await ctx.progress({ progress: 0.25, step: 5, total_steps: 20, eta_seconds: 3, preview: 'data:image/png;base64,AAAA' });
      return { images: ['/api/v1/generation/results/x/images/0'] };
    });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const address = t.app.server.address();
    base = `ws://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  const sockets: WebSocket[] = [];
  afterAll(async () => {
    for (const socket of sockets) socket.terminate();
    await t.close();
  });

  function connect(path: string): Promise<{ socket: WebSocket; messages: ServerEvent[] }> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(`${base}${path}`);
      sockets.push(socket);
      const messages: ServerEvent[] = [];
      socket.on('message', (data) => messages.push(JSON.parse(data.toString())));
      socket.on('open', () => resolve({ socket, messages }));
      socket.on('unexpected-response', (req, res) => {
        req.destroy();
        reject(new Error(`HTTP ${res.statusCode}`));
      });
      socket.on('error', reject);
    });
  }

  it('refuses a connection without the API key', async () => {
    await expect(connect('/api/v1/ws/progress')).rejects.toThrow('HTTP 401');
  });

  it('greets, confirms subscriptions and streams both event vocabularies', async () => {
    const { socket, messages } = await connect(`/api/v1/ws/progress?api_key=${KEY}`);
    await waitFor(async () => messages.length, (n) => n >= 1);
    expect(messages[0]).toMatchObject({ type: 'connected', data: { message: 'Connected to progress monitoring' } });

    socket.send(JSON.stringify({ type: 'subscribe', job_ids: null, include_previews: true }));
    await waitFor(async () => messages.some((m) => m.type === 'subscription_confirmed'), Boolean);
    expect(messages.find((m) => m.type === 'subscription_confirmed')?.data).toEqual({ job_ids: null, include_previews: true });

    const job = await anyKind(t.container.queue).enqueue('generation.test', { prompt: 'a cat' });
    await waitFor(async () => messages.some((m) => m.type === 'generation_complete'), Boolean);
    const types = messages.map((m) => m.type);
    expect(types).toEqual(expect.arrayContaining(['generation_started', 'queue_update', 'progress_update', 'generation_progress', 'generation_complete', 'job_update']));
    const progress = messages.find((m) => m.type === 'progress_update' && (m.data as { progress: number }).progress > 0)?.data as Record<string, unknown>;
    expect(progress).toMatchObject({ job_id: job.id, progress: 0.25, current_step: 5, total_steps: 20, eta_seconds: 3, status: 'processing' });
    expect(progress.preview_image).toBe('data:image/png;base64,AAAA');
    const complete = messages.find((m) => m.type === 'generation_complete')?.data as Record<string, unknown>;
    expect(complete).toMatchObject({ job_id: job.id, status: 'completed', images: ['/api/v1/generation/results/x/images/0'] });
    socket.close();
  });

  it('only sends events of the subscribed jobs once a client subscribes to ids', async () => {
    const { socket, messages } = await connect(`/v1/ws/progress?api_key=${KEY}`);
    socket.send(JSON.stringify({ type: 'subscribe', job_ids: ['some-other-job'] }));
    await waitFor(async () => messages.some((m) => m.type === 'subscription_confirmed'), Boolean);
    const job = await anyKind(t.container.queue).enqueue('generation.test', {});
    await waitFor(() => t.container.repositories.jobs.findById(job.id), (j) => j?.status === 'succeeded');
    await sleep(30);
    expect(messages.filter((m) => (m.data as { job_id?: string })?.job_id === job.id)).toHaveLength(0);
    socket.send('not json');
    await waitFor(async () => messages.some((m) => m.type === 'error'), Boolean);
    socket.close();
  });
});
