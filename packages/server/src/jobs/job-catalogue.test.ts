import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../config.ts';
import { createContainer } from '../container.ts';
import { JOB_KINDS } from './job-catalogue.ts';
import { InProcessJobQueue } from './in-process.job-queue.ts';

describe('job catalogue', () => {
  const dirs: string[] = [];
  afterEach(() => {
    vi.restoreAllMocks();
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('names exactly the kinds the container registers handlers for: every kind has one, no handler is without a kind', async () => {
    const registered: string[] = [];
    const register = InProcessJobQueue.prototype.register;
    vi.spyOn(InProcessJobQueue.prototype, 'register').mockImplementation(function (this: InProcessJobQueue, kind, handler, options) {
      registered.push(kind);
      register.call(this, kind, handler, options);
    });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lm-catalogue-'));
    dirs.push(dir);
    const container = await createContainer(loadConfig({ DATA_DIR: path.join(dir, 'data'), LOG_LEVEL: 'silent' }, dir), { logger: pino({ level: 'silent' }) });
    await container.close();

    expect(new Set(registered).size).toBe(registered.length);
    expect([...registered].sort()).toEqual(Object.values(JOB_KINDS).sort());
  });
});
