import fs from 'node:fs';
import path from 'node:path';
import type { Adapter, Job, ScanSummary } from '@lora-manager/contract';
import { expect } from 'vitest';
import { layersFor, tensorsFor } from '../../scripts/fixtures/lora-layouts.ts';
import { kohyaMetadata } from '../../scripts/fixtures/kohya-metadata.ts';
import { rng } from '../../scripts/fixtures/library-generator.ts';
import { writeSafetensors, type TensorSpec } from '../../scripts/fixtures/safetensors-writer.ts';
import type { TestApp } from './test-app.ts';

/** A small real SD 1.5 LoRA (rank 1, so a sparse 600 KB file) with kohya metadata; `data: 'fill'` writes real bytes. */
export function writeLora(
  file: string,
  options: { trigger?: string; metadata?: Record<string, string> | null; extraMetadata?: Record<string, string>; data?: 'sparse' | 'fill'; seed?: number; tensors?: TensorSpec[] } = {},
): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tensors = options.tensors ?? tensorsFor(layersFor('sd1', { textEncoder: false, conv: false }), 'LoRA', 1);
  const metadata =
    options.metadata === undefined
      ? {
          ...kohyaMetadata({
            family: 'sd1',
            kind: 'LoRA',
            rank: 1,
            alpha: 1,
            outputName: path.basename(file, '.safetensors'),
            trigger: options.trigger ?? 'zxc',
            tags: ['1girl', 'smile', 'hat'],
            images: 10,
            repeats: 5,
            random: rng(options.seed ?? 7),
            modelspec: true,
          }),
          ...options.extraMetadata,
        }
      : options.metadata;
  writeSafetensors(file, tensors, metadata, { data: options.data ?? 'sparse', seed: options.seed });
  return file;
}

export async function api<T = any>(t: TestApp, method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: unknown, status?: number): Promise<T> {
  const res = await t.app.inject({ method, url: `/api/v1${url}`, payload: payload as object | undefined });
  if (status !== undefined) expect(res.statusCode, `${method} ${url}: ${res.body}`).toBe(status);
  return (res.body ? res.json() : undefined) as T;
}

/** Queue a scan through the API and wait until it and the jobs it queued (hashing) are done. */
export async function scan(t: TestApp, body: Record<string, unknown> = {}): Promise<ScanSummary> {
  const { job } = await api<{ job: Job }>(t, 'POST', '/library/scan', body, 202);
  await t.container.queue.drain();
  const done = (await api<{ job: Job }>(t, 'GET', `/jobs/${job.id}`, undefined, 200)).job;
  expect(done.status, done.error ?? '').toBe('succeeded');
  return done.result as ScanSummary;
}

export async function adapters(t: TestApp, query = 'per_page=200'): Promise<Adapter[]> {
  return (await api<{ items: Adapter[] }>(t, 'GET', `/adapters?${query}`, undefined, 200)).items;
}

export async function adapterAt(t: TestApp, relative: string): Promise<Adapter> {
  const found = (await adapters(t)).filter((a) => a.relative_path === relative);
  expect(found, `adapter at ${relative}`).toHaveLength(1);
  return found[0];
}

/** Empty the library folder and every table a library test writes, between tests sharing one app. */
export async function resetLibrary(t: TestApp): Promise<void> {
  await t.container.queue.drain();
  const db = t.container.database.db;
  await db.deleteFrom('adapter_search').execute();
  await db.deleteFrom('adapter_metadata').execute();
  await db.deleteFrom('adapter_tag').execute();
  await db.deleteFrom('adapter').execute();
  await db.deleteFrom('library_issue').execute();
  await db.deleteFrom('file_hash_cache').execute();
  await db.deleteFrom('setting').execute();
  await db.deleteFrom('job').execute();
  for (const entry of fs.readdirSync(t.libraryDir)) fs.rmSync(path.join(t.libraryDir, entry), { recursive: true, force: true });
  fs.rmSync(path.join(t.dataDir, 'previews'), { recursive: true, force: true });
}
