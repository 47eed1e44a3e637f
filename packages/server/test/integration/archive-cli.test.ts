import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createContainer } from '../../src/container.ts';
import { fakeLora } from '../support/archive-fixtures.ts';
import { buildZip } from '../support/zip-builder.ts';

const serverDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** `lora-manager export`, `import` and `backup` as a user runs them: a real process on a SQLite file. */
describe('archive CLI', () => {
  let tmp: string;
  let env: NodeJS.ProcessEnv;
  const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], { cwd: serverDir, env, encoding: 'utf8' });

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lm-cli-'));
    const library = path.join(tmp, 'library');
    fs.mkdirSync(library);
    env = { ...process.env, DATA_DIR: path.join(tmp, 'data'), LORA_PATHS: library, LOG_LEVEL: 'silent' };
    const c = await createContainer(loadConfig({ DATA_DIR: env.DATA_DIR, LORA_PATHS: library, LOG_LEVEL: 'silent' }, tmp), { logger: pino({ level: 'silent' }) });
    fs.writeFileSync(path.join(library, 'ink.safetensors'), fakeLora(1, 50_000));
    await c.services.adapters.create({ name: 'ink', file_path: path.join(library, 'ink.safetensors'), tags: ['style'] });
    await c.close();
  }, 60_000);
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('exports, checks, imports and backs up from the command line', () => {
    const archive = path.join(tmp, 'out.zip');
    const exported = cli('export', archive, '--no-previews');
    expect(exported.status).toBe(0);
    expect(exported.stderr).toContain('1 adapter(s), 0 result(s), 1 file(s)');
    expect(fs.readFileSync(archive).subarray(0, 2).toString()).toBe('PK');

    const checked = cli('import', archive, '--mode', 'dry-run');
    expect(checked.status).toBe(0);
    expect(checked.stdout).toContain('out.zip: validated — 1 adapter(s) checked');

    const again = cli('import', archive, '--json');
    expect(again.status).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ success: true, results: [{ status: 'imported', unchanged: 1 }] });

    const broken = path.join(tmp, 'broken.zip');
    fs.writeFileSync(broken, buildZip([{ name: '../evil.txt', data: 'x' }]));
    const refused = cli('import', broken);
    expect(refused.status).toBe(1);
    expect(refused.stdout).toContain('broken.zip: error (zip_entry_unsafe)');

    const backup = cli('backup', 'create', '--type', 'metadata');
    expect(backup.status).toBe(0);
    const id = backup.stdout.split(/\s+/)[0];
    expect(id).toMatch(/^backup_\d{8}_\d{6}_[0-9a-f]{6}$/);
    expect(cli('backup', 'list').stdout).toContain(id);
    expect(cli('backup', 'delete', id).status).toBe(0);
    expect(cli('backup', 'list').stdout).toBe('no backups\n');
  }, 120_000);
});
