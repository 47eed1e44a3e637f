import type { Job, JobStatus } from '@lora-manager/contract';
import { sql, type Kysely } from 'kysely';
import type { DB } from '../db/tables.ts';
import { ACTIVE_JOB_STATUSES } from '../lib/job-statuses.ts';
import { toJob } from './job.repository.ts';

export interface AdapterSummary {
  total: number;
  active: number;
  /** Ingested (or created) since the given time. */
  recent: number;
  /** Adapters the recommender can describe by more than their name: trigger words, tags or a description. */
  described: number;
  /** Latest of last_ingested_at / updated_at / created_at over all adapters. */
  lastActivity: string | null;
}

export interface JobSummary {
  /** Current counts for pending/running/retrying; terminal statuses counted over the window only. */
  byStatus: Partial<Record<JobStatus, number>>;
  /** Run time in seconds of the latest succeeded jobs in the window (for a queue ETA). */
  recentDurations: number[];
}

const ACTIVE = [...ACTIVE_JOB_STATUSES];

/** Read-only figures for the dashboard and system status, across the adapter and job tables. SQL only. */
export class DashboardRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** The cheapest round trip: does the database answer? */
  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }

  async adapterSummary(recentSince: string): Promise<AdapterSummary> {
    const row = await this.db
      .selectFrom('adapter as a')
      .select([
        (eb) => eb.fn.countAll<number>().as('total'),
        sql<number>`coalesce(sum(case when a.active = 1 then 1 else 0 end), 0)`.as('active'),
        sql<number>`coalesce(sum(case when coalesce(a.last_ingested_at, a.created_at) >= ${recentSince} then 1 else 0 end), 0)`.as('recent'),
        sql<number>`coalesce(sum(case when a.trained_words <> '[]' or a.triggers <> '[]'
          or coalesce(a.description, '') <> ''
          or exists (select 1 from adapter_tag t where t.adapter_id = a.id and t.origin <> 'removed')
          then 1 else 0 end), 0)`.as('described'),
        sql<string | null>`max(coalesce(a.last_ingested_at, a.updated_at, a.created_at))`.as('last_activity'),
      ])
      .executeTakeFirstOrThrow();
    return {
      total: Number(row.total),
      active: Number(row.active),
      recent: Number(row.recent),
      described: Number(row.described),
      lastActivity: row.last_activity ?? null,
    };
  }

  /** Active adapters, most recently changed first, then by name. */
  async featuredIds(limit: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('adapter')
      .select('id')
      .where('active', '=', 1)
      .orderBy(sql`coalesce(updated_at, created_at)`, 'desc')
      .orderBy('name')
      .limit(limit)
      .execute();
    return rows.map((r) => r.id);
  }

  async recentJobs(limit: number): Promise<Job[]> {
    const rows = await this.db.selectFrom('job').selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
    return rows.map(toJob);
  }

  async jobSummary(windowStart: string): Promise<JobSummary> {
    const counts = await this.db
      .selectFrom('job')
      .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
      .where((eb) => eb.or([eb('status', 'in', ACTIVE), eb(sql`coalesce(finished_at, updated_at)`, '>=', windowStart)]))
      .groupBy('status')
      .execute();
    const finished = await this.db
      .selectFrom('job')
      .select(['started_at', 'finished_at'])
      .where('status', '=', 'succeeded')
      .where('finished_at', '>=', windowStart)
      .where('started_at', 'is not', null)
      .orderBy('finished_at', 'desc')
      .limit(100)
      .execute();
    return {
      byStatus: Object.fromEntries(counts.map((r) => [r.status, Number(r.n)])),
      recentDurations: finished
        .map((r) => (Date.parse(r.finished_at ?? '') - Date.parse(r.started_at ?? '')) / 1000)
        .filter((s) => Number.isFinite(s) && s >= 0),
    };
  }
}
