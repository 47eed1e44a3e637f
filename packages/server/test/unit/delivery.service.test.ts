import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Job } from '@lora-manager/contract';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BackendRegistry } from '../../src/generation/backends/backend-registry.ts';
import { loadConfig } from '../../src/config.ts';
import type { AppDatabase } from '../../src/db/database.ts';
import type { EnqueueOptions, JobQueue } from '../../src/jobs/job-queue.ts';
import { AdapterRepository } from '../../src/library/repositories/adapter.repository.ts';
import { DeliveryRepository } from '../../src/generation/repositories/delivery.repository.ts';
import { GenerationResultRepository } from '../../src/generation/repositories/generation-result.repository.ts';
import { JobRepository } from '../../src/repositories/job.repository.ts';
import { SettingRepository } from '../../src/repositories/setting.repository.ts';
import { ComposeService } from '../../src/generation/services/compose.service.ts';
import { DeliveryService } from '../../src/generation/services/delivery.service.ts';
import { GenerationSettingsService } from '../../src/generation/services/generation-settings.service.ts';
import { GenerationService } from '../../src/generation/services/generation.service.ts';
import { OutputStore } from '../../src/generation/services/output-store.ts';
import { SecretCipher } from '../../src/services/secret-cipher.ts';
import { fixedClock, openServiceDatabase } from '../support/service-db.ts';
import { TEST_DIALECTS } from '../support/test-app.ts';

interface Enqueued {
  kind: string;
  payload: Record<string, unknown>;
  options: EnqueueOptions;
}

/** The queue port: records what was enqueued and writes the job row as the real queue does; can be told to refuse. */
class RecordingQueue {
  enqueued: Enqueued[] = [];
  refuse = false;
  constructor(private readonly jobs: JobRepository) {}
  async enqueue(kind: string, payload: Record<string, unknown>, options: EnqueueOptions = {}): Promise<Job> {
    if (this.refuse) throw new Error('queue unavailable');
    this.enqueued.push({ kind, payload, options });
    const id = options.id ?? 'job';
    return this.jobs.create({ id, kind, payload, maxAttempts: options.maxAttempts ?? 1, group: options.group ?? null, now: '2026-03-01T12:00:00.000Z' });
  }
  register(): void {}
  async cancel(): Promise<Job> {
    throw new Error('not used here');
  }
  async start(): Promise<void> {}
  async drain(): Promise<void> {}
  async close(): Promise<void> {}
}

/** Which queue a delivery goes to: delivery jobs for http/cli, generation jobs for anything naming a generation backend. */
describe.each(TEST_DIALECTS)('DeliveryService mode dispatch (%s)', (dialect) => {
  let db: { database: AppDatabase; close(): Promise<void> };
  let queue: RecordingQueue;
  let service: DeliveryService;
  let tmp: string;

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lm-delivery-'));
    db = await openServiceDatabase(dialect);
    const config = loadConfig({ DATA_DIR: tmp, LORA_PATHS: tmp, SDNEXT_BASE_URL: 'http://sd.local:7860', DELIVERY_MAX_ATTEMPTS: '4' }, tmp);
    const clock = fixedClock();
    const jobs = new JobRepository(db.database.db);
    queue = new RecordingQueue(jobs);
    const settings = new GenerationSettingsService(config.generation, new SettingRepository(db.database.db), clock, new SecretCipher(randomBytes(32), pino({ level: 'silent' })));
    const registry = new BackendRegistry(settings, clock, config.generation.sdnext.pollIntervalMs);
    const composer = new ComposeService(new AdapterRepository(db.database.db, db.database.dialect));
    const deliveries = new DeliveryRepository(db.database.db);
    const outputs = new OutputStore(path.join(tmp, 'outputs'), config.generation.thumbnailSize);
    const generation = new GenerationService({
      deliveries,
      results: new GenerationResultRepository(db.database.db),
      jobs,
      queue: queue as unknown as JobQueue,
      registry,
      settings,
      composer,
      outputs,
      config: config.generation,
      clock,
    });
    service = new DeliveryService({ deliveries, queue: queue as unknown as JobQueue, registry, generation, composer, config: config.delivery, clock });
  });
  beforeEach(() => {
    queue.enqueued = [];
    queue.refuse = false;
  });
  afterAll(async () => {
    await db.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('queues an http delivery as a delivery job with its params stored', async () => {
    const { delivery_id } = await service.create({ prompt: 'a cat', mode: ' http ', params: { url: 'http://hook.example/x' } });
    expect(queue.enqueued).toEqual([{ kind: 'delivery', payload: { mode: 'http', prompt: 'a cat' }, options: { id: delivery_id, maxAttempts: 4 } }]);
    expect(await service.get(delivery_id)).toMatchObject({ id: delivery_id, mode: 'http', prompt: 'a cat', params: { url: 'http://hook.example/x' }, status: 'pending' });
  });

  it('turns a mode naming a generation backend, or params.backend, into a generation job', async () => {
    await service.create({ prompt: 'a dog', mode: 'sdnext', params: { generation_params: { steps: 12 } } });
    await service.create({ prompt: 'a fox', mode: 'http', params: { backend: 'comfyui' } });
    expect(queue.enqueued.map((e) => [e.kind, e.payload.backend, e.payload.prompt])).toEqual([
      ['generation', 'sdnext', 'a dog'],
      ['generation', 'comfyui', 'a fox'],
    ]);
    expect(queue.enqueued[0].payload.steps).toBe(12);
  });

  it('refuses invalid generation params with validation_failed and queues nothing', async () => {
    const refused = await service.create({ prompt: 'x', mode: 'sdnext', params: { generation_params: { steps: 'many' } } }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ status: 422, code: 'validation_failed' });
    expect(queue.enqueued).toEqual([]);
  });

  it('leaves no delivery behind when the queue refuses the job', async () => {
    const before = await db.database.db.selectFrom('delivery_job').select('id').execute();
    queue.refuse = true;
    await expect(service.create({ prompt: 'lost', mode: 'http' })).rejects.toThrow('queue unavailable');
    await expect(service.create({ prompt: 'lost too', mode: 'sdnext' })).rejects.toThrow('queue unavailable');
    expect(await db.database.db.selectFrom('delivery_job').select('id').execute()).toEqual(before);
  });

  it('compose sends the options under delivery.<mode> as the flat params of the job', async () => {
    const response = await service.compose({ prefix: 'p', delivery: { mode: 'http', http: { url: 'http://hook.example/y' } } });
    expect(response.delivery).toMatchObject({ status: 'pending' });
    expect((await service.get(response.delivery!.id)).params).toEqual({ url: 'http://hook.example/y' });
  });

  it('answers delivery_not_found for an unknown id', async () => {
    await expect(service.get('missing')).rejects.toMatchObject({ status: 404, code: 'delivery_not_found' });
  });
});
