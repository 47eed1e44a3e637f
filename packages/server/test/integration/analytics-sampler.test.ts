import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResourceSampleTable } from '../../src/db/tables.ts';
import { fixedClock } from '../support/service-db.ts';
import { createTestApp, TEST_DIALECTS, type TestApp } from '../support/test-app.ts';

const raw = (process: string, at: string, cpu: number, gpu: number | null): ResourceSampleTable => ({
  process,
  at,
  resolution: 60,
  samples: 1,
  cpu_percent: cpu,
  memory_percent: 50,
  gpu_percent: gpu,
  gpu_memory_percent: null,
  queue_depth: 2,
  running: 1,
});

describe.each(TEST_DIALECTS)('resource sampler housekeeping on %s', (dialect) => {
  let t: TestApp;
  const clock = fixedClock('2026-03-10T12:30:00.000Z');
  beforeAll(async () => {
    t = await createTestApp(dialect, { ANALYTICS_SAMPLE_RAW_HOURS: '24', ANALYTICS_SAMPLE_RETENTION_DAYS: '7', ANALYTICS_SAMPLE_INTERVAL_S: '60' }, { clock });
  });
  afterAll(async () => t?.close());

  it('folds old raw samples of this process into hourly averages and prunes past retention', async () => {
    const db = t.container.database.db;
    const me = t.container.resourceSampler.process;
    await db
      .insertInto('resource_sample')
      .values([
        raw(me, '2026-03-08T10:05:00.000Z', 10, null),
        raw(me, '2026-03-08T10:35:00.000Z', 30, 90),
        raw(me, '2026-03-10T12:00:00.000Z', 70, null), // recent: stays raw
        raw('other:1', '2026-03-08T10:10:00.000Z', 99, null), // another process's rows are its own to fold
        raw('gone:2', '2026-02-01T00:00:00.000Z', 1, null), // past retention
      ])
      .execute();
    await t.container.resourceSampler.housekeeping(clock.now());
    const rows = (await db.selectFrom('resource_sample').selectAll().orderBy('at').execute()).sort((a, b) => Number(a.process !== me) - Number(b.process !== me));
    expect(rows.map((r) => [r.process, r.at, r.resolution, r.samples])).toEqual([
      [me, '2026-03-08T10:00:00.000Z', 3600, 2],
      [me, '2026-03-10T12:00:00.000Z', 60, 1],
      ['other:1', '2026-03-08T10:10:00.000Z', 60, 1],
    ]);
    expect(rows[0]).toMatchObject({ cpu_percent: 20, gpu_percent: 90, queue_depth: 2 });

    // The chart weights hourly rows by the samples they stand for.
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/analytics/timeseries?from=2026-03-08T00:00:00Z&to=2026-03-09T00:00:00Z' });
    const point = res.json().resource_usage.find((p: { timestamp: string }) => p.timestamp === '2026-03-08T10:00:00.000Z');
    expect(point).toMatchObject({ samples: 3, cpu_percent: Math.round(((20 * 2 + 99) / 3) * 100) / 100 });
  });

  it('samples nothing when sampling is off and stops cleanly', async () => {
    await t.container.resourceSampler.stop();
    await t.container.resourceSampler.stop();
  });
});
