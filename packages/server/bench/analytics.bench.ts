/**
 * bench:analytics — every analytics route over a busy installation: 1,000,000 generation jobs spread over 90 days
 * (92 % succeeded, 6 % failed with a dozen kinds of message, 2 % cancelled; 1–3 LoRAs each, chosen Zipf-like from
 * 10,000 adapters, 2 % of names unknown to the catalogue) and 90 days of resource samples from two processes.
 * Rows are written with the SQLite bulk writer; the roll-ups are then built the way a first start builds them
 * (UsageRecorder.ensureRollups), and timed. Then p50/p99 of each route for each range, the per-LoRA list and the
 * catalogue's "most used" sort, and the cost of recording one finished generation (what the pipeline pays).
 * Budget (DESIGN §10): every route p50 ≤ 100 ms, p99 ≤ 300 ms for 30 days.
 *
 *   npm run bench:analytics [-- --jobs 1000000 --adapters 10000 --iterations 50]
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { buildApp } from '../src/app.ts';
import { UsageRepository } from '../src/analytics/repositories/usage.repository.ts';
import { loadConfig } from '../src/config.ts';
import { createContainer } from '../src/container.ts';
import { foldFinished } from '../src/lib/usage-rollup.ts';
import { defaults } from '../src/library/repositories/adapter-rows.ts';
import { measure, table } from './support.ts';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '1000000' },
    adapters: { type: 'string', default: '10000' },
    iterations: { type: 'string', default: '50' },
  },
});
const JOBS = Number(values.jobs);
const ADAPTERS = Number(values.adapters);
const ITERATIONS = Number(values.iterations);
const DAYS = 90;
const DAY_MS = 86_400_000;
const ERRORS = [
  (r: () => number) => `SDNext txt2img failed (HTTP 500): CUDA out of memory. Tried to allocate ${(r() * 4).toFixed(2)} GiB`,
  (r: () => number) => `Request to http://10.0.0.${Math.floor(r() * 250)}:7860/sdapi/v1/txt2img timed out after ${Math.floor(r() * 600)} s`,
  () => 'SDNext backend not configured',
  (r: () => number) => `ENOENT: no such file or directory, open '/data/outputs/${randomUUID()}/${Math.floor(r() * 4)}.png'`,
  (r: () => number) => `Model checkpoint sd_xl_${Math.floor(r() * 9)}.safetensors [${randomUUID().slice(0, 10)}] failed to load`,
  () => 'ComfyUI rejected the workflow: prompt_outputs_failed_validation',
];

/** A small deterministic generator so runs are comparable. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Zipf(s = 1.1) over n items by inverse CDF on a precomputed table: a few favourites, a long tail. */
function zipf(n: number, r: () => number): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) cdf[i] = sum += 1 / Math.pow(i + 1, 1.1);
  return () => {
    const x = r() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lm-bench-analytics-'));
  const config = loadConfig({ DATA_DIR: tmp, LOG_LEVEL: 'silent', ANALYTICS_SAMPLE_INTERVAL_S: '0' }, tmp);
  const container = await createContainer(config, { logger: pino({ level: 'silent' }) });
  const { db, dialect } = container.database;
  const bulk = dialect.bulk!;
  const r = rng(14);
  const now = Date.now();

  let t0 = performance.now();
  const adapterIds: string[] = [];
  const names: string[] = [];
  await db.transaction().execute(async () => {
    const stamp = new Date(now - DAYS * DAY_MS).toISOString();
    const rows = [];
    for (let i = 0; i < ADAPTERS; i++) {
      const id = randomUUID();
      const name = `lora_${i.toString().padStart(5, '0')}`;
      adapterIds.push(id);
      names.push(name);
      rows.push({ ...defaults(), id, name, name_key: name, file_path: `/loras/${name}.safetensors`, active: i % 10 === 0 ? 1 : 0, created_at: stamp, updated_at: stamp });
    }
    bulk.insert('adapter', rows);
  });
  const seedAdapters = performance.now() - t0;

  t0 = performance.now();
  const pick = zipf(ADAPTERS, r);
  const jobColumns = ['id', 'kind', 'status', 'payload', 'result', 'error', 'progress', 'progress_detail', 'attempts', 'max_attempts', 'queue_group', 'run_after', 'heartbeat_at', 'created_at', 'started_at', 'finished_at', 'updated_at'];
  const deliveryColumns = ['id', 'kind', 'mode', 'backend', 'prompt', 'prompt_key', 'params', 'image_count', 'rating', 'is_favorite', 'created_at'];
  const adapterColumns = ['job_id', 'position', 'adapter_id', 'name', 'weight'];
  const BATCH = 50_000;
  for (let start = 0; start < JOBS; start += BATCH) {
    await db.transaction().execute(async () => {
      const insertJob = bulk.inserter('job', jobColumns);
      const insertDelivery = bulk.inserter('delivery_job', deliveryColumns);
      const insertAdapter = bulk.inserter('delivery_adapter', adapterColumns);
      for (let i = start; i < Math.min(JOBS, start + BATCH); i++) {
        const id = randomUUID();
        const created = now - r() * DAYS * DAY_MS;
        const x = r();
        const status = x < 0.92 ? 'succeeded' : x < 0.98 ? 'failed' : 'cancelled';
        const startedAt = created + 500 + r() * 5000;
        const finishedAt = startedAt + 4000 + r() * 40_000;
        const error = status === 'failed' ? ERRORS[Math.floor(r() * ERRORS.length)](r) : null;
        const iso = (t: number) => new Date(t).toISOString();
        const loraCount = 1 + Math.floor(r() * 3);
        const loras: string[] = [];
        const used: unknown[][] = [];
        for (let p = 0; p < loraCount; p++) {
          const unknown = r() < 0.02;
          const index = pick();
          const name = unknown ? `missing_${Math.floor(r() * 500)}` : names[index];
          loras.push(`<lora:${name}:0.8>`);
          used.push([id, p, unknown ? null : adapterIds[index], name, 0.8]);
        }
        const prompt = `${loras.join(' ')} a portrait, detailed`;
        insertJob([id, 'generation', status, '{}', status === 'failed' ? JSON.stringify({ status: 'failed', error_message: error }) : null, error, 1, null, 1, 3, null, iso(created), null, iso(created), iso(startedAt), iso(finishedAt), iso(finishedAt)]);
        const rated = status === 'succeeded' && r() < 0.1;
        insertDelivery([id, 'generation', 'sdnext', 'sdnext', prompt, prompt, '{}', status === 'succeeded' ? 1 : 0, rated ? 1 + Math.floor(r() * 5) : null, rated && r() < 0.3 ? 1 : 0, iso(created)]);
        for (const row of used) insertAdapter(row);
      }
    });
  }
  const seedJobs = performance.now() - t0;

  // Resource samples as the sampler leaves them: hourly averages beyond 48 hours, one row a minute within.
  t0 = performance.now();
  await db.transaction().execute(async () => {
    const insert = bulk.inserter('resource_sample', ['process', 'at', 'resolution', 'samples', 'cpu_percent', 'memory_percent', 'gpu_percent', 'gpu_memory_percent', 'queue_depth', 'running']);
    for (const process of ['host-a:100', 'host-b:200']) {
      const hourly = Math.floor(now / 3_600_000) * 3_600_000 - 48 * 3_600_000;
      for (let t = now - DAYS * DAY_MS; t < hourly; t += 3_600_000) {
        insert([process, new Date(Math.floor(t / 3_600_000) * 3_600_000).toISOString(), 3600, 60, 20 + r() * 60, 40 + r() * 30, 50 + r() * 50, 60, r() * 5, 1]);
      }
      for (let t = hourly; t < now; t += 60_000) insert([process, new Date(t).toISOString(), 60, 1, 20 + r() * 60, 40 + r() * 30, 50 + r() * 50, 60, r() * 5, 1]);
    }
  });
  const seedSamples = performance.now() - t0;

  t0 = performance.now();
  await container.services.usageRecorder.rebuild();
  const rebuild = performance.now() - t0;

  const app = await buildApp(container);
  const rows: Array<[string, string, number, number, string]> = [];
  for (const route of ['summary', 'stats', 'errors', 'timeseries', 'insights']) {
    for (const range of ['24h', '7d', '30d', '90d']) {
      const url = `/api/v1/analytics/${route}?time_range=${range}`;
      const m = await measure(ITERATIONS, 5, async () => {
        const res = await app.inject({ method: 'GET', url });
        if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body}`);
      });
      const verdict = range === '30d' ? (m.p50 <= 100 && m.p99 <= 300 ? 'within budget' : 'OVER BUDGET') : '';
      rows.push([`/analytics/${route}`, range, m.p50, m.p99, verdict]);
    }
  }
  for (const url of ['/api/v1/analytics/loras?sort=most_used', '/api/v1/analytics/loras?never_used=true', '/api/v1/adapters?sort=most_used', '/api/v1/adapters?sort=last_used&never_used=false', '/api/v1/adapters?never_used=true']) {
    const m = await measure(ITERATIONS, 5, async () => {
      const res = await app.inject({ method: 'GET', url });
      if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body}`);
    });
    rows.push([url.replace('/api/v1', ''), '', m.p50, m.p99, '']);
  }

  // What the pipeline pays per finished generation: read its delivery row and LoRAs, then one roll-up transaction.
  const usage = new UsageRepository(db);
  const sample = await db.selectFrom('job').select('id').where('status', '=', 'succeeded').limit(500).execute();
  let i = 0;
  const record = await measure(sample.length - 20, 20, async () => {
    const finished = await usage.finishedGeneration(sample[i++ % sample.length].id, 'succeeded', new Date().toISOString(), null);
    if (finished) await usage.apply(foldFinished([finished]));
  });

  const summary = await app.inject({ method: 'GET', url: '/api/v1/analytics/summary?time_range=30d' });
  const kpis = summary.json().kpis;
  console.log(`bench:analytics — ${JOBS.toLocaleString('en')} generation jobs over ${DAYS} days, ${ADAPTERS.toLocaleString('en')} adapters, SQLite, ${ITERATIONS} requests per row`);
  console.log(
    `seeding: adapters ${(seedAdapters / 1000).toFixed(1)} s, jobs ${(seedJobs / 1000).toFixed(1)} s, resource samples ${(seedSamples / 1000).toFixed(1)} s; roll-ups built from the jobs in ${(rebuild / 1000).toFixed(1)} s`,
  );
  console.log(`30d: ${kpis.total_generations} generations, success ${kpis.success_rate} %, ${summary.json().error_breakdown.length} error types\n`);
  console.log(table(['route', 'range', 'p50 ms', 'p99 ms', 'budget (30d: p50 ≤ 100, p99 ≤ 300)'], rows));
  console.log(`\nrecording one finished generation (read + one roll-up transaction): p50 ${record.p50.toFixed(2)} ms, p99 ${record.p99.toFixed(2)} ms`);
  await app.close();
  await container.close();
  fs.rmSync(tmp, { recursive: true, force: true });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
