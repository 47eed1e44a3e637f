import { sql, type Kysely } from 'kysely';
import type { DB } from '../../db/tables.ts';
import { ACTIVE_JOB_STATUSES } from '../../lib/job-statuses.ts';

export interface BucketTotals {
  bucket: string;
  finished: number;
  succeeded: number;
  failed: number;
  duration_ms_sum: number;
  duration_count: number;
}

export interface ErrorTotal {
  signature: string;
  count: number;
  example: string;
}

export interface LoraTotal {
  lora_key: string;
  adapter_id: string | null;
  name: string;
  uses: number;
  succeeded: number;
  failed: number;
}

export interface ResourceBucket {
  bucket: string;
  cpu_percent: number;
  memory_percent: number;
  gpu_percent: number | null;
  gpu_memory_percent: number | null;
  queue_depth: number;
  samples: number;
}

export interface AdapterUsageRow {
  id: string;
  name: string;
  use_count: number;
  use_succeeded: number;
  use_failed: number;
  last_used_at: string | null;
  result_rating_sum: number;
  result_rating_count: number;
  result_favorite_count: number;
}

/** Key prefixes: 13 characters of an ISO time for hours, 10 for days. */
export type KeyLength = 13 | 10;

/**
 * Reads for analytics, from the roll-ups (a month of a busy installation is ~720 hourly rows, not 300,000 jobs).
 * Bucket bounds are roll-up keys (`YYYY-MM-DDTHH` or `YYYY-MM-DD`), both inclusive.
 */
