/**
 * bench:queue, scaled part: one process enqueues (as `serve` with RUN_WORKERS=false does) and two worker processes
 * run the jobs, on a private redis-server and PostgreSQL (a database of its own) when it answers, else a shared
 * SQLite file. Measures jobs per second and end-to-end latency (job row created → finished, from the database),
 * steady, and again while Redis is killed and restarted empty mid-stream: time to recover, jobs lost.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { loadConfig } from '../src/config.ts';
import { createContainer, type Container } from '../src/container.ts';
import { anyKind } from '../test/support/any-kind-queue.ts';
import { PrivateRedis } from '../test/support/redis-server.ts';
import { createPostgresDatabase, postgresAvailable } from '../test/support/services.ts';
import { percentile } from './support.ts';

const SERVER_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface ScaledResult {
  phase: string;
  jobs: number;
  jobsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  recoverMs: number | null;
  lost: number;
}

function startWorker(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/queue-worker.child.ts'], { cwd: SERVER_DIR, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve(child));
    child.once('exit', (code) => reject(new Error(`bench worker exited with ${code}`)));
  });
}

async function stopWorker(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(10_000).then(() => child.kill('SIGKILL'))]);
}

/** Latencies (ms) and the span of the given jobs, from their rows. */
async function measured(container: Container, ids: string[]): Promise<{ latencies: number[]; firstCreated: number; lastFinished: number; succeeded: number }> {
  if (ids.length === 0) return { latencies: [], firstCreated: 0, lastFinished: 0, succeeded: 0 };
  const rows = await container.database.db.selectFrom('job').select(['id', 'status', 'created_at', 'finished_at']).where('id', 'in', ids).execute();
  const done = rows.filter((r) => r.status === 'succeeded' && r.finished_at);
  const latencies = done.map((r) => Date.parse(r.finished_at!) - Date.parse(r.created_at)).sort((a, b) => a - b);
  return {
    latencies,
    firstCreated: Math.min(...rows.map((r) => Date.parse(r.created_at))),
    lastFinished: Math.max(...done.map((r) => Date.parse(r.finished_at!))),
    succeeded: done.length,
  };
}

async function waitForAll(container: Container, limitMs: number): Promise<void> {
  const deadline = Date.now() + limitMs;
  while ((await container.repositories.jobs.countActive(['bench.noop'])) > 0) {
    if (Date.now() > deadline) throw new Error('jobs still active after the time limit');
    await sleep(50);
  }
}

/**
 * Jobs at a fixed rate for 6 s, as requests arrive. With `outage`, Redis is killed at 2 s and comes back empty 1 s
 * later: recovery is the time from Redis answering again until the last job accepted during the outage finished.
 */
async function streamPhase(container: Container, redis: PrivateRedis, jobsPerSecond: number, outage: boolean): Promise<ScaledResult> {
  const streamIds: string[] = [];
  const outageIds: string[] = [];
  let redisDown = false;
  let redisBackAt = 0;
  const streamEnd = Date.now() + 6000;
  const stream = (async () => {
    const interval = 1000 / jobsPerSecond;
    for (let n = 0; Date.now() < streamEnd; n++) {
      const job = await anyKind(container.queue).enqueue('bench.noop', { n });
      streamIds.push(job.id);
      if (redisDown) outageIds.push(job.id);
      await sleep(interval);
    }
  })();
  if (outage) {
    await sleep(2000);
    redisDown = true;
    await redis.stop();
    await sleep(1000);
    await redis.restart();
    redisDown = false;
    redisBackAt = Date.now();
  }
  await stream;
  await waitForAll(container, 120_000);
  const all = await measured(container, streamIds);
  const during = await measured(container, outageIds);
  return {
    phase: outage ? `${jobsPerSecond}/s stream, Redis killed 1 s, back empty` : `${jobsPerSecond}/s stream`,
    jobs: streamIds.length,
    jobsPerSecond: streamIds.length / ((all.lastFinished - all.firstCreated) / 1000),
    p50Ms: percentile(all.latencies, 50),
    p99Ms: percentile(all.latencies, 99),
    recoverMs: outage ? (outageIds.length > 0 ? during.lastFinished - redisBackAt : 0) : null,
    lost: streamIds.length - all.succeeded,
  };
}

export async function runScaledBench(options: { jobs: number; clients: number; concurrency: number; restartJobsPerSecond: number }): Promise<{ results: ScaledResult[]; database: string }> {
  const redis = await PrivateRedis.start();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lm-bench-scaled-'));
  const pg = (await postgresAvailable()) ? await createPostgresDatabase() : null;
  const env: Record<string, string> = {
    DATA_DIR: tmp,
    DATABASE_URL: pg?.url ?? `sqlite:${path.join(tmp, 'bench.db')}`,
    REDIS_URL: redis.url,
    REDIS_PREFIX: 'bench',
    RUN_WORKERS: 'false',
    QUEUE_STALL_TIMEOUT_MS: '5000',
    LOG_LEVEL: 'silent',
    BENCH_CONCURRENCY: String(options.concurrency),
  };
  const container = await createContainer(loadConfig(env, tmp), { logger: pino({ level: 'silent' }) });
  anyKind(container.queue).register('bench.noop', async () => ({}), { maxAttempts: 5 });
  const workers = await Promise.all([startWorker(env), startWorker(env)]);
  const results: ScaledResult[] = [];
  try {
    // Steady: N jobs from concurrent callers, two workers.
    const ids: string[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: options.clients }, async () => {
        while (next < options.jobs) {
          const n = next++;
          ids.push((await anyKind(container.queue).enqueue('bench.noop', { n })).id);
        }
      }),
    );
    await waitForAll(container, 120_000);
    const steady = await measured(container, ids);
    results.push({
      phase: `burst of ${ids.length}`,
      jobs: ids.length,
      jobsPerSecond: ids.length / ((steady.lastFinished - steady.firstCreated) / 1000),
      p50Ms: percentile(steady.latencies, 50),
      p99Ms: percentile(steady.latencies, 99),
      recoverMs: null,
      lost: ids.length - steady.succeeded,
    });

    results.push(await streamPhase(container, redis, options.restartJobsPerSecond, false));
    results.push(await streamPhase(container, redis, options.restartJobsPerSecond, true));
  } finally {
    await Promise.all(workers.map(stopWorker));
    await container.close();
    await redis.close();
    await pg?.drop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return { results, database: pg ? 'PostgreSQL' : 'SQLite file' };
}
