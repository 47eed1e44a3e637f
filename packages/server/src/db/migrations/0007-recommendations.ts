import type { Kysely } from 'kysely';
import type { DialectHelpers } from '../dialect.ts';

/**
 * Recommendations (issue 13). `recommendation_feature` holds each adapter's features (JSON, before IDF), written
 * when the adapter changes; `seq` is the value of the `features` counter in `recommendation_state` at that write, so
 * a process holding the index in memory reads only the rows newer than what it has (a deleted adapter leaves a
 * tombstone row). Sessions, feedback and preferences are what the ranking learns from.
 */
export function up0007(d: DialectHelpers) {
  return async (db: Kysely<any>): Promise<void> => {
    await db.schema
      .createTable('recommendation_feature')
      .addColumn('adapter_id', 'text', (c) => c.primaryKey())
      .addColumn('features', 'text')
      .addColumn('source_updated_at', 'text')
      .addColumn('seq', d.bigint, (c) => c.notNull())
      .addColumn('deleted', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('computed_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('ix_recommendation_feature_seq').on('recommendation_feature').columns(['seq']).execute();

    await db.schema
      .createTable('recommendation_state')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('value', d.bigint, (c) => c.notNull())
      .execute();
    await db
      .insertInto('recommendation_state')
      .values([
        { key: 'features', value: 0 },
        { key: 'signals', value: 0 },
      ])
      .execute();

    await db.schema
      .createTable('recommendation_session')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('recommendation_type', 'text', (c) => c.notNull())
      .addColumn('context_key', 'text', (c) => c.notNull())
      .addColumn('target_lora_id', 'text')
      .addColumn('context_prompt', 'text')
      .addColumn('trigger_query', 'text')
      .addColumn('active_loras', 'text', (c) => c.notNull())
      .addColumn('recommendations', 'text', (c) => c.notNull())
      .addColumn('generated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('ix_recommendation_session_generated_at').on('recommendation_session').columns(['generated_at']).execute();

    await db.schema
      .createTable('recommendation_feedback')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('session_id', 'text', (c) => c.notNull().references('recommendation_session.id').onDelete('cascade'))
      .addColumn('recommended_lora_id', 'text', (c) => c.notNull())
      .addColumn('feedback_type', 'text', (c) => c.notNull())
      .addColumn('feedback_reason', 'text')
      .addColumn('implicit_signal', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('ix_recommendation_feedback_session').on('recommendation_feedback').columns(['session_id']).execute();
    await db.schema.createIndex('ix_recommendation_feedback_lora').on('recommendation_feedback').columns(['recommended_lora_id', 'created_at']).execute();

    await db.schema
      .createTable('user_preference')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('preference_type', 'text', (c) => c.notNull())
      .addColumn('preference_value', 'text', (c) => c.notNull())
      .addColumn('value_key', 'text', (c) => c.notNull())
      .addColumn('confidence', d.float, (c) => c.notNull())
      .addColumn('learned_from', 'text', (c) => c.notNull())
      .addColumn('evidence_count', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('last_evidence_at', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('ux_user_preference_type_value').on('user_preference').columns(['preference_type', 'value_key']).unique().execute();
  };
}
