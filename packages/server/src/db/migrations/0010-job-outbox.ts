import type { Kysely } from 'kysely';
import type { DialectHelpers } from '../dialect.ts';

/**
 * The scaled queue's outbox: one row per job attempt that still has to be handed to Redis. It is written in the same
 * transaction as a new job row, so a job accepted while Redis is unreachable (or by a process that dies before the
 * hand-off) is handed over once Redis answers again; the row goes once BullMQ holds the attempt.
 */
export function up0010(_d: DialectHelpers) {
  return async (db: Kysely<any>): Promise<void> => {
    await db.schema
      .createTable('job_outbox')
      .addColumn('job_id', 'text', (c) => c.notNull().references('job.id').onDelete('cascade'))
      .addColumn('attempt', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('pk_job_outbox', ['job_id', 'attempt'])
      .execute();
    await db.schema.createIndex('ix_job_outbox_created_at').on('job_outbox').columns(['created_at']).execute();
  };
}
