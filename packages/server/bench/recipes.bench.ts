/**
 * bench:recipes — importing 1,000 images as recipes into a 10,000-adapter catalogue (DESIGN §10: ≤ 20 s, memory flat).
 *
 *   npm run bench:recipes [-- --adapters 10000 --images 1000 --batch 20]
 *
 * 1. Seeds N adapters with SHA-256, AutoV2 and AutoV3 into the embedded SQLite database (the default install).
 * 2. Writes the images in memory: 256×256 noise PNGs (~200 KB, so the container is parsed like a real image) carrying
 *    A1111 infotext with four LoRAs each: two named by another alias but found by AutoV3 hash, one by AutoV2 hash,
 *    one by file name only, and every tenth image one LoRA the catalogue lacks.
 * 3. Imports them through the HTTP route (`POST /api/v1/recipes/import`, multipart, `batch` images a request), as the
 *    recipes page uploads them, and reports the wall time, images/s, and RSS / heap after each quarter.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import sharp from 'sharp';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createContainer } from '../src/container.ts';
import { formatInfotext } from '../src/lib/infotext.ts';
import { withTextChunk } from '../src/lib/png.ts';
import { multipart } from '../test/support/recipe-images.ts';
import { table } from './support.ts';

const { values } = parseArgs({
  options: {
    adapters: { type: 'string', default: '10000' },
    images: { type: 'string', default: '1000' },
    batch: { type: 'string', default: '20' },
  },
});
const ADAPTERS = Number(values.adapters);
const IMAGES = Number(values.images);
const BATCH = Number(values.batch);
const BUDGET_S = 20;

const hex = (n: number) => randomBytes(Math.ceil(n / 2)).toString('hex').slice(0, n);
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lm-bench-recipes-'));
  const library = path.join(tmp, 'library');
  fs.mkdirSync(library, { recursive: true });
  const config = loadConfig({ DATA_DIR: tmp, LORA_PATHS: library, LOG_LEVEL: 'silent', API_KEY: '' }, tmp);
  const container = await createContainer(config, { logger: pino({ level: 'silent' }) });

  process.stdout.write(`seeding ${ADAPTERS.toLocaleString()} hashed adapters… `);
  let started = Date.now();
  const catalogue: Array<{ name: string; stem: string; sha256: string; autov3: string }> = [];
  for (let done = 0; done < ADAPTERS; done += 1000) {
    const items = [];
    for (let i = done; i < Math.min(ADAPTERS, done + 1000); i++) {
      const sha256 = hex(64);
      const entry = { name: `style ${i}`, stem: `style_${i}_v1`, sha256, autov3: hex(12) };
      catalogue.push(entry);
      const now = new Date().toISOString();
      items.push({
        adapter: { id: randomUUID(), name: entry.name, file_path: path.join(library, `${entry.stem}.safetensors`), sha256, autov2: sha256.slice(0, 10), autov3: entry.autov3, created_at: now, updated_at: now },
        sourceTags: [],
      });
    }
    await container.repositories.adapters.insertMany(items);
  }
  process.stdout.write(`${((Date.now() - started) / 1000).toFixed(1)} s\n`);

  process.stdout.write(`writing ${IMAGES.toLocaleString()} PNGs with infotext… `);
  started = Date.now();
  const bases = await Promise.all(
    Array.from({ length: 8 }, () => sharp(randomBytes(256 * 256 * 3), { raw: { width: 256, height: 256, channels: 3 } }).png().toBuffer()),
  );
  const pickOne = () => catalogue[Math.floor(Math.random() * catalogue.length)];
  const images: Buffer[] = [];
  for (let i = 0; i < IMAGES; i++) {
    const [a, b, c, d] = [pickOne(), pickOne(), pickOne(), pickOne()];
    const loras: Array<{ alias: string; weight: number; hash: string | null }> = [
      { alias: `alias${i}a`, weight: 0.8, hash: a.autov3 },
      { alias: `alias${i}b`, weight: 0.5, hash: b.autov3 },
      { alias: `alias${i}c`, weight: 0.6, hash: c.sha256.slice(0, 10) },
      { alias: d.stem, weight: 0.3, hash: null },
      ...(i % 10 === 0 ? [{ alias: `notInLibrary${i}`, weight: 1, hash: hex(12) }] : []),
    ];
    const text = formatInfotext(`image ${i}, ${loras.map((l) => `<lora:${l.alias}:${l.weight}>`).join(' ')}`, 'lowres', [
      ['Steps', 20 + (i % 10)],
      ['Sampler', 'DPM++ 2M'],
      ['CFG scale', 7],
      ['Seed', i],
      ['Size', '512x768'],
      ['Model hash', hex(10)],
      ['Model', 'bench-model'],
      ['Lora hashes', loras.filter((l) => l.hash).map((l) => `${l.alias}: ${l.hash}`).join(', ')],
    ]);
    images.push(withTextChunk(bases[i % bases.length], 'parameters', text));
  }
  const totalBytes = images.reduce((n, b) => n + b.length, 0);
  process.stdout.write(`${((Date.now() - started) / 1000).toFixed(1)} s, ${mib(totalBytes)} MiB\n`);

  const app = await buildApp(container);
  await app.ready();
  const rows: Array<Array<string | number>> = [];
  const memory = (label: string) => {
    const m = process.memoryUsage();
    rows.push([label, mib(m.rss), mib(m.heapUsed), mib(m.external + m.arrayBuffers)]);
  };
  memory('before import');
  let created = 0;
  let matched = 0;
  let missing = 0;
  started = performance.now();
  for (let i = 0; i < IMAGES; i += BATCH) {
    const files = images.slice(i, i + BATCH).map((data, j) => ({ name: `img_${i + j}.png`, data }));
    const res = await app.inject({ method: 'POST', url: '/api/v1/recipes/import', ...multipart(files) });
    if (res.statusCode !== 201) throw new Error(`import answered ${res.statusCode}: ${res.body.slice(0, 300)}`);
    const body = res.json() as { created: Array<{ loras: Array<{ missing: boolean }> }> };
    created += body.created.length;
    for (const r of body.created) {
      for (const l of r.loras) {
        if (l.missing) missing++;
        else matched++;
      }
    }
    const done = i + files.length;
    const quarter = IMAGES / 4;
    if (Math.floor(done / quarter) > Math.floor(i / quarter)) memory(`after ${done}`);
  }
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(`\n${table(['point', 'RSS MiB', 'heap MiB', 'external MiB'], rows)}\n\n`);
  process.stdout.write(
    `imported ${created} recipes (${matched} LoRAs matched, ${missing} missing) in ${seconds.toFixed(2)} s = ${(created / seconds).toFixed(0)} images/s; ` +
      `budget ≤ ${BUDGET_S} s: ${seconds <= BUDGET_S ? 'met' : 'MISSED'}\n`,
  );
  await app.close();
  await container.close();
  fs.rmSync(tmp, { recursive: true, force: true });
}

await main();
