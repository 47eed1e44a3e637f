import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppDatabase } from '../../src/db/database.ts';
import { JobRepository } from '../../src/repositories/job.repository.ts';
import { openServiceDatabase } from '../support/service-db.ts';
import { TEST_DIALECTS } from '../support/test-app.ts';

const T0 = '2026-03-01T12:00:00.000Z';
const T1 = '2026-03-01T12:01:00.000Z';

/**
 * A runner taken for dead (its heartbeat went stale during an outage) may still be alive: its late writes must not
 * overwrite the attempt that took over, and its heartbeat must tell it to stop. The outbox holds attempts for Redis.
 */
describe.each(TEST_DIALECTS)('job attempts are fenced, and the outbox (%s)', (dialect) => {
  let db: { database: AppDatabase; close(): Promise<void> };
  let jobs: JobRepository;

  beforeAll(async () => {
    db = await openServiceDatabase(dialect);
    jobs = new JobRepository(db.database.db);
  });
  afterAll(async () => db.close());

  it('ignores the late result of the first runner once a second attempt owns the row, and tells it so', async () => {
    await jobs.create({ id: 'fenced', kind: 'k', payload: {}, maxAttempts: 3, group: null, now: T0 });
    const first = await jobs.claim('fenced', T0);
    expect(first?.attempts).toBe(1);
    // Taken over: recovered as an orphan and claimed again by another worker.
    await jobs.recover(first!, T1);
    expect((await jobs.claim('fenced', T1))?.attempts).toBe(2);

    expect(await jobs.heartbeat([{ id: 'fenced', attempt: 1 }], T1)).toEqual(['fenced']);
    expect(await jobs.heartbeat([{ id: 'fenced', attempt: 2 }], T1)).toEqual([]);
    expect(await jobs.saveProgress('fenced', { progress: 0.9 }, T1, 1)).toBeUndefined();
    expect(await jobs.finish('fenced', 'succeeded', { result: { from: 'first' } }, T1, 1)).toBeUndefined();
    expect(await jobs.retryLater('fenced', 'late', T1, T1, 1)).toBeUndefined();
    const done = await jobs.finish('fenced', 'succeeded', { result: { from: 'second' } }, T1, 2);
    expect(done).toMatchObject({ status: 'succeeded', result: { from: 'second' }, attempts: 2 });
  });

  it('writes the outbox entry of a new job with its row, and keeps one entry per attempt', async () => {
    await jobs.create({ id: 'boxed', kind: 'k', payload: {}, maxAttempts: 1, group: null, now: T0, outbox: true });
    expect(await jobs.outbox(10)).toEqual([{ job_id: 'boxed', attempt: 0 }]);
    await jobs.addToOutbox('boxed', 0, T1); // a second failed hand-off of the same attempt
    await jobs.addToOutbox('boxed', 1, T1);
    expect(await jobs.outbox(10)).toEqual([
      { job_id: 'boxed', attempt: 0 },
      { job_id: 'boxed', attempt: 1 },
    ]);
    await jobs.removeFromOutbox('boxed', 0);
    await jobs.removeFromOutbox('boxed', 1);
    expect(await jobs.outbox(10)).toEqual([]);
    expect((await jobs.findWaiting('boxed'))?.runAfter).toBe(T0);
  });
});
