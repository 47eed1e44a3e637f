/**
 * bench:recommend-memory — what the recommendation index holds, on the bench:recommend library (recommend-library.ts).
 *
 *   --data DIR   seeds the library into a SQLite catalogue in DIR on the first run (adapters and their features),
 *                then on each run loads the index through RecommendationIndex as `serve` does and reports the
 *                index's heap, the process RSS at its peak while loading (sampled every 50 ms) and once loaded.
 *   (no --data)  builds the features in memory and loads them straight into a RecommendEngine (no database).
 *   --snapshot F writes a V8 heap snapshot once loaded (bench/heap-summary.ts sums it by constructor).
 *
 *   node --expose-gc --import tsx packages/server/bench/recommend-memory.ts [--size 100000] [--data DIR] [--snapshot F]
 */
import fs from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { loadConfig } from '../src/config.ts';
import { createContainer } from '../src/container.ts';
import type { NewAdapter } from '../src/library/repositories/adapter.repository.ts';
import { RecommendEngine } from '../src/lib/recommend/engine.ts';
import { extractTerms } from '../src/lib/recommend/features.ts';
import { readStoredFeatures, writeStoredFeatures } from '../src/lib/recommend/stored-features.ts';
import { familyOf } from '../src/lib/recommend/family.ts';
import { generateLibrary } from './recommend-library.ts';

const { values } = parseArgs({ options: { size: { type: 'string', default: '100000' }, data: { type: 'string' }, snapshot: { type: 'string' } } });
const size = Number(values.size);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
/** The JS heap after a full collection. The index's typed arrays are outside it (their bytes: engine.vectorBytes). */
const heap = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};
const report = (engine: RecommendEngine, heapBytes: number) => {
  const total = heapBytes + engine.vectorBytes;
  return `index ${mb(total)} (${Math.round(total / engine.size)} B/adapter: ${mb(heapBytes)} of heap, ${mb(engine.vectorBytes)} of typed arrays)`;
};
const mb = (n: number) => `${(n / 1048576).toFixed(1)} MB`;

/** RSS sampled while `fn` runs: its peak. */
async function peakRss<T>(fn: () => Promise<T> | T): Promise<{ value: T; peak: number }> {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    if (process.env.TRACE_MEMORY) console.log(`rss ${mb(m.rss)} heap total ${mb(m.heapTotal)} used ${mb(m.heapUsed)} array buffers ${mb(m.arrayBuffers)}`);
    peak = Math.max(peak, m.rss);
  }, 50);
  try {
    const value = await fn();
    return { value, peak: Math.max(peak, process.memoryUsage.rss()) };
  } finally {
    clearInterval(timer);
  }
}

async function fromDatabase(dir: string): Promise<RecommendEngine> {
  const dataDir = path.resolve(dir);
  const library = path.join(dataDir, '..', `${path.basename(dataDir)}-library`);
  const fresh = !fs.existsSync(dataDir);
  fs.mkdirSync(library, { recursive: true });
  const config = loadConfig({ DATA_DIR: dataDir, LORA_PATHS: library, LOG_LEVEL: 'silent', API_KEY: '' }, dataDir);
  const container = await createContainer(config, { logger: pino({ level: 'silent' }) });
  const index = container.services.recommendationIndex;
  if (fresh) {
    const now = new Date().toISOString();
    const { loras } = generateLibrary(size);
    for (let i = 0; i < loras.length; i += 5000) {
      const items = loras.slice(i, i + 5000).map((l) => ({
        adapter: { id: l.id, name: l.name, file_path: path.join(library, `${l.id}.safetensors`), triggers: l.triggers, trained_words: l.trained_words, sd_version: l.sd_version, created_at: now, updated_at: now } as NewAdapter,
        sourceTags: l.tags,
      }));
      await container.repositories.adapters.transaction((trx) => trx.insertMany(items));
    }
    await index.catchUp(false);
    console.log(`seeded ${size} adapters and their features into ${dataDir}; run again to measure`);
    await container.close();
    process.exit(0);
  }
  const before = heap();
  const rssBefore = process.memoryUsage.rss();
  const started = performance.now();
  const { value: engine, peak } = await peakRss(() => index.engine());
  const ms = performance.now() - started;
  const after = heap();
  console.log(`${engine.size} adapters from ${dataDir}: ${report(engine, after - before)}, load ${ms.toFixed(0)} ms`);
  const m = process.memoryUsage();
  console.log(`heap total ${mb(m.heapTotal)} used ${mb(m.heapUsed)}`);
  console.log(`rss before ${mb(rssBefore)}, peak while loading ${mb(peak)}, loaded ${mb(process.memoryUsage.rss())} (external ${mb(process.memoryUsage().external)}, array buffers ${mb(process.memoryUsage().arrayBuffers)})`);
  return engine;
}

function inMemory(): RecommendEngine {
  let rows: string[] = generateLibrary(size).loras.map((l) =>
    writeStoredFeatures(
      extractTerms({
        ...{ id: l.id, name: l.name, triggers: l.triggers, trainedWords: l.trained_words, tags: l.tags, baseModel: l.sd_version, baseFamily: familyOf(l.sd_version) },
        ...{ description: null, author: null, activationText: null, tagFrequency: [], networkType: null, rank: null, fileSize: null, archetype: null, rating: null, favorite: false, nsfwLevel: 0 },
      }),
    ),
  );
  const ids = generateLibrary(size).loras.map((l) => l.id);
  const before = heap();
  const engine = new RecommendEngine();
  const started = performance.now();
  for (let i = 0; i < rows.length; i++) {
    const { facts, semantic, artistic } = readStoredFeatures(rows[i]);
    engine.upsertTerms(ids[i], facts, semantic, artistic);
  }
  engine.trim();
  const ms = performance.now() - started;
  const after = heap();
  rows = [];
  console.log(`${size} adapters in memory: ${report(engine, after - before)}, load ${ms.toFixed(0)} ms`);
  return engine;
}

const engine = values.data ? await fromDatabase(values.data) : inMemory();
if (values.snapshot) console.log(`snapshot ${v8.writeHeapSnapshot(values.snapshot)}`);
console.log(`engine holds ${engine.size} adapters`);
process.exit(0);
