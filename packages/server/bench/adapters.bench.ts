/**
 * bench:adapters — GET /api/v1/adapters over 100,000 adapters: p50/p99 over real HTTP for the list queries the UI
 * makes, next to the same queries as raw SQL on the same database. Budget (DESIGN §10): p50 ≤ 20 ms, p99 ≤ 60 ms.
 *
 *   npm run bench:adapters [-- --count 100000 --iterations 200]
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createContainer } from '../src/container.ts';
import { measure, table } from './support.ts';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '100000' },
    iterations: { type: 'string', default: '200' },
    // Keep the seeded database in this folder and reuse it on the next run (seeding 100k takes about a minute).
    keep: { type: 'string' },
  },
});
const COUNT = Number(values.count);
const ITERATIONS = Number(values.iterations);

// Real libraries have varied names: a few style words people search for, among many distinct ones.
const STYLE_WORDS = ['ink', 'neon', 'watercolor', 'cyber', 'retro', 'anime', 'film', 'noir', 'pastel', 'gothic', 'steam', 'pixel', 'oil', 'chalk', 'glitch', 'vapor', 'paper', 'clay', 'mecha', 'forest'];
const SYLLABLES = ['ka', 'ri', 'mo', 'ne', 'su', 'to', 'li', 'va', 'zen', 'qu', 'dor', 'fel', 'gri', 'hal', 'jun', 'ple', 'vor', 'wex', 'yon', 'bre'];
const WORDS = [...STYLE_WORDS, ...SYLLABLES.flatMap((a) => SYLLABLES.flatMap((b) => SYLLABLES.slice(0, 4).map((c) => `${a}${b}${c}`)))];
const TAGS = Array.from({ length: 300 }, (_, i) => (i < 20 ? ['style', 'character', 'concept', 'anime', 'realistic', 'clothing', 'background', 'pose', 'photography', 'fantasy', 'sci-fi', 'portrait', 'landscape', 'celebrity', 'vehicle', 'architecture', 'animal', 'food', 'horror', 'cute'][i] : `tag${i}`));
const BASES = ['SD 1.5', 'SDXL 1.0', 'Pony', 'Flux.1 D', 'Illustrious'];

function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

async function main() {
  const tmp = values.keep ? path.resolve(values.keep) : fs.mkdtempSync(path.join(os.tmpdir(), 'lm-bench-adapters-'));
  const library = path.join(tmp, 'library');
  fs.mkdirSync(library, { recursive: true });
  const config = loadConfig({ DATA_DIR: tmp, LORA_PATHS: library, LOG_LEVEL: 'silent', API_KEY: '' }, tmp);
  const container = await createContainer(config, { logger: pino({ level: 'silent' }) });
  const repo = container.repositories.adapters;
  const random = rng(42);
  // Tags and base models are skewed (a few very common), words uniform.
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * random() * list.length)];
  const any = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)];

  const existing = await repo.count();
  process.stdout.write(`seeding ${(COUNT - existing).toLocaleString()} adapters… `);
  const started = Date.now();
  const base = Date.parse('2025-01-01T00:00:00Z');
  for (let done = existing; done < COUNT; done += 5000) {
    await repo.transaction(async (trx) => {
      for (let i = done; i < Math.min(COUNT, done + 5000); i++) {
        const name = `${any(WORDS)} ${any(WORDS)} ${i}`;
        const tags = [...new Set(Array.from({ length: 1 + Math.floor(random() * 5) }, () => pick(TAGS)))];
        const created = new Date(base + Math.floor(random() * 300 * 86_400_000)).toISOString();
        await trx.insert(
          {
            id: randomUUID(),
            name,
            file_path: path.join(library, `${name}.safetensors`),
            description: `A ${any(WORDS)} LoRA trained on ${any(WORDS)} images`,
            trained_words: [`${any(WORDS)}_${i % 997}`],
            primary_file_size_kb: Math.floor(random() * 800_000),
            base_model: pick(BASES),
            active: random() < 0.01,
            rating: random() < 0.3 ? Math.floor(random() * 6) : null,
            created_at: created,
            updated_at: created,
          },
          tags,
        );
      }
    });
  }
  process.stdout.write(`${((Date.now() - started) / 1000).toFixed(1)} s\n`);

  const app = await buildApp(container);
  await app.listen({ host: '127.0.0.1', port: 0 });
  // Slow rows can take longer than the default keep-alive; a reset socket would end the run.
  app.server.keepAliveTimeout = 600_000;
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  // The raw-SQL side reads the same file through its own connection: the floor any HTTP layer sits on.
  const raw = new Database(config.databaseUrl.replace(/^sqlite:/, ''), { readonly: true });
  const fts = (s: string) => `"${s}"`;
  const search = `id in (select adapter_id from adapter_search where adapter_search match ?)`;
  const anyTags = (keys: string[]) => `id in (select adapter_id from adapter_tag where tag_key in (${keys.map(() => '?').join(',')}) and origin != 'removed')`;
  const allTags = (keys: string[]) =>
    `id in (select adapter_id from adapter_tag where tag_key in (${keys.map(() => '?').join(',')}) and origin != 'removed' group by adapter_id having count(distinct tag_key) = ${keys.length})`;

  const queries: Array<{ label: string; qs: string; where: string; params: unknown[]; order: string; offset: number }> = [
    { label: 'plain page (name)', qs: 'page=1&per_page=24', where: '1=1', params: [], order: 'name_key asc, id asc', offset: 0 },
    { label: 'search "noir"', qs: 'search=noir&per_page=24', where: search, params: [fts('noir')], order: 'name_key asc, id asc', offset: 0 },
    { label: 'broad search "a" (info)', qs: 'search=a&per_page=24', where: `+id in (select adapter_id from adapter_search where instr(text, 'a') > 0)`, params: [], order: 'name_key asc, id asc', offset: 0 },
    { label: 'tags any style,portrait', qs: 'tags=style,portrait&per_page=24', where: anyTags(['style', 'portrait']), params: ['style', 'portrait'], order: 'name_key asc, id asc', offset: 0 },
    { label: 'tags all style,anime', qs: 'tags=style,anime&tag_mode=all&per_page=24', where: allTags(['style', 'anime']), params: ['style', 'anime'], order: 'name_key asc, id asc', offset: 0 },
    { label: 'size desc, page 3000', qs: 'sort=file_size&order=desc&page=3000&per_page=24', where: '1=1', params: [], order: 'primary_file_size_kb desc, name_key desc, id desc', offset: 2999 * 24 },
    {
      label: 'search+tags+sort+page',
      qs: 'search=ink&tags=style,character&sort=created_at&page=3&per_page=24',
      where: `${search} and ${anyTags(['style', 'character'])}`,
      params: [fts('ink'), 'style', 'character'],
      order: 'created_at desc, name_key desc, id desc',
      offset: 48,
    },
  ];

  const rows: Array<Array<string | number>> = [];
  let worstP50 = 0;
  let worstP99 = 0;
  for (const q of queries) {
    const url = `http://127.0.0.1:${port}/api/v1/adapters?${q.qs}`;
    const check = (await (await fetch(url)).json()) as { filtered: number; items: unknown[] };
    const http = await measure(ITERATIONS, 20, async () => {
      const res = await fetch(url);
      await res.arrayBuffer();
    });
    const total = raw.prepare('select count(*) as n from adapter');
    const count = raw.prepare(`select count(*) as n from adapter where ${q.where}`);
    const pageIds = raw.prepare(`select id from adapter where ${q.where} order by ${q.order} limit 24 offset ${q.offset}`).pluck();
    const rowsById = raw.prepare(`select * from adapter where id in (select value from json_each(?))`);
    const tags = raw.prepare(`select adapter_id, tag from adapter_tag where adapter_id in (select value from json_each(?)) and origin != 'removed'`);
    const sql = await measure(ITERATIONS, 20, () => {
      total.get();
      count.get(...q.params);
      const ids = JSON.stringify(pageIds.all(...q.params));
      rowsById.all(ids);
      tags.all(ids);
    });
    // The one-letter search is shown for information: it matches most of the library, which no user pages through.
    if (!q.label.endsWith('(info)')) {
      worstP50 = Math.max(worstP50, http.p50);
      worstP99 = Math.max(worstP99, http.p99);
    }
    rows.push([q.label, String(check.filtered), http.p50, http.p99, sql.p50, sql.p99, http.p50 / sql.p50]);
    process.stdout.write(`  ${q.label}: http p50 ${http.p50.toFixed(2)} ms, sql p50 ${sql.p50.toFixed(2)} ms\n`);
  }
  process.stdout.write(`\nGET /api/v1/adapters over ${COUNT.toLocaleString()} adapters, ${ITERATIONS} requests each (ms)\n`);
  process.stdout.write(`${table(['query', 'matches', 'http p50', 'http p99', 'sql p50', 'sql p99', 'http/sql p50'], rows)}\n`);
  const ok = worstP50 <= 20 && worstP99 <= 60;
  process.stdout.write(`\nworst p50 ${worstP50.toFixed(2)} ms (budget 20), worst p99 ${worstP99.toFixed(2)} ms (budget 60): ${ok ? 'within budget' : 'OVER BUDGET'}\n`);
  raw.close();
  await app.close();
  await container.close();
  if (!values.keep) fs.rmSync(tmp, { recursive: true, force: true });
}

await main();
