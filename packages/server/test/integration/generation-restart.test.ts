import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createContainer, type Container } from '../../src/container.ts';
import { startA1111TestServer, type A1111TestServer } from '../support/a1111-test-server.ts';
import { until } from '../support/wait.ts';

const WORKER = fileURLToPath(new URL('../support/generation-crash-worker.ts', import.meta.url));
const PACKAGE_DIR = fileURLToPath(new URL('../..', import.meta.url));

describe('a generation survives the process that ran it', () => {
  let sd: A1111TestServer | undefined;
  let container: Container | undefined;
  let tmp = '';

  afterEach(async () => {
    await container?.close();
    await sd?.close();
    container = undefined;
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const env = (extra: Record<string, string>) => ({
    DATA_DIR: path.join(tmp, 'data'),
    LOG_LEVEL: 'silent',
    SDNEXT_BASE_URL: sd!.url,
    SDNEXT_POLL_INTERVAL: '0.05',
    GENERATION_BACKOFF_MS: '5',
    ...extra,
  });
  const open = (extra: Record<string, string>) => createContainer(loadConfig(env(extra), tmp), { logger: pino({ level: 'silent' }) });

  it('is retried and finished by the next process after a crash (SIGKILL) mid-generation', async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lm-restart-'));
    sd = await startA1111TestServer({ stepDelayMs: 2 });
    sd.hold(1);
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER], {
      cwd: PACKAGE_DIR,
      env: { ...process.env, ...env({ GENERATION_MAX_ATTEMPTS: '3' }) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise((resolve) => child.on('exit', resolve));
    await Promise.race([sd.waitForStep(1), exited.then(() => Promise.reject(new Error('the worker exited before generating')))]);
    const id = await until('the job id from the worker', () => out.trim() || undefined);
    child.kill('SIGKILL');
    await exited;
    sd.release();

    container = await open({ GENERATION_MAX_ATTEMPTS: '3' });
    expect((await container.repositories.jobs.findById(id))?.status).toBe('running');
    await container.queue.start();
    await until('the job to finish', async () => {
      const job = await container!.repositories.jobs.findById(id);
      return job && ['succeeded', 'failed', 'cancelled'].includes(job.status) ? job : undefined;
    });
    const job = await container.repositories.jobs.findById(id);
    expect(job).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(fs.existsSync(path.join(container.config.outputDir, id, '0.png'))).toBe(true);
    expect(sd.count('/sdapi/v1/txt2img')).toBe(2);
  });

  it('fails with a readable reason when a closed process used the last attempt', async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lm-restart-'));
    sd = await startA1111TestServer({ stepDelayMs: 2 });
    sd.hold(1);
    const first = await open({ GENERATION_MAX_ATTEMPTS: '1' });
    await first.queue.start();
    const { id } = await first.services.generation.enqueue(
      { prompt: 'closed mid-job', steps: 30, width: 16, height: 16 },
      { backend: 'sdnext', mode: 'deferred', saveImages: true, returnFormat: 'url' },
    );
    await sd.waitForStep(1);
    await first.close();
    sd.release();

    container = await open({ GENERATION_MAX_ATTEMPTS: '1' });
    await container.queue.start();
    const job = await container.repositories.jobs.findById(id);
    expect(job?.status).toBe('failed');
    expect(job?.error).toMatch(/interrupted/);
    expect(await container.services.generation.activeJobs()).toEqual([]);
  });
});
