import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../config.ts';
import { createContainer } from '../container.ts';
import { JOB_KINDS } from './job-catalogue.ts';
import { InProcessJobQueue } from './in-process.job-queue.ts';
import type { JobQueue } from './job-queue.ts';

// Checked by tsc, never run: the typed port refuses an unknown kind and another kind's payload (if it ever accepted
// one, the @ts-expect-error below would itself fail the typecheck).
function typedPortRefusesWhatTheCatalogueDoesNotName(queue: JobQueue): void {
  // @ts-expect-error a kind the catalogue does not name
  void queue.enqueue('archive.exprot', { config: {} });
  // @ts-expect-error a restore without the backup id its payload needs
  void queue.enqueue(JOB_KINDS.backupRestore, { config: {} });
  // @ts-expect-error a handler under a bare string that is no kind
  queue.register('library.rescan', async () => ({}));
}
void typedPortRefusesWhatTheCatalogueDoesNotName;

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Whether a file (relative to src/) sits in a layer folder, at the top (`jobs/…`) or in a capability (`library/jobs/…`). */
const inLayer = (file: string, layer: string): boolean => new RegExp(`^([\\w-]+/)?${layer}/`).test(file);

/** Every non-test source file under src/, relative to it. */
function sources(): string[] {
  return (fs.readdirSync(SRC, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
}

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

  it('is the only place a kind is spelled: nothing enqueues or registers a job under a bare string', () => {
    const bare = /\.(enqueue|register)(<[^>]*>)?\(\s*['"`]/;
    const offenders = sources().filter((file) => bare.test(fs.readFileSync(path.join(SRC, file), 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('keeps routes off the queue: they call a service that enqueues', () => {
    const offenders = sources().filter((file) => inLayer(file, 'routes') && /jobs\/job-queue\.ts/.test(fs.readFileSync(path.join(SRC, file), 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('keeps services off the handlers: they take kinds from the catalogue', () => {
    const handlerImport = /from '[^']*jobs\/[\w.-]+\.(handler|jobs)\.ts'/;
    const offenders = sources().filter((file) => inLayer(file, 'services') && handlerImport.test(fs.readFileSync(path.join(SRC, file), 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('registers handlers only in jobs/ (and the container that wires them)', () => {
    const offenders = sources().filter(
      (file) => !inLayer(file, 'jobs') && file !== 'container.ts' && /\bqueue\.register\(/.test(fs.readFileSync(path.join(SRC, file), 'utf8')),
    );
    expect(offenders).toEqual([]);
  });

  it('keeps handlers thin: no handler reaches repositories, backends or tables (the queue adapters themselves may)', () => {
    const queueInternals = /(job-queue|job-lifecycle|redis-hand-off)\.ts$/; // redis-hand-off: the BullMQ adapter's outbox relay
    const offenders = sources().filter(
      (file) =>
        inLayer(file, 'jobs') && !queueInternals.test(file) && /from '[^']*\/(repositories|backends|db)\//.test(fs.readFileSync(path.join(SRC, file), 'utf8')),
    );
    expect(offenders).toEqual([]);
  });

  it('keeps the any-kind escape hatch out of the app: only the port and its two adapters name it', () => {
    const allowed = new Set(['jobs/job-queue.ts', 'jobs/in-process.job-queue.ts', 'jobs/bullmq.job-queue.ts']);
    const offenders = sources().filter((file) => !allowed.has(file) && fs.readFileSync(path.join(SRC, file), 'utf8').includes('AnyKindJobQueue'));
    expect(offenders).toEqual([]);
  });

  it('sits at the bottom: the catalogue imports nothing but the contract types', () => {
    const imports = [...fs.readFileSync(path.join(SRC, 'jobs/job-catalogue.ts'), 'utf8').matchAll(/from '([^']+)'/g)].map((m) => m[1]);
    expect(imports).toEqual(['@lora-manager/contract']);
  });
});
