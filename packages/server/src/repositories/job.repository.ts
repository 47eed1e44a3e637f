import { TERMINAL_JOB_STATUSES, type Job, type JobProgress, type JobStatus } from '@lora-manager/contract';
import { sql, type Kysely } from 'kysely';
import type { DB, JobTable } from '../db/tables.ts';
import { ACTIVE_JOB_STATUSES } from '../lib/job-statuses.ts';

const ACTIVE = [...ACTIVE_JOB_STATUSES];

export interface NewJob {
  id: string;
  kind: string;
  payload: Record<string, unknown>;
  maxAttempts: number;
  group: string | null;
  now: string;
  /** Also write its outbox row in the same transaction (the scaled queue hands it to Redis from there). */
  outbox?: boolean;
}

export interface WaitingJob {
  job: Job;
  /** Earliest start (ISO): a retry's backoff. */
  runAfter: string;
}

/** Job rows. State changes are guarded in SQL so a late writer can never overwrite a terminal state. */
export class JobRepository {
  constructor(private readonly db: Kysely<DB>) {}

  async create(job: NewJob): Promise<Job> {
    const row: JobTable = {
      id: job.id,
      kind: job.kind,
      status: 'pending',
      payload: JSON.stringify(job.payload),
      result: null,
      error: null,
      progress: 0,
      progress_detail: null,
      attempts: 0,
      max_attempts: job.maxAttempts,
      queue_group: job.group,
      run_after: job.now,
      heartbeat_at: null,
      created_at: job.now,
      started_at: null,
      finished_at: null,
      updated_at: job.now,
    };
    if (job.outbox) {
      await this.db.transaction().execute(async (trx) => {
        await trx.insertInto('job').values(row).execute();
        await trx.insertInto('job_outbox').values({ job_id: row.id, attempt: 0, created_at: job.now }).execute();
      });
    } else {
      await this.db.insertInto('job').values(row).execute();
    }
    return toJob(row);
  }

  async findById(id: string): Promise<Job | undefined> {
    const row = await this.db.selectFrom('job').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toJob(row) : undefined;
  }

  async list(filter: { kind?: string; statuses?: JobStatus[]; limit: number; offset: number }): Promise<{ items: Job[]; total: number }> {
    let q = this.db.selectFrom('job');
    if (filter.kind) q = q.where('kind', '=', filter.kind);
    if (filter.statuses?.length) q = q.where('status', 'in', filter.statuses);
    const total = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const rows = await q.selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(filter.limit).offset(filter.offset).execute();
    return { items: rows.map(toJob), total: Number(total.n) };
  }

  /**
   * The oldest job of `kind` that may start now, skipping groups that already have a job running. Returns ids only;
   * `claim` decides who gets it.
   */
  async nextRunnable(kind: string, now: string, busyGroups: readonly string[], limit: number): Promise<Array<{ id: string; group: string | null }>> {
    let q = this.db
      .selectFrom('job')
      .select(['id', 'queue_group'])
      .where('status', 'in', ['pending', 'retrying'])
      .where('kind', '=', kind)
      .where('run_after', '<=', now);
    if (busyGroups.length > 0) q = q.where((eb) => eb.or([eb('queue_group', 'is', null), eb('queue_group', 'not in', busyGroups)]));
    const rows = await q.orderBy('run_after').orderBy('created_at').limit(limit).execute();
    return rows.map((r) => ({ id: r.id, group: r.queue_group }));
  }

  /** Earliest run_after among waiting jobs of these kinds, to time the next wake-up. */
  async nextWakeUp(kinds: readonly string[]): Promise<string | null> {
    if (kinds.length === 0) return null;
    const row = await this.db
      .selectFrom('job')
      .select((eb) => eb.fn.min('run_after').as('at'))
      .where('status', 'in', ['pending', 'retrying'])
      .where('kind', 'in', kinds)
      .executeTakeFirst();
    return (row?.at as string | null) ?? null;
  }

