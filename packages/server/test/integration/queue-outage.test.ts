import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { JobEvent } from '@lora-manager/contract';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createContainer } from '../../src/container.ts';
import { anyKind } from '../support/any-kind-queue.ts';
import { startA1111TestServer, type A1111TestServer } from '../support/a1111-test-server.ts';
import { PrivateRedis, redisServerInstalled } from '../support/redis-server.ts';
import { createPostgresDatabase, postgresAvailable, POSTGRES_ADMIN_URL, REQUIRE_SERVICES } from '../support/services.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';
import { createTestApp, type TestApp } from '../support/test-app.ts';
import { until } from '../support/wait.ts';

const API = '/api/v1';
const HAVE_REDIS_SERVER = redisServerInstalled();
if (!HAVE_REDIS_SERVER && REQUIRE_SERVICES) throw new Error('redis-server is not installed (REQUIRE_SERVICES=1)');
const HAVE_POSTGRES = await postgresAvailable();

/** The answer, or a failure naming the request, if it does not come within `ms`: a hung request must fail the test. */
async function answered<T>(what: string, request: Promise<T>, ms = 5000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([request, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

async function outboxSize(t: TestApp): Promise<number> {
  return (await t.container.database.db.selectFrom('job_outbox').select('job_id').execute()).length;
}

describe.runIf(HAVE_REDIS_SERVER)('scaled queue while Redis goes away (a private redis-server)', { timeout: 60_000 }, () => {
  let redis: PrivateRedis;
  let sd: A1111TestServer;
  let t: TestApp;

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    sd = await startA1111TestServer({ stepDelayMs: 1 });
    t = await createTestApp('sqlite', {
      REDIS_URL: redis.url,
      REDIS_PREFIX: 'outage',
      RUN_WORKERS: 'true',
      SDNEXT_BASE_URL: sd.url,
      SDNEXT_POLL_INTERVAL: '0.05',
      // Long: what brings the jobs back here must be the outbox and the flush rebuild, not the stale-job sweep.
      QUEUE_STALL_TIMEOUT_MS: '60000',
    });
  });
  afterAll(async () => {
    await t?.close();
    await sd?.close();
    await redis?.close();
  });

  const delivery = async (id: string) => (await t.app.inject(`${API}/generation/jobs/${id}`)).json().delivery;

  it('accepts a generation at once while Redis is down, says degraded, and runs it exactly once when Redis is back', async () => {
    const seen: JobEvent[] = [];
    t.container.events.subscribe('jobs', (m) => seen.push(m as JobEvent));
    await redis.stop();
    const health = await until('health to say degraded', async () => {
      const body = (await t.app.inject('/health')).json();
      return body.status === 'degraded' ? body : undefined;
    });
    // The public root health names the service only; the API's twin (behind the key when one is set) says why.
    expect(health.reasons).toEqual(['Redis unavailable']);
    expect((await t.app.inject(`${API}/health`)).json().reasons.join(' ')).toMatch(/Redis unavailable: ./);
    const status = (await t.app.inject(`${API}/system/status`)).json();
    expect(status.status).toBe('degraded');
    expect(status.degraded_reasons.join(' ')).toMatch(/Redis unavailable/);

    const res = await answered(
      'queue-generation with Redis down',
      t.app.inject({ method: 'POST', url: `${API}/generation/queue-generation`, payload: { prompt: 'outage', steps: 2, width: 16, height: 16 } }),
    );
    expect(res.statusCode).toBeLessThan(300);
    const id = res.json().delivery_id as string;
    expect(await delivery(id)).toMatchObject({ status: 'queued' });
    expect(await outboxSize(t)).toBe(1);

    await redis.restart();
    const done = await until('the generation to finish after Redis is back', async () => {
      const d = await delivery(id);
      return ['completed', 'failed'].includes(d.status) ? d : undefined;
    });
    expect(done).toMatchObject({ status: 'completed', attempts: 1 });
    expect(sd.count('/sdapi/v1/txt2img')).toBe(1);
    expect(await outboxSize(t)).toBe(0);
    // Events resumed by themselves: the next job's events reach this process's listeners over the new connections.
    const next = (await t.app.inject({ method: 'POST', url: `${API}/generation/queue-generation`, payload: { prompt: 'after', steps: 2, width: 16, height: 16 } })).json();
    await until('the success event of the next job', () => seen.some((e) => e.job.id === next.delivery_id && e.change === 'succeeded'));
    // The probe is cached for 2 s, so health recovers within that.
    expect(await until('health to say ok', async () => ((await t.app.inject('/health')).json().status === 'ok' ? (await t.app.inject('/health')).json() : undefined))).toEqual({
      status: 'ok',
      service: 'lora-manager',
    });
  });

  it('rebuilds the queue from the database when Redis comes back empty, running every waiting job once', async () => {
    await redis.restart(); // a no-op unless the test before left it stopped
    const runs = new Map<string, number>();
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    anyKind(t.container.queue).register(
      'test.gated',
      async (payload: { name: string }) => {
        runs.set(payload.name, (runs.get(payload.name) ?? 0) + 1);
        await gate;
        return { name: payload.name };
      },
      { concurrency: 1 },
    );
    const jobs = [];
    for (const name of ['a', 'b', 'c', 'd']) jobs.push(await anyKind(t.container.queue).enqueue('test.gated', { name }));
    await until('the first job to start', () => runs.size === 1);
    // Jobs b–d exist only as waiting BullMQ jobs in Redis now; a restart without persistence loses them.
    await redis.stop();
    await redis.restart();
    open();
    for (const job of jobs) {
      await until(`job ${job.payload.name} to succeed`, async () => (await t.container.repositories.jobs.findById(job.id))?.status === 'succeeded');
    }
    expect(Object.fromEntries(runs)).toEqual({ a: 1, b: 1, c: 1, d: 1 });
    for (const job of jobs) expect((await t.container.repositories.jobs.findById(job.id))?.attempts).toBe(1);
  });
});

describe.runIf(HAVE_REDIS_SERVER)('scaled queue on a Redis that is flushed under it', { timeout: 60_000 }, () => {
  it('notices the FLUSHALL by itself (no reconnect happens) and runs every waiting job once', async () => {
    const redis = await PrivateRedis.start();
    const t = await createTestApp('sqlite', { REDIS_URL: redis.url, REDIS_PREFIX: 'flush', RUN_WORKERS: 'true', QUEUE_STALL_TIMEOUT_MS: '60000' });
    try {
      const runs = new Map<string, number>();
      let open: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => (open = resolve));
      anyKind(t.container.queue).register(
        'test.flushed',
        async (payload: { name: string }) => {
          runs.set(payload.name, (runs.get(payload.name) ?? 0) + 1);
          await gate;
          return {};
        },
        { concurrency: 1 },
      );
      const jobs = [];
      for (const name of ['a', 'b', 'c']) jobs.push(await anyKind(t.container.queue).enqueue('test.flushed', { name }));
      await until('the first job to start', () => runs.size === 1);
      const admin = new Redis(redis.url);
      await admin.flushall(); // our own redis-server: the shared one is never flushed
      await admin.quit();
      open();
      for (const job of jobs) await until(`job ${job.payload.name} to succeed`, async () => (await t.container.repositories.jobs.findById(job.id))?.status === 'succeeded');
      expect(Object.fromEntries(runs)).toEqual({ a: 1, b: 1, c: 1 });
    } finally {
      await t.close();
      await redis.close();
    }
  });
});

