import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Job, JobEvent } from '@lora-manager/contract';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createContainer, type Container } from '../../src/container.ts';
import { anyKind } from '../support/any-kind-queue.ts';
import { HandlerProbe, registerContractHandlers, registerCrashHandler } from '../support/queue-contract.ts';
import { deleteRedisKeys, redisAvailable, uniqueRedisPrefix } from '../support/redis.ts';
import { createPostgresDatabase, postgresAvailable, REDIS_TEST_URL } from '../support/services.ts';

/**
 * The behaviour every JobQueue adapter owes its callers, run against the embedded queue and against BullMQ on a real
 * Redis (two worker containers sharing the database, as two `lora-manager worker` processes would).
 */
type AdapterName = 'in-process' | 'bullmq';
interface Case {
  adapter: AdapterName;
  db: 'sqlite' | 'postgres';
}
const HAVE_REDIS = await redisAvailable();
// Scaled mode as deployed: BullMQ with PostgreSQL, when the machine has one.
const CASES: Case[] = [
  { adapter: 'in-process', db: 'sqlite' },
  ...(HAVE_REDIS ? [{ adapter: 'bullmq', db: 'sqlite' } as const] : []),
  ...(HAVE_REDIS && (await postgresAvailable()) ? [{ adapter: 'bullmq', db: 'postgres' } as const] : []),
];