  /** pending/retrying → running, atomically. Returns the job when this caller won it. */
  async claim(id: string, now: string): Promise<Job | undefined> {
    const result = await this.db
      .updateTable('job')
      .set({
        status: 'running',
        attempts: sql`attempts + 1`,
        started_at: sql`coalesce(started_at, ${now})`,
        heartbeat_at: now,
        updated_at: now,
        error: null,
      })
      .where('id', '=', id)
      .where('status', 'in', ['pending', 'retrying'])
      .executeTakeFirst();
    return result.numUpdatedRows > 0n ? this.findById(id) : undefined;
  }

  /** `attempt` fences a runner that lost the job (its heartbeat went stale and another worker took it over). */
  async saveProgress(id: string, progress: JobProgress, now: string, attempt?: number): Promise<Job | undefined> {
    let q = this.db
      .updateTable('job')
      .set({ progress: clamp01(progress.progress), progress_detail: JSON.stringify(progress), heartbeat_at: now, updated_at: now })
      .where('id', '=', id)
      .where('status', '=', 'running');
    if (attempt !== undefined) q = q.where('attempts', '=', attempt);
    const result = await q.executeTakeFirst();
    return result.numUpdatedRows > 0n ? this.findById(id) : undefined;
  }

  /**
   * running → succeeded/failed. No effect once the job is terminal (e.g. cancelled meanwhile), nor, with `attempt`,
   * once the row belongs to a later attempt: a runner taken for dead never writes over the one that took over.
   */
  async finish(
    id: string,
    status: 'succeeded' | 'failed',
    fields: { result?: unknown; error?: string | null },
    now: string,
    attempt?: number,
  ): Promise<Job | undefined> {
    let q = this.db
      .updateTable('job')
      .set({
        status,
        result: fields.result === undefined ? null : JSON.stringify(fields.result),
        error: fields.error ?? null,
        progress: status === 'succeeded' ? 1 : sql`progress`,
        finished_at: now,
        updated_at: now,
      })
      .where('id', '=', id)
      .where('status', 'not in', TERMINAL_JOB_STATUSES);
    if (attempt !== undefined) q = q.where('status', '=', 'running').where('attempts', '=', attempt);
    const result = await q.executeTakeFirst();
    return result.numUpdatedRows > 0n ? this.findById(id) : undefined;
  }

  /** running → retrying with a later start (fenced by `attempt` like `finish`). */
  async retryLater(id: string, error: string, runAfter: string, now: string, attempt?: number): Promise<Job | undefined> {
    let q = this.db
      .updateTable('job')
      .set({ status: 'retrying', error, run_after: runAfter, updated_at: now })
      .where('id', '=', id)
      .where('status', '=', 'running');
    if (attempt !== undefined) q = q.where('attempts', '=', attempt);
    const result = await q.executeTakeFirst();
    return result.numUpdatedRows > 0n ? this.findById(id) : undefined;
  }

  /** pending/running/retrying → cancelled. Returns the job when it was cancellable. */
  async cancel(id: string, now: string): Promise<Job | undefined> {
    const result = await this.db
      .updateTable('job')
      .set({ status: 'cancelled', finished_at: now, updated_at: now, error: null })
      .where('id', '=', id)
      .where('status', 'in', ACTIVE)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n ? this.findById(id) : undefined;
  }

  /**
   * Mark running jobs as alive (scaled mode: other workers take over jobs whose heartbeat goes stale). Returns the
   * ids that are no longer this runner's (cancelled, or taken over by another worker after a stale heartbeat), so
   * the runner can stop them.
   */
  async heartbeat(runs: ReadonlyArray<{ id: string; attempt: number }>, now: string): Promise<string[]> {
    if (runs.length === 0) return [];
    const ids = runs.map((r) => r.id);
    await this.db.updateTable('job').set({ heartbeat_at: now }).where('id', 'in', ids).where('status', '=', 'running').execute();
    const rows = await this.db.selectFrom('job').select(['id', 'status', 'attempts']).where('id', 'in', ids).execute();
    const current = new Map(rows.map((r) => [r.id, r]));
    return runs.filter((r) => current.get(r.id)?.status !== 'running' || current.get(r.id)?.attempts !== r.attempt).map((r) => r.id);
  }

  /** Remember that this attempt still has to reach Redis (the hand-off failed). */
  async addToOutbox(id: string, attempt: number, now: string): Promise<void> {
    await this.db.insertInto('job_outbox').values({ job_id: id, attempt, created_at: now }).onConflict((oc) => oc.doNothing()).execute();
  }

