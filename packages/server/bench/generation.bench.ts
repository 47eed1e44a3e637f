/**
 * bench:generation — the generation pipeline's own cost, without a GPU:
 *  1. throughput of generations through the embedded queue against the A1111-compatible test server answering at
 *     once (1 step, 64×64 PNG): job row + delivery row, txt2img call, PNG infotext check, image file, thumbnail,
 *     image rows, result — one job at a time, as on a real server;
 *  2. `GET /api/v1/generation/results` over a seeded history (default 10,000 results) for the queries the history
 *     page makes.
 *
 *   npm run bench:generation [-- --jobs 100 --results 10000 --iterations 100]
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createContainer } from '../src/container.ts';
import { startA1111TestServer } from '../test/support/a1111-test-server.ts';
import { measure, percentile, table } from './support.ts';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '100' },
    results: { type: 'string', default: '10000' },
    iterations: { type: 'string', default: '100' },
  },
});
const JOBS = Number(values.jobs);
const RESULTS = Number(values.results);
const ITERATIONS = Number(values.iterations);
const WORDS = ['castle', 'forest', 'neon', 'city', 'portrait', 'cat', 'dragon', 'ink', 'watercolor', 'sunset', 'robot', 'ocean', 'snow', 'desert', 'night'];

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lm-bench-generation-'));
  const sd = await startA1111TestServer({ stepDelayMs: 0 });
  const config = loadConfig({ DATA_DIR: tmp, LOG_LEVEL: 'silent', SDNEXT_BASE_URL: sd.url, SDNEXT_POLL_INTERVAL: '1' }, tmp);
  const container = await createContainer(config, { logger: pino({ level: 'silent' }) });
  await container.queue.start();
  const app = await buildApp(container);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/api/v1`;

  // 1. Pipeline throughput.
  const finishedAt = new Map<string, number>();
  container.events.subscribe('jobs', (e) => {
    const event = e as { job: { id: string }; change: string };
    if (event.change === 'succeeded' || event.change === 'failed') finishedAt.set(event.job.id, performance.now());
  });
  const started = performance.now();
  const queuedAt = new Map<string, number>();
  for (let i = 0; i < JOBS; i++) {
    const t = performance.now();
    const { id } = await container.services.generation.enqueue(
      { prompt: `bench ${i}`, steps: 1, width: 64, height: 64, seed: i },
      { backend: 'sdnext', mode: 'deferred', saveImages: false, returnFormat: 'url' },
    );
    queuedAt.set(id, t);
  }
  await container.queue.drain();
  const elapsed = (performance.now() - started) / 1000;
  const failed = (await container.repositories.jobs.countByStatus()).failed ?? 0;
  const latencies = [...queuedAt].map(([id, t]) => (finishedAt.get(id) ?? Number.NaN) - t).sort((a, b) => a - b);
  console.log(`\n1. ${JOBS} generations through the embedded queue (one at a time on one server, test server answering at once)`);
  console.log(
    table(
      ['jobs/s', 'ms per job (wall / jobs)', 'failed'],
      [[JOBS / elapsed, (elapsed * 1000) / JOBS, String(failed)]],
    ),
  );
  console.log(`queue-to-done latency of the last job: ${percentile(latencies, 100).toFixed(0)} ms (jobs wait their turn behind each other)`);

  // 2. History listing over a seeded history.
  const db = container.database.db;
  const start = Date.parse('2025-01-01T00:00:00Z');
  process.stdout.write(`\nseeding ${RESULTS.toLocaleString()} results… `);
  for (let done = 0; done < RESULTS; done += 1000) {
    const rows = Array.from({ length: Math.min(1000, RESULTS - done) }, (_, k) => {
      const i = done + k;
      const id = randomUUID();
      const at = new Date(start + i * 60_000).toISOString();
      const prompt = `${WORDS[i % WORDS.length]} ${WORDS[(i * 7) % WORDS.length]} ${WORDS[(i * 11) % WORDS.length]} number ${i}`;
      return { id, at, prompt, i };
    });
    await db.transaction().execute(async (trx) => {
      await trx
        .insertInto('job')
        .values(rows.map((r) => ({ id: r.id, kind: 'generation', status: r.i % 10 === 0 ? 'failed' : 'succeeded', payload: '{}', result: null, error: null, progress: 1, progress_detail: null, attempts: 1, max_attempts: 3, queue_group: null, run_after: r.at, heartbeat_at: null, created_at: r.at, started_at: r.at, finished_at: r.at, updated_at: r.at })))
        .execute();
      await trx
        .insertInto('delivery_job')
        .values(rows.map((r) => ({ id: r.id, kind: 'generation', mode: 'sdnext', backend: 'sdnext', prompt: r.prompt, prompt_key: r.prompt.toLowerCase(), negative_prompt: null, params: '{"generation_params":{}}', width: r.i % 3 === 0 ? 768 : 512, height: 512, steps: 20, cfg_scale: 7, sampler_name: 'Euler', seed: r.i, image_count: 1, generation_info: '{}', rating: r.i % 6 === 0 ? null : r.i % 6, is_favorite: r.i % 9 === 0 ? 1 : 0, rating_updated_at: null, favorite_updated_at: null, created_at: r.at })))
        .execute();
      await trx
        .insertInto('generation_image')
        .values(rows.map((r) => ({ job_id: r.id, idx: 0, file: `${r.id}/0.png`, thumbnail: `${r.id}/thumbs/0.webp`, content_type: 'image/png', width: 512, height: 512, bytes: 400_000, seed: r.i, created_at: r.at })))
        .execute();
    });
  }
  console.log('done');

  const queries = [
    ['newest, plain array (default)', '/generation/results?limit=20'],
    ['page 50 of 24, envelope', '/generation/results?page=50&page_size=24&envelope=true'],
    ['prompt search "dragon"', '/generation/results?search=dragon&page_size=24&envelope=true'],
    ['min_rating=4, sort=rating', '/generation/results?min_rating=4&sort=rating&page_size=24&envelope=true'],
    ['768x512, favourites, oldest', '/generation/results?width=768&height=512&favorites_only=true&sort=oldest&page_size=24&envelope=true'],
    ['date range (one week)', '/generation/results?start_date=2025-01-02&end_date=2025-01-08&page_size=24&envelope=true'],
  ];
  const rows: Array<Array<string | number>> = [];
  for (const [name, url] of queries) {
    const stats = await measure(ITERATIONS, 10, async () => {
      const res = await fetch(`${base}${url}`);
      if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
      await res.arrayBuffer();
    });
    rows.push([name, stats.p50, stats.p99]);
  }
  console.log(`\n2. GET /api/v1/generation/results over ${RESULTS.toLocaleString()} results (${ITERATIONS} runs each, HTTP keep-alive)`);
  console.log(table(['query', 'p50 ms', 'p99 ms'], rows));

  await app.close();
  await container.close();
  await sd.close();
  fs.rmSync(tmp, { recursive: true, force: true });
}

await main();
