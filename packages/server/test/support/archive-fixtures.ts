import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Adapter } from '@lora-manager/contract';
import type { TestApp } from './test-app.ts';
import { multipartBody } from './zip-builder.ts';

export interface SeededAdapter {
  id: string;
  name: string;
  file: string;
  sidecars: string[];
}

export function sha256File(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** Bytes that look like a LoRA: a small safetensors-style header and pseudo-random weights (deterministic per seed). */
export function fakeLora(seed: number, size: number): Buffer {
  const header = Buffer.from(JSON.stringify({ __metadata__: { ss_output_name: `lora${seed}` } }));
  const out = Buffer.alloc(Math.max(size, header.length + 8));
  out.writeBigUInt64LE(BigInt(header.length), 0);
  header.copy(out, 8);
  let s = seed * 2654435761;
  for (let i = 8 + header.length; i < out.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

/**
 * A small library as a scan would leave it: files in sub-folders with sidecars and previews, adapters with library
 * facts, user and source tags (one source tag removed by the user), ratings and notes.
 */
export async function seedLibrary(t: TestApp, count = 3, size = 20_000): Promise<SeededAdapter[]> {
  const out: SeededAdapter[] = [];
  for (let i = 0; i < count; i++) {
    const name = `style ${i}`;
    const rel = `styles/set${i % 2}/style_${i}.safetensors`;
    const file = t.libraryFile(rel, fakeLora(i + 1, size + i * 1000));
    const stem = file.replace(/\.safetensors$/, '');
    const sidecars = [`${stem}.civitai.info`, `${stem}.preview.png`];
    fs.writeFileSync(sidecars[0], JSON.stringify({ id: 1000 + i, trainedWords: [`trigger${i}`] }));
    fs.writeFileSync(sidecars[1], fakeLora(100 + i, 3000));
    const stat = fs.statSync(file);
    const id = randomUUID();
    await t.container.repositories.adapters.insert(
      {
        id,
        name,
        version: 'v1',
        file_path: file,
        description: `A style LoRA number ${i}`,
        trained_words: [`trigger${i}`],
        weight: 0.6 + i / 10,
        active: i === 0,
        ordinal: i,
        rating: (i % 5) + 1,
        notes: `note ${i}`,
        favorite: i % 2 === 0,
        sha256: sha256File(file),
        file_size: stat.size,
        file_mtime: stat.mtime.toISOString(),
        library_root: t.libraryDir,
        relative_path: rel,
        preview_path: sidecars[1],
        base_model: 'SDXL 1.0',
        network_type: 'lora',
        rank: 16,
        alpha: 8,
        stats: { downloadCount: 10 * i },
        extra: { source: 'test' },
        primary_file_local_path: i === 0 ? null : file,
        created_at: new Date(Date.UTC(2025, 0, 1 + i)).toISOString(),
        updated_at: new Date(Date.UTC(2025, 1, 1 + i)).toISOString(),
      },
      [`user-${i}`],
    );
    await t.container.repositories.archive.replaceTagRows(id, [
      { tag: `user-${i}`, origin: 'user', position: 0 },
      { tag: 'style', origin: 'source', position: 1 },
      { tag: 'unwanted', origin: 'removed', position: 2 },
    ]);
    out.push({ id, name, file, sidecars });
  }
  return out;
}

export async function allAdapters(t: TestApp): Promise<Adapter[]> {
  const res = await t.app.inject({ method: 'GET', url: '/api/v1/adapters?per_page=200&sort=name' });
  return res.json().items as Adapter[];
}

export async function exportZip(t: TestApp, body: Record<string, unknown> = {}): Promise<Buffer> {
  const res = await t.app.inject({ method: 'POST', url: '/api/v1/export', payload: { loras: true, ...body } });
  if (res.statusCode !== 200) throw new Error(`export failed: ${res.statusCode} ${res.body}`);
  return res.rawPayload;
}

export async function importZip(t: TestApp, data: Buffer, config: Record<string, unknown> = {}, name = 'archive.zip') {
  const { payload, headers } = multipartBody([{ name, data }], { backup_before: false, ...config });
  const res = await t.app.inject({ method: 'POST', url: '/api/v1/import', payload, headers });
  return { status: res.statusCode, body: res.json() };
}

/** Every file below a folder, relative, with its SHA-256: what "the library is as it was" means. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else out[path.relative(dir, p)] = sha256File(p);
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out;
}

export async function tagRows(t: TestApp, id: string) {
  return (await t.container.repositories.archive.tagRows([id])).get(id) ?? [];
}

/** Empty the catalogue and the library folder. */
export async function wipe(t: TestApp): Promise<void> {
  const ids = await t.container.repositories.archive.allAdapterIds();
  await t.container.repositories.adapters.deleteByIds(ids);
  fs.rmSync(t.libraryDir, { recursive: true, force: true });
  fs.mkdirSync(t.libraryDir, { recursive: true });
}
