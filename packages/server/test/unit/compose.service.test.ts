import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppDatabase } from '../../src/db/database.ts';
import { AdapterRepository, type NewAdapter } from '../../src/library/repositories/adapter.repository.ts';
import { ComposeService, NO_ACTIVE_WARNING } from '../../src/generation/services/compose.service.ts';
import { openServiceDatabase } from '../support/service-db.ts';
import { TEST_DIALECTS } from '../support/test-app.ts';

/** Prompt composition rules, on the real adapter repository (no HTTP). */
describe.each(TEST_DIALECTS)('ComposeService rules (%s)', (dialect) => {
  let db: { database: AppDatabase; close(): Promise<void> };
  let adapters: AdapterRepository;
  let compose: ComposeService;
  let dir: string;
  const now = '2026-03-01T12:00:00.000Z';

  /** An adapter whose file exists unless `file` says otherwise. */
  async function add(fields: Partial<NewAdapter> & { id: string; name: string }, file: 'present' | 'absent' = 'present'): Promise<void> {
    const filePath = path.join(dir, `${fields.id}.safetensors`);
    if (file === 'present') fs.writeFileSync(filePath, 'x');
    await adapters.insert({ file_path: filePath, created_at: now, updated_at: now, weight: 1, ...fields });
  }

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lm-compose-'));
    db = await openServiceDatabase(dialect);
    adapters = new AdapterRepository(db.database.db, db.database.dialect);
    compose = new ComposeService(adapters);
  });
  afterAll(async () => {
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('warns instead of failing when nothing is active', async () => {
    const result = await compose.compose({});
    expect(result.prompt).toBe('');
    expect(result.warnings).toEqual([NO_ACTIVE_WARNING]);
  });

  it('composes the active adapters in ordinal-then-name order between prefix and suffix', async () => {
    await add({ id: 'b', name: 'Beta', active: true, ordinal: 1, weight: 0.5 });
    await add({ id: 'a', name: 'Alpha', active: true, ordinal: 1, weight: 0.7 });
    await add({ id: 'z', name: 'Zeta', active: true, ordinal: 0, weight: 1 });
    await add({ id: 'off', name: 'Inactive', active: false });
    const result = await compose.compose({ prefix: ' masterpiece ', suffix: 'detailed ' });
    expect(result.prompt).toBe('masterpiece <lora:Zeta:1.000> <lora:Alpha:0.700> <lora:Beta:0.500> detailed');
    expect(result.adapters.map((a) => a.id)).toEqual(['z', 'a', 'b']);
    expect(result.warnings).toEqual([]);
  });

  it('names unknown ids, keeps one token per name, and reports zero weights, missing files and mixed base models', async () => {
    await add({ id: 'x1', name: 'Dup', base_model: 'SD 1.5' });
    await add({ id: 'x2', name: 'Dup', base_model: 'SDXL 1.0' });
    await add({ id: 'x3', name: 'Silent', weight: 0, base_model: 'SDXL 1.0' }, 'absent');
    const result = await compose.compose({ adapters: [{ id: 'x1' }, { id: 'x2' }, { id: 'nope' }, { id: 'x3' }] });
    expect(result.tokens).toEqual(['<lora:Dup:1.000>', '<lora:Silent:0.000>']);
    expect(result.warnings).toEqual([
      'Unknown adapter ids: nope',
      'Duplicate adapter names found: Dup',
      'Adapters with zero weight: Silent',
      'Adapters are for different base models: SD 1.5 (Dup); SDXL 1.0 (Silent)',
      'Adapter files are missing: Silent',
    ]);
  });

  it('uses a chosen weight over the preferred one, the preferred one over the default only when asked', async () => {
    await add({ id: 'p1', name: 'Pref', weight: 1, preferred_weight: 0.6 });
    const plain = await compose.compose({ adapters: [{ id: 'p1' }] });
    const preferred = await compose.compose({ adapters: [{ id: 'p1' }], use_preferred_weight: true });
    const chosen = await compose.compose({ adapters: [{ id: 'p1', weight: 0.25 }], use_preferred_weight: true });
    expect([plain.tokens, preferred.tokens, chosen.tokens]).toEqual([['<lora:Pref:1.000>'], ['<lora:Pref:0.600>'], ['<lora:Pref:0.250>']]);
  });

  it('adds triggers then trained words once each, case-insensitively, when asked', async () => {
    await add({ id: 't1', name: 'One', triggers: ['Glow'], trained_words: ['glow', 'neon'] });
    await add({ id: 't2', name: 'Two', triggers: [' NEON ', 'rain'] });
    const result = await compose.compose({ adapters: [{ id: 't1' }, { id: 't2' }], include_triggers: true });
    expect(result.trigger_words).toEqual(['Glow', 'neon', 'rain']);
    expect(result.prompt).toBe('<lora:One:1.000> <lora:Two:1.000> Glow, neon, rain');
  });
});
