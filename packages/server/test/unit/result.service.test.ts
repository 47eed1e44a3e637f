import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Job, JobStatus } from '@lora-manager/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppDatabase } from '../../src/db/database.ts';
import type { JobQueue } from '../../src/jobs/job-queue.ts';
import { DeliveryRepository } from '../../src/generation/repositories/delivery.repository.ts';
import { GenerationResultRepository } from '../../src/generation/repositories/generation-result.repository.ts';
import { JobRepository } from '../../src/repositories/job.repository.ts';
import { OutputStore } from '../../src/generation/services/output-store.ts';
import { ResultService } from '../../src/generation/services/result.service.ts';
import { fixedClock, openServiceDatabase } from '../support/service-db.ts';
import { TEST_DIALECTS } from '../support/test-app.ts';

/** The generation history's rules on the split delivery / generation-result storage, without HTTP. */
describe.each(TEST_DIALECTS)('ResultService rules (%s)', (dialect) => {
  let db: { database: AppDatabase; close(): Promise<void> };
  let deliveries: DeliveryRepository;
  let jobs: JobRepository;
  let service: ResultService;
  let tmp: string;
  const cancelled: string[] = [];

  /** A generation (or delivery) whose job ended in `status`; minutes apart so the newest-first order is fixed. */
  async function seed(id: string, status: JobStatus, kind: 'generation' | 'delivery' = 'generation', minute = 0): Promise<void> {
    const at = `2026-03-01T12:${String(minute).padStart(2, '0')}:00.000Z`;
    await deliveries.insert({ id, kind, mode: kind === 'generation' ? 'sdnext' : 'http', prompt: `prompt ${id}`, params: '{}', created_at: at }, []);
    await jobs.create({ id, kind, payload: {}, maxAttempts: 1, group: null, now: at });
    await db.database.db.updateTable('job').set({ status }).where('id', '=', id).execute();
  }

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lm-results-'));
    db = await openServiceDatabase(dialect);
    deliveries = new DeliveryRepository(db.database.db);
    jobs = new JobRepository(db.database.db);
    // The queue port: only cancel is used; it records which jobs the service asked to stop.
    const queue = { cancel: async (id: string) => (cancelled.push(id), {} as Job) } as unknown as JobQueue;
    service = new ResultService(deliveries, new GenerationResultRepository(db.database.db), queue, new OutputStore(path.join(tmp, 'out'), 64), fixedClock());
    await seed('ok-1', 'succeeded', 'generation', 1);
    await seed('ok-2', 'succeeded', 'generation', 2);
    await seed('bad', 'failed', 'generation', 3);
    await seed('stopped', 'cancelled', 'generation', 4);
    await seed('busy', 'running', 'generation', 5);
    await seed('hook', 'succeeded', 'delivery', 6);
  });
  afterAll(async () => {
    await db.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const ids = async (query: Parameters<ResultService['list']>[0]) => (await service.list(query)).items.map((i) => i.id);

  it('lists generations only: completed by default, failed with cancelled, or every status', async () => {
    expect(await ids({})).toEqual(['ok-2', 'ok-1']);
    expect(await ids({ status: 'failed' })).toEqual(['stopped', 'bad']);
    expect(await ids({ status: 'all', sort: 'oldest' })).toEqual(['ok-1', 'ok-2', 'bad', 'stopped', 'busy']);
  });

  it('rates and favourites known results only', async () => {
    expect((await service.rate('ok-1', 4)).rating).toBe(4);
    expect(await ids({ min_rating: 3 })).toEqual(['ok-1']);
    await expect(service.rate('nope', 2)).rejects.toMatchObject({ status: 404, code: 'result_not_found' });
    await expect(service.favorite('nope', true)).rejects.toMatchObject({ status: 404, code: 'result_not_found' });
    expect(await service.bulkFavorite(['ok-2', 'nope', 'ok-2'], true)).toEqual({ updated: 1 });
    expect(await ids({ favorites_only: true })).toEqual(['ok-2']);
  });

  it('deletes results with their job rows, cancels a running one first and ignores unknown ids', async () => {
    expect(await service.deleteMany(['busy', 'bad', 'nope'])).toBe(2);
    expect(cancelled).toEqual(['busy']);
    expect(await ids({ status: 'all' })).toEqual(['stopped', 'ok-2', 'ok-1']);
    expect(await jobs.findById('bad')).toBeUndefined();
    await expect(service.delete('bad')).rejects.toMatchObject({ status: 404, code: 'result_not_found' });
  });
});
