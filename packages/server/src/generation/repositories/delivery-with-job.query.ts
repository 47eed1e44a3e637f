import type { Kysely } from 'kysely';
import type { DB, DeliveryJobTable, JobTable } from '../../db/tables.ts';

/** A delivery row with the status, progress and result of its `job` row (the one truth for status). */
export type DeliveryWithJob = DeliveryJobTable &
  Pick<JobTable, 'status' | 'result' | 'error' | 'progress' | 'progress_detail' | 'attempts' | 'max_attempts' | 'started_at' | 'finished_at'>;

/** Deliveries joined to their job rows; shared by the delivery and the generation-result repositories. */
export function selectDeliveryWithJob(db: Kysely<DB>) {
  return db
    .selectFrom('delivery_job as d')
    .innerJoin('job as j', 'j.id', 'd.id')
    .selectAll('d')
    .select(['j.status', 'j.result', 'j.error', 'j.progress', 'j.progress_detail', 'j.attempts', 'j.max_attempts', 'j.started_at', 'j.finished_at']);
}
