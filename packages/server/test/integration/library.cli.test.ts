import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeLora } from '../support/library.ts';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..', '..', '..', '..');
const BIN = path.join(ROOT, 'packages', 'server', 'bin', 'lora-manager.mjs');

describe('lora-manager scan', () => {
  let tmp: string;
  let env: NodeJS.ProcessEnv;
  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lm-cli-'));
    fs.mkdirSync(path.join(tmp, 'lib'));
    writeLora(path.join(tmp, 'lib', 'one.safetensors'));
    writeLora(path.join(tmp, 'lib', 'sub', 'two.safetensors'));
    fs.writeFileSync(path.join(tmp, 'lib', 'broken.safetensors'), Buffer.alloc(4));
    env = { ...process.env, LORA_PATHS: path.join(tmp, 'lib'), DATA_DIR: path.join(tmp, 'data'), SCAN_THREADS: '1', LOG_LEVEL: '' };
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('reports a dry run as JSON without changing the catalogue, then scans and prints a summary with the bad files', { timeout: 180_000 }, async () => {
    const dry = await run(process.execPath, [BIN, 'scan', '--dry-run', '--json'], { env, cwd: ROOT });
    const summary = JSON.parse(dry.stdout);
    expect(summary).toMatchObject({ dry_run: true, added: 2, issues: 1 });
    expect(summary.errors[0]).toMatchObject({ path: path.join(tmp, 'lib', 'broken.safetensors'), code: 'header_too_small' });

    const real = await run(process.execPath, [BIN, 'scan'], { env, cwd: ROOT });
    expect(real.stdout).toContain('added 2');
    expect(real.stdout).toContain('broken.safetensors: file is 4 bytes');
    const again = await run(process.execPath, [BIN, 'scan', '--json'], { env, cwd: ROOT });
    expect(JSON.parse(again.stdout)).toMatchObject({ added: 0, unchanged: 2, issues: 1 });

    const listed = await run(process.execPath, [BIN, 'adapters', 'list', '--json'], { env, cwd: ROOT });
    expect(JSON.parse(listed.stdout).items.map((a: { name: string }) => a.name).sort()).toEqual(['one', 'two']);
  });

  it('refuses a path outside the roots with a reason and a failing exit code', { timeout: 60_000 }, async () => {
    const failed = await run(process.execPath, [BIN, 'scan', '/etc'], { env, cwd: ROOT }).catch((e: { code: number; stderr: string }) => e);
    expect((failed as { code: number }).code).toBe(1);
    expect((failed as { stderr: string }).stderr).toContain('not a library root');
  });
});
