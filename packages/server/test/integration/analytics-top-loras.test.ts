import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnalyticsRepository } from '../../src/analytics/repositories/analytics.repository.ts';
import { UsageRepository } from '../../src/analytics/repositories/usage.repository.ts';
import type { FinishedGeneration } from '../../src/lib/usage-rollup.ts';
import { foldFinished } from '../../src/lib/usage-rollup.ts';
import { migrateToLatest, type AppDatabase } from '../../src/db/database.ts';
import { openTestDatabase, TEST_DIALECTS } from '../support/test-app.ts';

/**
 * The top of a window is searched in all-time order with a stopping bound: it must give exactly what summing every
 * LoRA's days gives, including when the window's favourites are not the all-time ones.
 */
describe.each(TEST_DIALECTS)('top LoRAs of a window on %s', (dialect) => {
  let database: AppDatabase;
  let dispose: () => Promise<void>;
  beforeAll(async () => {
    ({ database, dispose } = await openTestDatabase(dialect));
    await migrateToLatest(database);
    const jobs: FinishedGeneration[] = [];
    const add = (day: string, name: string, times: number, failed = 0) => {
      for (let i = 0; i < times; i++) {
        jobs.push({
          status: i < failed ? 'failed' : 'succeeded',
          created_at: `${day}T10:00:00.000Z`,
          started_at: `${day}T10:00:01.000Z`,
          finished_at: `${day}T10:00:05.000Z`,
          message: i < failed ? 'boom 1' : null,
          rating: null,
          favorite: false,
          loras: [{ adapter_id: null, name }],
        });
      }
    };
    // All-time favourites used long ago; the window (March) has different leaders, and 60 LoRAs in all.
    for (let i = 0; i < 30; i++) add('2026-01-10', `old${i}`, 100 + i);
    for (let i = 0; i < 30; i++) add('2026-03-05', `new${i}`, 1 + i, i === 29 ? 2 : 0);
    add('2026-03-06', 'old3', 20);
    await new UsageRepository(database.db).apply(foldFinished(jobs));
  });
  afterAll(async () => {
    await database?.close();
    await dispose?.();
  });

  it('matches a full sum over the window, ties broken by key', async () => {
    const repo = new AnalyticsRepository(database.db);
    const top = await repo.topLorasByDay('2026-03-01', '2026-03-31', 10);
    expect(top.map((t) => [t.name, t.uses])).toEqual([
      ['new29', 30],
      ['new28', 29],
      ['new27', 28],
      ['new26', 27],
      ['new25', 26],
      ['new24', 25],
      ['new23', 24],
      ['new22', 23],
      ['new21', 22],
      ['new20', 21],
    ]);
    expect(top[0]).toMatchObject({ succeeded: 28, failed: 2 });
    const wider = await repo.topLorasByDay('2026-01-01', '2026-03-31', 3);
    expect(wider.map((t) => [t.name, t.uses])).toEqual([
      ['old29', 129],
      ['old28', 128],
      ['old27', 127],
    ]);
    // old3 gained 20 in March: in a window holding both days it passes LoRAs with more January uses.
    const top8 = await repo.topLorasByDay('2026-01-01', '2026-03-31', 8);
    expect(top8.map((t) => t.name)).toEqual(['old29', 'old28', 'old27', 'old26', 'old25', 'old24', 'old23', 'old3']);
    expect(await repo.topLorasByDay('2026-02-01', '2026-02-28', 10)).toEqual([]);
    // Fewer used in the window than asked for: all of them.
    expect((await repo.topLorasByDay('2026-03-06', '2026-03-06', 10)).map((t) => t.name)).toEqual(['old3']);
  });
});
