import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateLibrary } from '../../scripts/fixtures/library-generator.ts';
import { walkLibrary } from '../lib/library-walk.ts';
import type { AnalyseRequest } from '../lib/lora-file.ts';
import { InlineAnalyser, WorkerAnalyser } from './analyse-pool.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'analyse-pool-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

let generated: Promise<AnalyseRequest[]> | undefined;
const requests = () => (generated ??= generate());

async function generate(): Promise<AnalyseRequest[]> {
  await generateLibrary({ out: dir, count: 40, seed: 11, maxRank: 2, brokenShare: 0.2 });
  const { files } = await walkLibrary([dir]);
  return files.map((f) => ({ path: f.path, sidecars: f.sidecars, wantEmbeddedThumbnail: f.preview === null }));
}

describe('reader threads', () => {
  it('start from the bundled reader, or through tsx when it cannot be bundled, and read what the main thread reads', async () => {
    const batch = await requests();
    const expected = await new InlineAnalyser().analyse(batch);
    expect(expected.some((r) => r.ok)).toBe(true);
    expect(expected.some((r) => !r.ok)).toBe(true); // the generator's broken files

    for (const [source, loadedFrom] of [
      [undefined, 'bundle'],
      [async () => null, 'tsx'],
      [async () => Promise.reject(new Error('no esbuild')), 'tsx'],
    ] as const) {
      const pool = new WorkerAnalyser(2, source);
      expect(pool.loadedFrom).toBeNull(); // nothing starts before the first request
      try {
        const halves = await Promise.all([pool.analyse(batch.slice(0, 20)), pool.analyse(batch.slice(20))]);
        expect(halves.flat()).toEqual(expected);
        expect(pool.loadedFrom).toBe(loadedFrom);
      } finally {
        await pool.close();
      }
    }
  });

  it('answers every request it still holds when it is closed', async () => {
    const batch = await requests();
    const pool = new WorkerAnalyser(1);
    const pending = pool.analyse(batch);
    await pool.close();
    const results = await pending;
    expect(results).toHaveLength(batch.length);
    expect(results.every((r) => !r.ok && r.reason === 'scanner stopped')).toBe(true);
  });

  // A stand-in reader thread (test double): answers each file with the time it read it, and dies on the file `crash`.
  const standIn = `
    const { parentPort } = require('node:worker_threads');
    parentPort.on('message', ({ id, requests }) => {
      if (requests.some((r) => r.path === 'crash')) throw new Error('boom');
      parentPort.postMessage({ id, results: requests.map((r) => ({ ok: false, code: r.path, reason: String(Date.now()) })) });
    });
    parentPort.postMessage({ ready: true });
  `;
  const files = (...paths: string[]) => paths.map((p) => ({ path: p, sidecars: [] }));

  it('keeps reading while the main thread is busy: each thread has batches queued ahead', async () => {
    const pool = new WorkerAnalyser(1, async () => standIn);
    try {
      await pool.analyse(files('warm-up'));
      const batches = Array.from({ length: 4 }, (_, i) => pool.analyse(files(`b${i}`)));
      await new Promise((resolve) => setImmediate(resolve)); // the pool hands the batches out
      // Then the main thread is busy for half a second (a database write) and takes no answers in that time.
      const busyUntil = Date.now() + 500;
      while (Date.now() < busyUntil);
      const readAt = (await Promise.all(batches)).map(([r]) => Number(!r.ok && r.reason));
      expect(readAt.every((t) => t < busyUntil)).toBe(true);
    } finally {
      await pool.close();
    }
  });

  it('fails only the batch in hand when a thread dies; the batches queued behind it are read by its successor', async () => {
    const pool = new WorkerAnalyser(1, async () => standIn);
    try {
      await pool.analyse(files('first'));
      const [crashed, after, last] = await Promise.all([pool.analyse(files('crash')), pool.analyse(files('second')), pool.analyse(files('third'))]);
      expect(crashed).toEqual([{ ok: false, code: 'internal_error', reason: 'header reader crashed: boom' }]);
      expect([after[0], last[0]].map((r) => !r.ok && r.code)).toEqual(['second', 'third']);
    } finally {
      await pool.close();
    }
  });
});
