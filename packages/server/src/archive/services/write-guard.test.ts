import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ImportWriteGuard } from './write-guard.ts';

// The root policy refuses a root that contains DATA_DIR, so no import reaches this layout through the API today; the
// guard still decides on its own, in case a root is ever allowed there (or reaches DATA_DIR by a link).
describe('ImportWriteGuard with a library root that contains DATA_DIR', () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'lm-guard-'));
  const dataDir = path.join(base, 'data');
  fs.mkdirSync(path.join(dataDir, 'backups'), { recursive: true });
  const guard = new ImportWriteGuard(dataDir, path.join(dataDir, 'outputs'));
  afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

  it("refuses every one of the server's own files in DATA_DIR", async () => {
    for (const relative of ['data/lora-manager.db', 'data/lora-manager.db-wal', 'data/backups/kept.zip', 'data/staging/x.journal.json', 'data/thumbnails/ab/x.webp']) {
      await expect(guard.assertWritable([{ target: path.join(base, relative), zone: 'library' }], [base]), relative).rejects.toMatchObject({
        code: 'archive_target_forbidden',
      });
    }
  });

  it('lets LoRA files land in the root beside DATA_DIR, and previews only in DATA_DIR/previews', async () => {
    await expect(guard.assertWritable([{ target: path.join(base, 'loras', 'fine.safetensors'), zone: 'library' }], [base])).resolves.toBeUndefined();
    await expect(guard.assertWritable([{ target: path.join(dataDir, 'previews', 'a.png'), zone: 'data' }], [base])).resolves.toBeUndefined();
    await expect(guard.assertWritable([{ target: path.join(dataDir, 'a.png'), zone: 'data' }], [base])).rejects.toMatchObject({ code: 'archive_target_forbidden' });
  });
});

describe('ImportWriteGuard and recipe previews', () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'lm-guard-recipes-'));
  const dataDir = path.join(base, 'data');
  const root = path.join(base, 'loras');
  fs.mkdirSync(path.join(dataDir, 'recipes'), { recursive: true });
  fs.mkdirSync(root, { recursive: true });
  const guard = new ImportWriteGuard(dataDir, path.join(base, 'outputs'));
  afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

  it('writes a recipe preview only into DATA_DIR/recipes, and nothing else there', async () => {
    await expect(guard.assertWritable([{ target: path.join(dataDir, 'recipes', 'r1.png'), zone: 'recipes' }], [root])).resolves.toBeUndefined();
    for (const zone of ['data', 'library', 'output'] as const) {
      await expect(guard.allows(path.join(dataDir, 'recipes', 'r1.png'), [zone], [root]), zone).resolves.toBe(false);
    }
    for (const elsewhere of [path.join(dataDir, 'r1.png'), path.join(dataDir, 'previews', 'r1.png'), path.join(root, 'r1.png')]) {
      await expect(guard.allows(elsewhere, ['recipes'], [root]), elsewhere).resolves.toBe(false);
    }
  });
});