  /** The oldest attempts still waiting for their hand-off to Redis. */
  async outbox(limit: number): Promise<Array<{ job_id: string; attempt: number }>> {
    return this.db.selectFrom('job_outbox').select(['job_id', 'attempt']).orderBy('created_at').orderBy('job_id').limit(limit).execute();
  }

  async removeFromOutbox(id: string, attempt: number): Promise<void> {
    await this.db.deleteFrom('job_outbox').where('job_id', '=', id).where('attempt', '=', attempt).execute();
  }

  /** Waiting jobs of these kinds, oldest first, with when each may start (rebuilding Redis's queues after a flush). */
  async waiting(kinds: readonly string[], limit: number): Promise<WaitingJob[]> {
    if (kinds.length === 0) return [];
    const rows = await this.db
      .selectFrom('job')
      .selectAll()
      .where('status', 'in', ['pending', 'retrying'])
      .where('kind', 'in', kinds)
      .orderBy('created_at')
      .limit(limit)
      .execute();
    return rows.map((row) => ({ job: toJob(row), runAfter: row.run_after }));
  }

  /** One job if it is waiting, with when it may start. */
  async findWaiting(id: string): Promise<WaitingJob | undefined> {
    const row = await this.db.selectFrom('job').selectAll().where('id', '=', id).where('status', 'in', ['pending', 'retrying']).executeTakeFirst();
    return row ? { job: toJob(row), runAfter: row.run_after } : undefined;
  }

  /**
   * Jobs left `running` by a process that died. With `staleBefore` only those whose heartbeat is older (several
   * workers share the database); without it, all of them (the embedded queue is the only runner).
   */
  async findOrphans(staleBefore?: string): Promise<Job[]> {
    let q = this.db.selectFrom('job').selectAll().where('status', '=', 'running');
    if (staleBefore) q = q.where((eb) => eb.or([eb('heartbeat_at', 'is', null), eb('heartbeat_at', '<', staleBefore)]));
    return (await q.execute()).map(toJob);
  }

  /** A recovered orphan: back to retrying when attempts remain, else failed with the reason. */
  async recover(job: Job, now: string): Promise<Job | undefined> {
    const retry = job.attempts < job.max_attempts;
    const result = await this.db
      .updateTable('job')
      .set(
        retry
          ? { status: 'retrying', run_after: now, updated_at: now, error: 'interrupted: the process running it stopped' }
          : { status: 'failed', finished_at: now, updated_at: now, error: 'interrupted: the process running it stopped, no attempts left' },
      )
      .where('id', '=', job.id)
      .where('status', '=', 'running')
      .executeTakeFirst();
    return result.numUpdatedRows > 0n ? this.findById(job.id) : undefined;
  }

  async countByStatus(): Promise<Record<string, number>> {
    const rows = await this.db.selectFrom('job').select(['status', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('status').execute();
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  }

  /** Pending, running or retrying jobs, optionally only of some kinds. */
  async countActive(kinds?: readonly string[]): Promise<number> {
    let q = this.db.selectFrom('job').select((eb) => eb.fn.countAll<number>().as('n')).where('status', 'in', ACTIVE);
    if (kinds) {
      if (kinds.length === 0) return 0;
      q = q.where('kind', 'in', kinds);
    }
    return Number((await q.executeTakeFirstOrThrow()).n);
  }
}

function clamp01(n: number): number {
  return Number.isFinite(n) ? Math.min(1, Math.max(0, n)) : 0;
}

function parse(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

export function toJob(row: JobTable): Job {
  return {
    id: row.id,
    kind: row.kind,
    status: row.status as JobStatus,
    progress: Number(row.progress),
    progress_detail: parse(row.progress_detail) as Job['progress_detail'],
    payload: (parse(row.payload) as Record<string, unknown>) ?? {},
    result: parse(row.result),
    error: row.error,
    attempts: row.attempts,
    max_attempts: row.max_attempts,
    queue_group: row.queue_group,
    created_at: row.created_at,
    started_at: row.started_at,
    finished_at: row.finished_at,
    updated_at: row.updated_at,
  };
}
