import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteRedisKeys, redisAvailable, uniqueRedisPrefix } from '../support/redis.ts';
import { REDIS_TEST_URL } from '../support/services.ts';

const SERVER_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const HAVE_REDIS = await redisAvailable();

/** Run `lora-manager worker` as a user would; `onOutput` may signal it. Resolves with the exit code and output. */
function runWorker(env: Record<string, string>, onOutput?: (text: string, child: ReturnType<typeof spawn>) => void) {
  const child = spawn(process.execPath, ['bin/lora-manager.mjs', 'worker'], { cwd: SERVER_DIR, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (d: Buffer) => {
    output += d.toString();
    onOutput?.(output, child);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal, output }));
  });
}

describe('lora-manager worker', { timeout: 60_000 }, () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lm-worker-cli-'));
  const prefix = uniqueRedisPrefix('cli');
  afterAll(async () => {
    if (HAVE_REDIS) await deleteRedisKeys(prefix);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('refuses to start without REDIS_URL and says why', async () => {
    const result = await runWorker({ DATA_DIR: path.join(tmp, 'embedded'), REDIS_URL: '' });
    expect(result.code).toBe(2);
    expect(result.output).toContain('lora-manager worker needs REDIS_URL');
  });

  it.runIf(HAVE_REDIS)('starts against Redis and stops cleanly on SIGTERM, closing its connections', async () => {
    let signalled = false;
    const result = await runWorker(
      { DATA_DIR: path.join(tmp, 'scaled'), REDIS_URL: REDIS_TEST_URL, REDIS_PREFIX: prefix, LOG_LEVEL: 'info' },
      (output, child) => {
        if (!signalled && output.includes('worker ready')) {
          signalled = true;
          child.kill('SIGTERM');
        }
      },
    );
    expect(result.output).toContain('worker ready');
    // Exit 0 by itself: a leftover ioredis connection would keep the process alive until the test timed out.
    expect(result).toMatchObject({ code: 0, signal: null });
  });

  it('stops with a reason when Redis does not answer', async () => {
    const result = await runWorker({ DATA_DIR: path.join(tmp, 'down'), REDIS_URL: 'redis://127.0.0.1:1/0' });
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('Redis (REDIS_URL) is not reachable');
  });
});
