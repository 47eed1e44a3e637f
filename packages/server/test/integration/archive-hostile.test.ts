import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MANIFEST_NAME } from '../../src/lib/archive-manifest.ts';
import { ZipReader } from '../../src/lib/zip-reader.ts';
import { allAdapters, exportZip, importZip, seedLibrary, snapshot, wipe } from '../support/archive-fixtures.ts';
import { createTestApp, type TestApp } from '../support/test-app.ts';
import { buildZip, multipartBody, type RawEntry } from '../support/zip-builder.ts';

const MANIFEST: RawEntry = { name: MANIFEST_NAME, data: JSON.stringify({ format: 'lora-manager-archive', format_version: 1, adapters: [], entries: [] }) };

/**
 * Hostile and damaged archives are refused with a stable code, and nothing lands anywhere: not in the library, not in
 * DATA_DIR (besides nothing in staging), not in the database, not outside the target folders.
 */
describe('hostile archives', () => {
  let t: TestApp;
  let seededFiles: Record<string, string>;

  beforeAll(async () => {
    t = await createTestApp('sqlite', {
      ARCHIVE_MAX_UNCOMPRESSED_BYTES: String(1024 * 1024),
      ARCHIVE_MAX_RATIO: '10',
      ARCHIVE_MAX_ENTRIES: '20',
      IMPORT_MAX_UPLOAD_BYTES: String(4 * 1024 * 1024),
    });
  });
  afterAll(async () => t.close());
  beforeEach(async () => {
    await wipe(t);
    await seedLibrary(t, 1, 2000);
    seededFiles = snapshot(t.libraryDir);
  });

  async function expectRefused(entries: RawEntry[], code: string) {
    const before = await allAdapters(t);
    const { status, body } = await importZip(t, buildZip(entries), { conflict_resolution: 'overwrite' });
    expect(status).toBe(200);
    expect(body).toMatchObject({ success: false, processed_files: 0 });
    expect(body.results[0]).toMatchObject({ status: 'error', code });
    expect(await allAdapters(t)).toEqual(before);
    expect(snapshot(t.libraryDir)).toEqual(seededFiles);
    const staging = path.join(t.dataDir, 'staging');
    expect(fs.existsSync(staging) ? fs.readdirSync(staging) : []).toEqual([]);
    for (const escaped of [path.join(t.libraryDir, '..', 'evil.txt'), path.join(t.dataDir, '..', 'evil.txt'), '/tmp/lm-evil.txt']) {
      expect(fs.existsSync(escaped)).toBe(false);
    }
    return body.results[0];
  }

  it.each([
    ['../evil.txt'],
    ['adapters/x/../../../evil.txt'],
    ['/tmp/lm-evil.txt'],
    ['C:/evil.txt'],
    ['..\\evil.txt'],
    ['adapters/./x.txt'],
    ['adapters//x.txt'],
  ])('refuses the entry name %j before writing anything', async (name) => {
    const result = await expectRefused([MANIFEST, { name, data: 'pwned' }], 'zip_entry_unsafe');
    expect(result.detail).toContain('unsafe entry name');
  });

  it('refuses symbolic links', async () => {
    await expectRefused([MANIFEST, { name: 'adapters/x/files/0_link', data: '/etc/passwd', unixMode: 0o120777, method: 0 }], 'zip_symlink');
  });

  it('refuses duplicate names, also when they differ only in case', async () => {
    await expectRefused([MANIFEST, MANIFEST], 'zip_duplicate_entry');
    await expectRefused([MANIFEST, { name: 'a/File.txt', data: '1' }, { name: 'a/file.TXT', data: '2' }], 'zip_duplicate_entry');
  });

  it('refuses archives that expand beyond ARCHIVE_MAX_UNCOMPRESSED_BYTES', async () => {
    const result = await expectRefused([MANIFEST, { name: 'big.bin', data: randomBytes(1024 * 1024 + 10) }], 'zip_too_large');
    expect(result.detail).toContain('ARCHIVE_MAX_UNCOMPRESSED_BYTES');
  });

  it('refuses entries compressed beyond ARCHIVE_MAX_RATIO (zip bombs)', async () => {
    const result = await expectRefused([MANIFEST, { name: 'bomb.bin', data: Buffer.alloc(1024 * 1024) }], 'zip_ratio_exceeded');
    expect(result.detail).toMatch(/expands \d+:1/);
  });

  it('refuses more entries than ARCHIVE_MAX_ENTRIES', async () => {
    await expectRefused([MANIFEST, ...Array.from({ length: 25 }, (_, i) => ({ name: `f${i}.txt`, data: 'x' }))], 'zip_too_many_entries');
  });

  it('refuses encrypted entries', async () => {
    await expectRefused([MANIFEST, { name: 'secret.bin', data: Buffer.alloc(16), declaredSize: 4, flags: 1, method: 0 }], 'zip_encrypted');
  });

  it('catches an entry that inflates to more than it declares, and keeps the library untouched', async () => {
    const zip = await exportZip(t);
    await wipe(t);
    seededFiles = {};
    const entries = await readAll(t, zip);
    const lora = entries.find((e) => e.name.endsWith('.safetensors'))!;
    lora.declaredSize = (lora.data as Buffer).length - 100; // the deflate stream yields 100 bytes more than claimed
    lora.method = 8;
    const manifest = JSON.parse(String(entries.find((e) => e.name === MANIFEST_NAME)!.data));
    manifest.entries.find((e: { path: string }) => e.path === lora.name).size -= 100;
    entries.find((e) => e.name === MANIFEST_NAME)!.data = JSON.stringify(manifest);
    await expectRefused(entries, 'archive_corrupt');
  });

  it('a file whose bytes do not match the manifest checksum imports nothing', async () => {
    const zip = await exportZip(t);
    await wipe(t);
    seededFiles = {};
    const entries = await readAll(t, zip);
    const lora = entries.find((e) => e.name.endsWith('.safetensors'))!;
    (lora.data as Buffer)[500] ^= 0xff; // same size, different bytes
    const result = await expectRefused(entries, 'checksum_mismatch');
    expect(result.detail).toContain(lora.name);
  });

  it('a manifest naming a file the archive lacks imports nothing', async () => {
    const zip = await exportZip(t);
    const entries = (await readAll(t, zip)).filter((e) => !e.name.endsWith('.preview.png'));
    const result = await expectRefused(entries, 'archive_incomplete');
    expect(result.detail).toMatch(/^Archive missing declared file: /);
  });

  it.each([
    ['after another recipe', { recipe_id: 'mine', file: 'theirs.png' }],
    ['with a path', { recipe_id: 'mine', file: '../../mine.png' }],
    ['with another kind of file', { recipe_id: 'mine', file: 'mine.svg' }],
  ])('refuses a recipe preview named %s', async (_, preview) => {
    const manifest = { format: 'lora-manager-archive', format_version: 1, adapters: [], entries: [], recipe_previews: [{ ...preview, archive_path: 'recipes/x.png', size: 5 }] };
    const result = await expectRefused([{ name: MANIFEST_NAME, data: JSON.stringify(manifest) }, { name: 'recipes/x.png', data: 'pwned' }], 'zip_entry_unsafe');
    expect(result.detail).toContain('Unsafe recipe preview name');
    const recipes = path.join(t.dataDir, 'recipes');
    expect(fs.existsSync(recipes) ? fs.readdirSync(recipes) : []).toEqual([]);
  });

  it('refuses archives from a newer format version', async () => {
    const manifest = { format: 'lora-manager-archive', format_version: 99, adapters: [], entries: [] };
    const result = await expectRefused([{ name: MANIFEST_NAME, data: JSON.stringify(manifest) }], 'archive_version_unsupported');
    expect(result.detail).toContain('99');
  });

  it('answers an upload over IMPORT_MAX_UPLOAD_BYTES with 413 and keeps no temporary file', async () => {
    const { payload, headers } = multipartBody([{ name: 'huge.zip', data: randomBytes(5 * 1024 * 1024) }]);
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/import', payload, headers });
    expect(res.statusCode).toBe(413);
    expect(res.json().code).toBe('upload_too_large');
    expect(fs.readdirSync(path.join(t.dataDir, 'uploads'))).toEqual([]);
  });

  it('imports an archive of the original LoRA Manager (format 0, no checksums) the way it did', async () => {
    await wipe(t);
    const legacy = buildZip([
      {
        name: MANIFEST_NAME,
        data: JSON.stringify({
          generated_at: '2025-01-01T00:00:00',
          adapter_count: 1,
          adapters: [
            {
              id: 'legacy-1',
              name: 'Old LoRA',
              version: 'v2',
              metadata_path: 'adapters/legacy-1/metadata.json',
              files: [{ kind: 'primary', original_path: '/app/loras/old.safetensors', original_name: 'old.safetensors', exists: true, size: 5, archive_path: 'adapters/legacy-1/files/0_old.safetensors' }],
            },
          ],
        }),
      },
      { name: 'adapters/legacy-1/metadata.json', data: JSON.stringify({ name: 'Old LoRA', version: 'v2', file_path: '/app/loras/old.safetensors', tags: ['retro'], weight: 0.7, active: true }) },
      { name: 'adapters/legacy-1/files/0_old.safetensors', data: 'hello' },
    ]);
    const { body } = await importZip(t, legacy);
    expect(body.results[0]).toMatchObject({ status: 'imported', created: 1, format_version: 0 });
    expect(body.results[0].warnings.join(' ')).toContain('no checksums');
    const [adapter] = await allAdapters(t);
    expect(adapter).toMatchObject({ name: 'Old LoRA', version: 'v2', tags: ['retro'], weight: 0.7, active: true, primary_file_name: 'old.safetensors', primary_file_size_kb: 1 });
    expect(adapter.file_path).toBe(path.join(t.libraryDir, 'legacy-1', 'old.safetensors'));
    expect(fs.readFileSync(adapter.file_path, 'utf8')).toBe('hello');
  });
});

async function readAll(t: TestApp, zip: Buffer): Promise<RawEntry[]> {
  const file = path.join(t.dataDir, `read-${Date.now()}.zip`);
  fs.writeFileSync(file, zip);
  const reader = await ZipReader.open(file, { maxEntries: 1000, maxRatio: 1e6, maxUncompressedBytes: 1e12 });
  try {
    const out: RawEntry[] = [];
    for (const name of reader.entries.keys()) out.push({ name, data: await reader.buffer(name, 1e9), method: 0 });
    return out;
  } finally {
    reader.close();
    fs.rmSync(file);
  }
}
