import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadOrCreateKeyFile } from './secret-key-file.ts';

describe('loadOrCreateKeyFile', () => {
  const dirs: string[] = [];
  const tmp = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lm-key-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('makes a 0600 key once and reads the same key afterwards', () => {
    const file = path.join(tmp(), 'data', 'secret.key');
    const key = loadOrCreateKeyFile(file);
    expect(key).toHaveLength(32);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(loadOrCreateKeyFile(file)).toEqual(key);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['secret.key']);
  });

  it('narrows a key file with a looser mode, and refuses a damaged one instead of replacing it', () => {
    const file = path.join(tmp(), 'secret.key');
    fs.writeFileSync(file, Buffer.alloc(32, 1).toString('hex'), { mode: 0o644 });
    expect(loadOrCreateKeyFile(file)).toEqual(Buffer.alloc(32, 1));
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    fs.writeFileSync(file, 'garbage');
    expect(() => loadOrCreateKeyFile(file)).toThrow(/does not hold a 32-byte key/);
    expect(fs.readFileSync(file, 'utf8')).toBe('garbage');
  });
});
