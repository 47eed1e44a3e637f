import { sql, type Kysely } from 'kysely';
import type { DB, ResourceSampleTable } from '../../db/tables.ts';

const HOURLY = 3600;

/** Resource samples: each process writes its own rows, folds its old raw rows into hours, and anyone prunes. */
export class ResourceSampleRepository {
  constructor(private readonly db: Kysely<DB>) {}

  async insert(row: ResourceSampleTable): Promise<void> {
    await this.db
      .insertInto('resource_sample')
      .values(row)
      .onConflict((oc) => oc.columns(['process', 'resolution', 'at']).doNothing())
      .execute();
  }

  /** Jobs waiting (pending or retrying, due or backing off) and running now, all kinds: the queue's depth. */
  async queueCounts(): Promise<{ waiting: number; running: number }> {
    const rows = await this.db
      .selectFrom('job')
      .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
      .where('status', 'in', ['pending', 'retrying', 'running'])
      .groupBy('status')
      .execute();
    const count = (s: string) => Number(rows.find((r) => r.status === s)?.n ?? 0);
    return { waiting: count('pending') + count('retrying'), running: count('running') };
  }

  /**
   * Fold this process's raw rows of whole hours before `beforeHour` (an ISO time on an hour boundary) into one
   * hourly row each, in one transaction: a chart of 90 days reads ~2,000 rows per process, not 130,000.
   */
  async downsample(process: string, beforeHour: string): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      const hour = sql<string>`substr(at, 1, 13)`;
      const rows = await trx
        .selectFrom('resource_sample')
        .select([
          hour.as('hour'),
          sql<number>`sum(samples)`.as('samples'),
          sql<number>`sum(cpu_percent * samples) / sum(samples)`.as('cpu'),
          sql<number>`sum(memory_percent * samples) / sum(samples)`.as('memory'),
          sql<number | null>`sum(gpu_percent * samples) / nullif(sum(case when gpu_percent is null then 0 else samples end), 0)`.as('gpu'),
          sql<number | null>`sum(gpu_memory_percent * samples) / nullif(sum(case when gpu_memory_percent is null then 0 else samples end), 0)`.as('gpu_memory'),
          sql<number>`sum(queue_depth * samples) / sum(samples)`.as('queue'),
          sql<number>`sum(running * samples) / sum(samples)`.as('running'),
        ])
        .where('process', '=', process)
        .where('resolution', '<', HOURLY)
        .where('at', '<', beforeHour)
        .groupBy(hour)
        .execute();
      if (rows.length === 0) return 0;
      const nullable = (v: number | null) => (v === null ? null : Number(v));
      await trx
        .insertInto('resource_sample')
        .values(
          rows.map((r) => ({
            process,
            at: `${r.hour}:00:00.000Z`,
            resolution: HOURLY,
            samples: Number(r.samples),
            cpu_percent: Number(r.cpu),
            memory_percent: Number(r.memory),
            gpu_percent: nullable(r.gpu),
            gpu_memory_percent: nullable(r.gpu_memory),
            queue_depth: Number(r.queue),
            running: Number(r.running),
          })),
        )
        .onConflict((oc) => oc.columns(['process', 'resolution', 'at']).doNothing())
        .execute();
      const deleted = await trx
        .deleteFrom('resource_sample')
        .where('process', '=', process)
        .where('resolution', '<', HOURLY)
        .where('at', '<', beforeHour)
        .executeTakeFirst();
      return Number(deleted.numDeletedRows);
    });
  }

  /** Delete every process's samples older than `before` (processes that stopped long ago included). */
  async prune(before: string): Promise<number> {
    const result = await this.db.deleteFrom('resource_sample').where('at', '<', before).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