/** A database for one suite: a SQLite file in its DATA_DIR, or a fresh PostgreSQL database. */
async function databaseFor(db: Case['db']): Promise<{ env: Record<string, string>; drop(): Promise<void> }> {
  if (db === 'sqlite') return { env: {}, drop: async () => undefined };
  const pg = await createPostgresDatabase();
  return { env: { DATABASE_URL: pg.url }, drop: pg.drop };
}
const SERVER_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CHILD = path.join(SERVER_DIR, 'test/support/queue-worker.child.ts');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor<T>(read: () => Promise<T> | T, done: (value: T) => boolean, what: string | (() => string), timeoutMs = 20_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}: ${JSON.stringify(value)}`);
    await sleep(10);
  }
}

function environment(adapter: AdapterName, dataDir: string, prefix: string): Record<string, string> {
  return {
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    ...(adapter === 'bullmq' ? { REDIS_URL: REDIS_TEST_URL, REDIS_PREFIX: prefix, QUEUE_STALL_TIMEOUT_MS: '1000' } : {}),
  };
}

async function build(env: Record<string, string>, cwd: string): Promise<Container> {
  return createContainer(loadConfig(env, cwd), { logger: pino({ level: 'silent' }) });
}

describe.each(CASES)('job queue contract: $adapter on $db', { timeout: 30_000 }, ({ adapter, db }) => {
  const probe = new HandlerProbe();
  const events: JobEvent[] = [];
  const prefix = uniqueRedisPrefix('queue');
  let tmp: string;
  let producer: Container;
  let workers: Container[];
  let database: Awaited<ReturnType<typeof databaseFor>>;

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lm-queue-'));
    database = await databaseFor(db);
    const env = { ...environment(adapter, path.join(tmp, 'data'), prefix), ...database.env };
    producer = await build(env, tmp);
    // BullMQ: a second container is a second worker on the same Redis and database.
    workers = adapter === 'bullmq' ? [producer, await build(env, tmp)] : [producer];
    for (const c of workers) registerContractHandlers(c.queue, probe);
    producer.events.subscribe('jobs', (e) => events.push(e as JobEvent));
    for (const c of workers) await c.queue.start();
  });
  afterAll(async () => {
    for (const c of workers ?? []) await c.close();
    if (adapter === 'bullmq') await deleteRedisKeys(prefix);
    await database?.drop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const row = (id: string) => producer.repositories.jobs.findById(id) as Promise<Job>;
  const changes = (id: string) => events.filter((e) => e.job.id === id).map((e) => e.change);
  const drain = () => Promise.all(workers.map((c) => c.queue.drain()));

  it('runs a job to success, persisting and publishing its progress and result', async () => {
    const job = await anyKind(producer.queue).enqueue('contract.echo', { value: 21 });
    expect(job.status).toBe('pending');
    const done = await waitFor(() => row(job.id), (j) => j.status === 'succeeded', 'success');
    expect(done).toMatchObject({ result: { doubled: 42 }, progress: 1, attempts: 1, error: null });
    expect(done.progress_detail).toMatchObject({ progress: 0.5, step: 1, total_steps: 2, message: 'half way' });
    await waitFor(() => changes(job.id), (c) => c.includes('succeeded'), 'the succeeded event');
    expect(changes(job.id)).toEqual(['queued', 'started', 'progress', 'succeeded']);
    const progress = events.find((e) => e.job.id === job.id && e.change === 'progress');
    expect(progress?.job.progress_detail?.message).toBe('half way');
  });

  it('retries with exponential backoff, then succeeds', async () => {
    const job = await anyKind(producer.queue).enqueue('contract.flaky', { failTimes: 2, name: 'retry-then-succeed' });
    const done = await waitFor(() => row(job.id), (j) => j.status === 'succeeded', 'success after retries');
    expect(done).toMatchObject({ attempts: 3, result: { tries: 3 } });
    await waitFor(() => changes(job.id), (c) => c.includes('succeeded'), 'the succeeded event');
    expect(changes(job.id).filter((c) => c === 'retrying')).toHaveLength(2);
    const starts = probe.attemptStarts.get('retry-then-succeed') ?? [];
    // backoffMs 50: the second attempt waits at least 50 ms, the third at least 100 ms.
    expect(starts[1] - starts[0]).toBeGreaterThanOrEqual(50);
    expect(starts[2] - starts[1]).toBeGreaterThanOrEqual(100);
  });

  it('fails with a readable reason once its attempts are used up', async () => {
    const job = await anyKind(producer.queue).enqueue('contract.flaky', { failTimes: 99, name: 'always' }, { maxAttempts: 2 });
    const done = await waitFor(() => row(job.id), (j) => j.status === 'failed', 'failure');
    expect(done).toMatchObject({ attempts: 2, error: 'flaky failure 2' });
    expect(done.finished_at).toMatch(/Z$/);
    await waitFor(() => changes(job.id), (c) => c.includes('failed'), 'the failed event');
  });

  it('fails a permanent error at once', async () => {
    const job = await anyKind(producer.queue).enqueue('contract.permanent', {});
    const done = await waitFor(() => row(job.id), (j) => j.status === 'failed', 'failure');
    expect(done).toMatchObject({ attempts: 1, error: 'unknown mode: carrier-pigeon', result: { detail: 'unknown mode: carrier-pigeon' } });
    expect(changes(job.id)).not.toContain('retrying');
  });

  it('runs the jobs of one group one at a time, in order, across all workers', async () => {
    probe.peak = 0;
    probe.order = [];
    const names = ['g1', 'g2', 'g3', 'g4', 'g5', 'g6'];
    const jobs: Job[] = [];
    for (const name of names) jobs.push(await anyKind(producer.queue).enqueue('contract.group', { name }, { group: 'sdnext:http://gpu-1:7860' }));
    for (const job of jobs) await waitFor(() => row(job.id), (j) => j.status === 'succeeded', `group job ${job.id}`);
    expect(probe.peak).toBe(1);
    expect(probe.order).toEqual(names);
  });

  it('cancels a pending job (it never runs) and a running one (its handler is aborted, the cancel stands)', async () => {
    const running = await anyKind(producer.queue).enqueue('contract.block', { name: 'holder' }, { group: 'cancel-group' });
    const waiting = await anyKind(producer.queue).enqueue('contract.block', { name: 'waiter' }, { group: 'cancel-group' });
    await waitFor(() => row(running.id), (j) => j.status === 'running' && j.progress_detail?.message === 'blocking', 'the holder to run');
    expect((await row(waiting.id)).status).toBe('pending');

    expect((await producer.queue.cancel(waiting.id)).status).toBe('cancelled');
    expect((await producer.queue.cancel(running.id)).status).toBe('cancelled');
    await waitFor(() => probe.aborted.get('holder'), (reason) => reason !== undefined, 'the handler to see the abort');
    expect(probe.aborted.get('holder')).toBe('cancelled');
    await drain();

    // The handler returned a result after the abort; the row stays cancelled and the waiter never started.
    expect(await row(running.id)).toMatchObject({ status: 'cancelled', result: null });
    expect(await row(waiting.id)).toMatchObject({ status: 'cancelled', attempts: 0 });
    expect(probe.started.has('waiter')).toBe(false);
    await waitFor(() => changes(running.id), (c) => c.includes('cancelled'), 'the cancelled event');
    expect(changes(running.id)).not.toContain('succeeded');

    await expect(producer.queue.cancel(running.id)).rejects.toMatchObject({ code: 'job_not_cancellable' });
    await expect(producer.queue.cancel('no-such-job')).rejects.toMatchObject({ code: 'job_not_found' });
  });
});

describe.each(CASES)('job queue recovery after kill -9: $adapter on $db', { timeout: 60_000 }, ({ adapter, db }) => {
  it('sends a job its dead worker left running back to work, and fails one with no attempts left', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lm-crash-'));
    const prefix = uniqueRedisPrefix('crash');
    const database = await databaseFor(db);
    const env = { ...environment(adapter, path.join(tmp, 'data'), prefix), ...database.env };
    const survivor = await build(env, tmp);
    registerCrashHandler(survivor.queue, 'succeed');
    const events: JobEvent[] = [];
    survivor.events.subscribe('jobs', (e) => events.push(e as JobEvent));
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD], { env: { ...process.env, ...env }, cwd: SERVER_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
    let childOutput = '';
    child.stdout.on('data', (d) => (childOutput += d));
    child.stderr.on('data', (d) => (childOutput += d));
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
    try {
      const again = await anyKind(survivor.queue).enqueue('contract.crash', {});
      const lost = await anyKind(survivor.queue).enqueue('contract.crash', {}, { maxAttempts: 1 });
      for (const job of [again, lost]) {
        await waitFor(
          () => survivor.repositories.jobs.findById(job.id),
          (j) => j?.status === 'running' && j.progress_detail?.message === 'attempt 1 in hang mode',
          () => `the child to run ${job.id} (child said: ${childOutput})`,
        );
        // The child writes the row before it publishes the event: on Redis, wait for the event too, or the kill can
        // land between the two and the event below is never sent.
        if (adapter === 'bullmq') {
          await waitFor(() => events.filter((e) => e.job.id === job.id).map((e) => e.change), (c) => c.includes('progress'), 'the child\'s progress event');
        }
      }
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');

      await survivor.queue.start();
      const recovered = await waitFor(() => survivor.repositories.jobs.findById(again.id), (j) => j?.status === 'succeeded', 'recovery');
      expect(recovered).toMatchObject({ attempts: 2, result: { recovered: true, attempt: 2 } });
      const failed = await waitFor(() => survivor.repositories.jobs.findById(lost.id), (j) => j?.status === 'failed', 'the failure');
      expect(failed?.error).toBe('interrupted: the process running it stopped, no attempts left');
      const seen = await waitFor(() => events.filter((e) => e.job.id === again.id).map((e) => e.change), (c) => c.includes('succeeded'), 'events');
      expect(seen.slice(-4)).toEqual(['retrying', 'started', 'progress', 'succeeded']);
      // On Redis the dead worker's own events reached this process too.
      if (adapter === 'bullmq') expect(seen).toEqual(['queued', 'started', 'progress', 'retrying', 'started', 'progress', 'succeeded']);
    } finally {
      child.kill('SIGKILL');
      await survivor.close();
      if (adapter === 'bullmq') await deleteRedisKeys(prefix);
      await database.drop();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
