/**
 * bench:recommend — recommendation quality and speed on a generated library with known groups of related LoRAs
 * (recommend-library.ts). Quality: hit@10 and nDCG@10 for similar, for-prompt and by-trigger, ours next to random,
 * most-used and the original's hashed-token method (recommend-baselines.ts), on the same queries. Speed, through
 * the service on a SQLite file (what a route runs, session write included): p50/p99 at each size, time to update
 * one adapter's features (read, extract, store, apply), first computation of all features, memory.
 * Budgets (DESIGN §10): nDCG@10 ≥ original + 0.3 on every kind; at 100,000 adapters similar and by-trigger
 * p50 ≤ 20 ms, for-prompt p50 ≤ 50 ms; one adapter updated ≤ 5 ms.
 *
 *   npm run bench:recommend [-- --sizes 10000,100000 --queries 300 --iterations 200]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { loadConfig } from '../src/config.ts';
import { createContainer } from '../src/container.ts';
import type { NewAdapter } from '../src/library/repositories/adapter.repository.ts';
import { mostUsedMethod, OriginalHashedMethod, randomMethod } from './recommend-baselines.ts';
import { generateLibrary, quality, type LabelledQuery } from './recommend-library.ts';
import { measure, table } from './support.ts';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10000,100000' },
    queries: { type: 'string', default: '300' },
    iterations: { type: 'string', default: '200' },
  },
});
const SIZES = values.sizes.split(',').map(Number);
const QUERIES = Number(values.queries);
const ITERATIONS = Number(values.iterations);
const mb = (n: number) => `${Math.round(n / 1048576)} MB`;

type Kind = LabelledQuery['kind'];
const KINDS: Kind[] = ['similar', 'for_prompt', 'by_trigger'];

async function run(size: number, measureQuality: boolean) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lm-bench-recommend-'));
  const library = path.join(tmp, 'library');
  fs.mkdirSync(library, { recursive: true });
  const config = loadConfig({ DATA_DIR: tmp, LORA_PATHS: library, LOG_LEVEL: 'silent', API_KEY: '' }, tmp);
  const container = await createContainer(config, { logger: pino({ level: 'silent' }) });
  const { recommendations, recommendationIndex } = container.services;
  const { loras, queries } = generateLibrary(size);
  const now = new Date().toISOString();
  process.stdout.write(`\n${size.toLocaleString()} adapters: seeding… `);
  for (let i = 0; i < loras.length; i += 5000) {
    const items = loras.slice(i, i + 5000).map((l) => ({
      adapter: { id: l.id, name: l.name, file_path: path.join(library, `${l.id}.safetensors`), triggers: l.triggers, trained_words: l.trained_words, sd_version: l.sd_version, created_at: now, updated_at: now } as NewAdapter,
      sourceTags: l.tags,
    }));
    await container.repositories.adapters.transaction((trx) => trx.insertMany(items));
  }
  process.stdout.write('features… ');
  let started = performance.now();
  await recommendationIndex.catchUp(false);
  const featuresMs = performance.now() - started;
  global.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  started = performance.now();
  await recommendations.byTrigger({ trigger_query: 'warm up' });
  const loadMs = performance.now() - started;
  global.gc?.();
  // The index's own share of the heap and its typed arrays (outside the heap: what a `serve` process holds for
  // recommendations), and the bench's whole RSS.
  const memory = { rss: process.memoryUsage().rss, heap: process.memoryUsage().heapUsed - heapBefore + recommendationIndex.vectorBytes };
  console.log('done');

  const labelled = queries(QUERIES);
  const ours = async (q: LabelledQuery): Promise<string[]> => {
    const r =
      q.kind === 'similar'
        ? await recommendations.similar(q.input, { limit: 10 })
        : q.kind === 'for_prompt'
          ? await recommendations.forPrompt({ prompt: q.input, limit: 10 })
          : await recommendations.byTrigger({ trigger_query: q.input, limit: 10 });
    return r.recommendations.map((i) => i.lora_id);
  };

  const qualityRows: Array<Array<string | number>> = [];
  const ndcg = new Map<string, number>();
  if (measureQuality) {
    const original = new OriginalHashedMethod(loras);
    const random = randomMethod(loras, 5);
    const mostUsed = mostUsedMethod(loras);
    const methods: Array<[string, (q: LabelledQuery) => Promise<string[]> | string[]]> = [
      ['ours', ours],
      ['original (hashed tokens)', (q) => (q.kind === 'similar' ? original.similar(q.input, 10) : q.kind === 'for_prompt' ? original.forPrompt(q.input, 10) : original.byTrigger(q.input, 10))],
      ['most used', (q) => mostUsed(q.kind === 'similar' ? q.input : '', 10)],
      ['random', (q) => random(q.kind === 'similar' ? q.input : '', 10)],
    ];
    for (const [name, method] of methods) {
      for (const kind of KINDS) {
        const of = labelled.filter((q) => q.kind === kind);
        let hit = 0;
        let sum = 0;
        for (const q of of) {
          const m = quality(await method(q), q.relevant);
          hit += m.hit;
          sum += m.ndcg;
        }
        ndcg.set(`${name}|${kind}`, sum / of.length);
        qualityRows.push([name, kind, of.length, hit / of.length, sum / of.length]);
      }
    }
  }

  const latency: Array<Array<string | number>> = [];
  const p50 = new Map<Kind, number>();
  for (const kind of KINDS) {
    const of = labelled.filter((q) => q.kind === kind);
    let i = 0;
    const m = await measure(Math.min(ITERATIONS, of.length * 3), 10, () => ours(of[i++ % of.length]));
    p50.set(kind, m.p50);
    latency.push([kind, m.p50, m.p99, m.mean]);
  }
  // One adapter changed (a PATCH of its triggers): its features read, extracted, stored and applied here.
  const db = container.database.db;
  let n = 0;
  const update = await measure(ITERATIONS, 10, async () => {
    const l = loras[(n * 7919) % loras.length];
    await db.updateTable('adapter').set({ triggers: JSON.stringify([...l.triggers, `edit ${n++}`]), updated_at: new Date().toISOString() }).where('id', '=', l.id).execute();
    await recommendationIndex.refresh([l.id]);
  });
  const updateOnly = await measure(ITERATIONS, 10, async () => recommendationIndex.refresh([loras[(n++ * 7919) % loras.length].id]));
  latency.push(['update one adapter (UPDATE + refresh)', update.p50, update.p99, update.mean]);
  latency.push(['refresh one adapter (features only)', updateOnly.p50, updateOnly.p99, updateOnly.mean]);
  await container.close();
  fs.rmSync(tmp, { recursive: true, force: true });
  return { size, qualityRows, ndcg, latency, p50, update: updateOnly.p50, featuresMs, loadMs, memory };
}

async function main() {
  const results = [];
  for (const [i, size] of SIZES.entries()) results.push(await run(size, i === 0));
  const budgets: Array<[string, boolean]> = [];
  const first = results[0];
  console.log(`\nQuality at ${first.size.toLocaleString()} adapters (${QUERIES} groups drawn; queries per kind below), k = 10:\n`);
  console.log(table(['method', 'kind', 'queries', 'hit@10', 'nDCG@10'], first.qualityRows));
  for (const kind of KINDS) {
    const ours = first.ndcg.get(`ours|${kind}`)!;
    const original = first.ndcg.get(`original (hashed tokens)|${kind}`)!;
    budgets.push([`${kind}: nDCG@10 ${ours.toFixed(3)} ≥ original ${original.toFixed(3)} + 0.3`, ours >= original + 0.3]);
  }
  for (const r of results) {
    console.log(`\nLatency at ${r.size.toLocaleString()} adapters (ms, through RecommendationService on SQLite):\n`);
    console.log(table(['call', 'p50', 'p99', 'mean'], r.latency));
    console.log(`first computation of all features ${(r.featuresMs / 1000).toFixed(1)} s; index load ${r.loadMs.toFixed(0)} ms; RSS ${mb(r.memory.rss)}, index (heap + typed arrays) ≈ ${mb(r.memory.heap)}`);
  }
  const last = results[results.length - 1];
  budgets.push([`similar p50 ${last.p50.get('similar')!.toFixed(2)} ms ≤ 20 at ${last.size}`, last.p50.get('similar')! <= 20]);
  budgets.push([`by-trigger p50 ${last.p50.get('by_trigger')!.toFixed(2)} ms ≤ 20 at ${last.size}`, last.p50.get('by_trigger')! <= 20]);
  budgets.push([`for-prompt p50 ${last.p50.get('for_prompt')!.toFixed(2)} ms ≤ 50 at ${last.size}`, last.p50.get('for_prompt')! <= 50]);
  budgets.push([`one adapter updated p50 ${last.update.toFixed(2)} ms ≤ 5 at ${last.size}`, last.update <= 5]);
  console.log('\nBudgets:');
  for (const [label, ok] of budgets) console.log(`  ${ok ? 'PASS' : 'FAIL'}  ${label}`);
}

await main();
