/// <reference types="node" />
import fs from 'node:fs';
import path from 'node:path';
import type { APIRequestContext, Page } from '@playwright/test';

export const LIBRARY_DIR = path.join(process.env.E2E_DIR ?? '', 'library');
/** The generated fixture library (not a root until a test adds it). */
export const GENERATED_LIBRARY_DIR = path.join(process.env.E2E_DIR ?? '', 'generated-library');
export const SHOTS_DIR = path.resolve(import.meta.dirname, '../../test-results/screenshots');

/** Keep a screenshot of the page under test-results/screenshots/ (looked at by people, not compared). */
export async function shot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(SHOTS_DIR, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS_DIR, `${name}.png`) });
}

export interface FixtureFile {
  stem: string;
  trigger: string;
  broken: string | null;
  preview: string | null;
  sidecars: string[];
}

/** What the fixture generator wrote into the library before the server started (see e2e-server.ts). */
export function fixtureFiles(): FixtureFile[] {
  return JSON.parse(fs.readFileSync(path.join(process.env.E2E_DIR ?? '', 'fixtures.json'), 'utf8')) as FixtureFile[];
}

export interface SeedAdapter {
  name: string;
  tags: string[];
  base_model?: string;
  triggers?: string[];
  nsfw_level?: number;
  rating?: number;
}

/**
 * Register LoRAs the way a user without a scan would: a file in the library root, then POST /adapters.
 * Returns the created adapters' ids by name. Idempotent across reruns against the same server.
 */
export async function seedLibrary(request: APIRequestContext, adapters: SeedAdapter[]): Promise<Record<string, string>> {
  // These files are registered through the API; the folder watcher would rescan them a moment later and change the
  // rows under the test (an export taken in between then "conflicts"). The tests that scan do it explicitly.
  await request.patch('/api/v1/library/settings', { data: { watch: false } });
  fs.mkdirSync(LIBRARY_DIR, { recursive: true });
  const ids: Record<string, string> = {};
  for (const a of adapters) {
    const file = path.join(LIBRARY_DIR, `${a.name.replace(/\W+/g, '_')}.safetensors`);
    // A minimal valid safetensors file: an 8-byte header length and an empty JSON header.
    const header = Buffer.from(JSON.stringify({ __metadata__: { ss_output_name: a.name } }));
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(header.length));
    fs.writeFileSync(file, Buffer.concat([length, header]));
    const response = await request.post('/api/v1/adapters', {
      data: { name: a.name, file_path: file, tags: a.tags, triggers: a.triggers ?? [], nsfw_level: a.nsfw_level ?? 1, rating: a.rating ?? null },
    });
    if (response.status() !== 201) continue;
    const id = ((await response.json()) as { adapter: { id: string } }).adapter.id;
    ids[a.name] = id;
    if (a.base_model) await request.patch(`/api/v1/adapters/${id}`, { data: { base_model: a.base_model } });
  }
  if (Object.keys(ids).length < adapters.length) {
    const list = (await (await request.get('/api/v1/adapters', { params: { per_page: 200 } })).json()) as { items: Array<{ id: string; name: string }> };
    for (const item of list.items) ids[item.name] ??= item.id;
  }
  return ids;
}
