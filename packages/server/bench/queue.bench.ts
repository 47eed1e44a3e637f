/**
 * bench:queue — jobs per second through the whole queue pipeline with an instant handler: enqueue (job row + event +
 * hand-off) → claim → run → finish → events, until every job has succeeded. Embedded (SQLite + in-process queue) and
 * scaled (BullMQ + Redis pub/sub, when Redis answers). Budget (DESIGN §10): ≥ 200 jobs/s embedded.
 * Then, when redis-server is installed, the scaled deployment: one enqueuing process and two worker processes on a
 * private redis-server, steady and through a Redis restart (queue-scaled.ts).
 *
 *   npm run bench:queue [-- --jobs 2000 --concurrency 4 --clients 16 --restart-rate 100]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { JobEvent } from '@lora-manager/contract';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { loadConfig } from '../src/config.ts';
import { createContainer } from '../src/container.ts';
import { anyKind } from '../test/support/any-kind-queue.ts';
import { redisServerInstalled } from '../test/support/redis-server.ts';
import { runScaledBench } from './queue-scaled.ts';
import { table } from './support.ts';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '4' },
    clients: { type: 'string', default: '16' },
    redis: { type: 'string', default: 'redis://127.0.0.1:6379/15' },
    'restart-rate': { type: 'string', default: '100' },
  },
});
const JOBS = Number(values.jobs);
const CONCURRENCY = Number(values.concurrency);
const CLIENTS = Number(values.clients);
const BUDGET = 200;

async function redisReachable(url: string): Promise<boolean> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

async function clearPrefix(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: null });
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
  await redis.quit();
}

interface Result {
  mode: string;
  enqueuePerSecond: number;
  jobsPerSecond: number;
  events: number;
}

async function run(mode: 'embedded' | 'redis'): Promise<Result> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lm-bench-queue-'));
  const prefix = `lmbench-${process.pid}`;
  const env: Record<string, string> = { DATA_DIR: tmp, LOG_LEVEL: 'silent' };
  if (mode === 'redis') Object.assign(env, { REDIS_URL: values.redis, REDIS_PREFIX: prefix });
  const container = await createContainer(loadConfig(env, tmp), { logger: pino({ level: 'silent' }) });
  anyKind(container.queue).register('bench.noop', async (payload: { n: number }) => ({ n: payload.n }), { concurrency: CONCURRENCY });
  let succeeded = 0;
  let allDone: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (allDone = resolve));
  container.events.subscribe('jobs', (message) => {
    if ((message as JobEvent).change === 'succeeded' && ++succeeded === JOBS) allDone();
  });
  await container.queue.start();

  const started = performance.now();
  let next = 0;
  // Several concurrent callers, as API requests would arrive.
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (next < JOBS) {
        const n = next++;
        await anyKind(container.queue).enqueue('bench.noop', { n });
      }
    }),
  );
  const enqueued = performance.now();
  await finished;
  await container.queue.drain();
  const ended = performance.now();

  const failed = await container.repositories.jobs.countActive();
  if (failed !== 0) throw new Error(`${failed} jobs still active after drain`);
  await container.close();
  if (mode === 'redis') await clearPrefix(values.redis as string, prefix);
  fs.rmSync(tmp, { recursive: true, force: true });
  return {
    mode: mode === 'embedded' ? 'embedded (SQLite, in-process queue + bus)' : 'scaled (SQLite, BullMQ + Redis pub/sub)',
    enqueuePerSecond: JOBS / ((enqueued - started) / 1000),
    jobsPerSecond: JOBS / ((ended - started) / 1000),
    events: succeeded,
  };
}

async function main() {
  const results: Result[] = [await run('embedded')];
  if (await redisReachable(values.redis as string)) results.push(await run('redis'));
  else process.stdout.write(`Redis at ${values.redis} not reachable: scaled mode skipped\n`);

  process.stdout.write(`\n${JOBS} no-op jobs, handler concurrency ${CONCURRENCY}, ${CLIENTS} concurrent enqueuers, ${os.cpus().length} CPUs\n\n`);
  process.stdout.write(
    `${table(
      ['mode', 'enqueue jobs/s', 'end-to-end jobs/s', 'succeeded events'],
      results.map((r) => [r.mode, r.enqueuePerSecond, r.jobsPerSecond, String(r.events)]),
    )}\n\n`,
  );
  const embedded = results[0].jobsPerSecond;
  process.stdout.write(`embedded: ${embedded.toFixed(0)} jobs/s vs budget ≥ ${BUDGET} jobs/s → ${embedded >= BUDGET ? 'PASS' : 'FAIL'}\n`);
  if (embedded < BUDGET) process.exitCode = 1;

  if (!redisServerInstalled()) {
    process.stdout.write('\nredis-server not installed: the two-worker run is skipped\n');
    return;
  }
  const scaled = await runScaledBench({ jobs: JOBS, clients: CLIENTS, concurrency: CONCURRENCY, restartJobsPerSecond: Number(values['restart-rate']) });
  process.stdout.write(`\nscaled: 1 enqueuing process + 2 worker processes (concurrency ${CONCURRENCY} each), private redis-server, ${scaled.database}\n\n`);
  process.stdout.write(
    `${table(
      ['phase', 'jobs', 'jobs/s', 'latency p50 ms', 'latency p99 ms', 'recovered in ms', 'lost'],
      scaled.results.map((r) => [r.phase, String(r.jobs), r.jobsPerSecond, r.p50Ms, r.p99Ms, r.recoverMs === null ? '-' : String(r.recoverMs), String(r.lost)]),
    )}\n`,
  );
  if (scaled.results.some((r) => r.lost > 0)) process.exitCode = 1;
}

await main();