export class AnalyticsRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** Finished generations per bucket (hours folded into days when keyLength is 10). */
  async generationBuckets(firstHour: string, lastHour: string, keyLength: KeyLength): Promise<BucketTotals[]> {
    const bucket = sql<string>`substr(hour, 1, ${sql.lit(keyLength)})`;
    const rows = await this.db
      .selectFrom('generation_hourly')
      .select([
        bucket.as('bucket'),
        sql<number>`sum(finished)`.as('finished'),
        sql<number>`sum(succeeded)`.as('succeeded'),
        sql<number>`sum(failed)`.as('failed'),
        sql<number>`sum(duration_ms_sum)`.as('duration_ms_sum'),
        sql<number>`sum(duration_count)`.as('duration_count'),
      ])
      .where('hour', '>=', firstHour)
      .where('hour', '<=', lastHour)
      .groupBy(bucket)
      .execute();
    return rows.map((r) => ({
      bucket: r.bucket,
      finished: Number(r.finished),
      succeeded: Number(r.succeeded),
      failed: Number(r.failed),
      duration_ms_sum: Number(r.duration_ms_sum),
      duration_count: Number(r.duration_count),
    }));
  }

  /** Generations queued, running or waiting to retry that were created in [from, to): counted, not yet finished. */
  async inProgress(from: string, to: string): Promise<number> {
    const row = await this.db
      .selectFrom('job')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('status', 'in', [...ACTIVE_JOB_STATUSES])
      .where('kind', '=', 'generation')
      // Wrapped so the planner takes the (few) active jobs from the status index instead of walking a month of
      // created_at: without statistics SQLite prefers the range, which costs ~5 µs per job in the window.
      .where(sql<string>`(created_at || '')`, '>=', from)
      .where(sql<string>`(created_at || '')`, '<', to)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async errors(firstHour: string, lastHour: string, limit: number): Promise<ErrorTotal[]> {
    const rows = await this.db
      .selectFrom('generation_error_hourly')
      .select(['signature', sql<number>`sum(count)`.as('count'), sql<string>`max(example)`.as('example')])
      .where('hour', '>=', firstHour)
      .where('hour', '<=', lastHour)
      .groupBy('signature')
      .orderBy(sql`sum(count)`, 'desc')
      .orderBy('signature')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ signature: r.signature, count: Number(r.count), example: r.example }));
  }

  /**
   * Most used LoRAs over whole days, exactly, without summing every LoRA's days: LoRAs are visited in order of
   * all-time uses (an index), their uses in the window summed from their own daily rows, and the search ends when
   * the next LoRA's all-time uses cannot beat the current last place. Usage is skewed (a few favourites, a long
   * tail), so a month of a busy installation is settled after one or two batches, not 100,000 rows.
   */
  async topLorasByDay(firstDay: string, lastDay: string, limit: number): Promise<LoraTotal[]> {
    const BATCH = 50;
    const best: LoraTotal[] = [];
    let floor = -1;
    for (let offset = 0; ; offset += BATCH) {
      const candidates = await this.db
        .selectFrom('lora_usage_total')
        .select(['lora_key', 'uses'])
        .orderBy('uses', 'desc')
        .orderBy('lora_key')
        .limit(BATCH)
        .offset(offset)
        .execute();
      const open = candidates.filter((c) => best.length < limit || Number(c.uses) >= floor);
      if (open.length > 0) {
        const rows = await this.db
          .selectFrom('lora_usage_daily')
          .select([
            'lora_key',
            sql<string | null>`max(adapter_id)`.as('adapter_id'),
            sql<string>`max(name)`.as('name'),
            sql<number>`sum(uses)`.as('uses'),
            sql<number>`sum(succeeded)`.as('succeeded'),
            sql<number>`sum(failed)`.as('failed'),
          ])
          .where('lora_key', 'in', open.map((c) => c.lora_key))
          .where('day', '>=', firstDay)
          .where('day', '<=', lastDay)
          .groupBy('lora_key')
          .execute();
        best.push(...rows.map(numericLora));
        best.sort((a, b) => b.uses - a.uses || (a.lora_key < b.lora_key ? -1 : 1));
        best.splice(limit);
        if (best.length === limit) floor = best[limit - 1].uses;
      }
      // Candidates come in falling all-time order: once one cannot reach the last place, none after it can.
      if (candidates.length < BATCH || (best.length === limit && Number(candidates[candidates.length - 1].uses) < floor)) break;
    }
    return best;
  }

  /** Most used LoRAs of finished generations created in [from, to), exactly (hour-sized windows: few jobs). */
  async topLorasBetween(from: string, to: string, limit: number): Promise<LoraTotal[]> {
    const key = sql<string>`coalesce(a.adapter_id, 'name:' || lower(a.name))`;
    const rows = await this.db
      .selectFrom('delivery_job as d')
      .innerJoin('job as j', 'j.id', 'd.id')
      .innerJoin('delivery_adapter as a', 'a.job_id', 'd.id')
      .select([
        key.as('lora_key'),
        sql<string | null>`max(a.adapter_id)`.as('adapter_id'),
        sql<string>`max(a.name)`.as('name'),
        sql<number>`count(distinct d.id)`.as('uses'),
        sql<number>`count(distinct case when j.status = 'succeeded' then d.id end)`.as('succeeded'),
        sql<number>`count(distinct case when j.status = 'failed' then d.id end)`.as('failed'),
      ])
      .where('d.kind', '=', 'generation')
      .where('d.created_at', '>=', from)
      .where('d.created_at', '<', to)
      .where('j.status', 'in', ['succeeded', 'failed'])
      .groupBy(key)
      .orderBy(sql`count(distinct d.id)`, 'desc')
      .orderBy(key)
      .limit(limit)
      .execute();
    return rows.map(numericLora);
  }

  async adapterCounts(): Promise<{ total: number; active: number; neverUsed: number }> {
    const row = await this.db
      .selectFrom('adapter')
      .select([
        (eb) => eb.fn.countAll<number>().as('total'),
        sql<number>`coalesce(sum(case when active = 1 then 1 else 0 end), 0)`.as('active'),
        sql<number>`coalesce(sum(case when use_count = 0 then 1 else 0 end), 0)`.as('never'),
      ])
      .executeTakeFirstOrThrow();
    return { total: Number(row.total), active: Number(row.active), neverUsed: Number(row.never) };
  }

  /** Per-adapter usage, for the "top" and "never used" tables: walks the use_count / last_used_at indexes. */
  async adapterUsage(sort: 'most_used' | 'least_used' | 'last_used', neverUsed: boolean, limit: number): Promise<AdapterUsageRow[]> {
    let q = this.db
      .selectFrom('adapter')
      .select(['id', 'name', 'use_count', 'use_succeeded', 'use_failed', 'last_used_at', 'result_rating_sum', 'result_rating_count', 'result_favorite_count']);
    if (neverUsed) q = q.where('use_count', '=', 0);
    if (sort === 'last_used') q = q.where('last_used_at', 'is not', null).orderBy('last_used_at', 'desc').orderBy('name_key', 'desc');
    else if (sort === 'least_used') q = q.orderBy('use_count', 'asc').orderBy('name_key', 'asc');
    else q = q.orderBy('use_count', 'desc').orderBy('name_key', 'desc');
    const rows = await q.orderBy('id').limit(limit).execute();
    return rows.map((r) => ({
      ...r,
      use_count: Number(r.use_count),
      use_succeeded: Number(r.use_succeeded),
      use_failed: Number(r.use_failed),
      result_rating_sum: Number(r.result_rating_sum),
      result_rating_count: Number(r.result_rating_count),
      result_favorite_count: Number(r.result_favorite_count),
    }));
  }

  /** Measured resource samples per bucket, weighted by how many samples each row stands for, across processes. */
  async resourceBuckets(from: string, to: string, keyLength: KeyLength): Promise<ResourceBucket[]> {
    const bucket = sql<string>`substr(at, 1, ${sql.lit(keyLength)})`;
    const rows = await this.db
      .selectFrom('resource_sample')
      .select([
        bucket.as('bucket'),
        sql<number>`sum(cpu_percent * samples) / sum(samples)`.as('cpu_percent'),
        sql<number>`sum(memory_percent * samples) / sum(samples)`.as('memory_percent'),
        sql<number | null>`sum(gpu_percent * samples) / nullif(sum(case when gpu_percent is null then 0 else samples end), 0)`.as('gpu_percent'),
        sql<number | null>`sum(gpu_memory_percent * samples) / nullif(sum(case when gpu_memory_percent is null then 0 else samples end), 0)`.as(
          'gpu_memory_percent',
        ),
        sql<number>`sum(queue_depth * samples) / sum(samples)`.as('queue_depth'),
        sql<number>`sum(samples)`.as('samples'),
      ])
      .where('at', '>=', from)
      .where('at', '<', to)
      .groupBy(bucket)
      .orderBy(bucket)
      .execute();
    const num = (v: number | null) => (v === null ? null : Number(v));
    return rows.map((r) => ({
      bucket: r.bucket,
      cpu_percent: Number(r.cpu_percent),
      memory_percent: Number(r.memory_percent),
      gpu_percent: num(r.gpu_percent),
      gpu_memory_percent: num(r.gpu_memory_percent),
      queue_depth: Number(r.queue_depth),
      samples: Number(r.samples),
    }));
  }
}

function numericLora(r: LoraTotal): LoraTotal {
  return { ...r, uses: Number(r.uses), succeeded: Number(r.succeeded), failed: Number(r.failed) };
}
