import type { Kysely } from 'kysely';
import type { DialectHelpers } from '../dialect.ts';

/** Background jobs of every kind: the queue's truth in embedded and scaled mode alike. */
export function up0002(d: DialectHelpers) {
  return async (db: Kysely<any>): Promise<void> => {
    await db.schema
      .createTable('job')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull().defaultTo('{}'))
      .addColumn('result', 'text')
      .addColumn('error', 'text')
      .addColumn('progress', d.float, (c) => c.notNull().defaultTo(0))
      .addColumn('progress_detail', 'text')
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('max_attempts', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('queue_group', 'text')
      .addColumn('run_after', 'text', (c) => c.notNull())
      .addColumn('heartbeat_at', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('started_at', 'text')
      .addColumn('finished_at', 'text')
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('ix_job_status_kind_run_after').on('job').columns(['status', 'kind', 'run_after']).execute();
    await db.schema.createIndex('ix_job_kind_created_at').on('job').columns(['kind', 'created_at']).execute();
    await db.schema.createIndex('ix_job_created_at').on('job').columns(['created_at']).execute();
    await db.schema.createIndex('ix_job_queue_group_status').on('job').columns(['queue_group', 'status']).execute();
  };
}