describe.runIf(HAVE_REDIS_SERVER)('switching between embedded and Redis mode across a restart', { timeout: 60_000 }, () => {
  it('keeps the pending jobs both ways', async () => {
    const redis = await PrivateRedis.start();
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lm-switch-'));
    const open = async (scaled: boolean, runs: string[]) => {
      const env: Record<string, string> = { DATA_DIR: tmp, LOG_LEVEL: 'silent', WEB_DIST_DIR: path.join(tmp, 'no-web') };
      if (scaled) Object.assign(env, { REDIS_URL: redis.url, REDIS_PREFIX: 'switch', RUN_WORKERS: 'true' });
      const c = await createContainer(loadConfig(env, tmp), { logger: pino({ level: 'silent' }) });
      anyKind(c.queue).register('test.switch', async (payload: { name: string }) => {
        runs.push(payload.name);
        return {};
      });
      return c;
    };
    try {
      const runs: string[] = [];
      // Embedded, stopped before it ran anything (queue never started): the job is a pending row.
      const embedded = await open(false, runs);
      const first = await anyKind(embedded.queue).enqueue('test.switch', { name: 'from-embedded' });
      await embedded.close();
      const scaled = await open(true, runs);
      await scaled.queue.start();
      await until('the embedded job to run on Redis', async () => (await scaled.repositories.jobs.findById(first.id))?.status === 'succeeded');
      await scaled.close();
      // Redis mode with no worker running (as `serve` with RUN_WORKERS=false), then back to embedded.
      const noWorkers = await open(true, runs);
      const second = await anyKind(noWorkers.queue).enqueue('test.switch', { name: 'from-redis' });
      await noWorkers.close();
      const back = await open(false, runs);
      await back.queue.start();
      await until('the Redis job to run embedded', async () => (await back.repositories.jobs.findById(second.id))?.status === 'succeeded');
      await back.close();
      expect(runs).toEqual(['from-embedded', 'from-redis']);
    } finally {
      await redis.close();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe.runIf(HAVE_POSTGRES)('PostgreSQL going away (through a proxy the test cuts)', { timeout: 60_000 }, () => {
  let proxy: TcpProxy;
  let drop: () => Promise<void>;
  let tmp: string;
  let app: Awaited<ReturnType<typeof buildApp>>;
  let container: Awaited<ReturnType<typeof createContainer>>;

  beforeAll(async () => {
    const db = await createPostgresDatabase();
    drop = db.drop;
    const target = new URL(POSTGRES_ADMIN_URL);
    proxy = await TcpProxy.start(target.hostname, Number(target.port || 5432));
    const url = new URL(db.url);
    url.host = `127.0.0.1:${proxy.port}`;
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lm-pg-outage-'));
    const config = loadConfig({ DATA_DIR: tmp, DATABASE_URL: url.toString(), LOG_LEVEL: 'silent', WEB_DIST_DIR: path.join(tmp, 'no-web') }, tmp);
    container = await createContainer(config, { logger: pino({ level: 'silent' }) });
    app = await buildApp(container);
    await app.ready();
    await container.queue.start();
  });
  afterAll(async () => {
    await app?.close();
    await container?.close();
    await proxy?.cut();
    await drop?.();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('answers 503 problem+json at once while the database is down, says degraded, and recovers without a restart', async () => {
    expect((await app.inject(`${API}/adapters`)).statusCode).toBe(200);
    await proxy.cut();
    const res = await answered('a listing with the database down', app.inject(`${API}/adapters`));
    expect(res.statusCode).toBe(503);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.headers['retry-after']).toBe('5');
    expect(res.json()).toMatchObject({ status: 503, code: 'database_unavailable' });
    const write = await answered(
      'queue-generation with the database down',
      app.inject({ method: 'POST', url: `${API}/generation/queue-generation`, payload: { prompt: 'refused', steps: 2, width: 16, height: 16 } }),
    );
    expect(write.statusCode).toBe(503);
    expect(write.json().code).toBe('database_unavailable');
    await until('health to say degraded', async () => ((await app.inject('/health')).json().status === 'degraded' ? true : undefined));
    expect((await app.inject('/health')).json().reasons).toEqual(['Database unavailable']);
    const status = await answered('system status with the database down', app.inject(`${API}/system/status`));
    expect(status.statusCode).toBe(200);
    expect(status.json()).toMatchObject({ status: 'degraded', degraded_reasons: [expect.stringMatching(/^Database unavailable: /)] });
    expect((await app.inject(`${API}/health`)).json().reasons.join(' ')).toMatch(/Database unavailable: /);

    await proxy.restore();
    await until('the listing to answer again', async () => (await app.inject(`${API}/adapters`)).statusCode === 200);
    await until('health to say ok', async () => ((await app.inject('/health')).json().status === 'ok' ? true : undefined));
    // Refused means nothing half-written: no delivery row, no job row.
    expect(await container.database.db.selectFrom('delivery_job').select('id').execute()).toEqual([]);
    expect(await container.database.db.selectFrom('job').select('id').execute()).toEqual([]);
  });
});
