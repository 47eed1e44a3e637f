import type { Kysely } from 'kysely';
import type { DialectHelpers } from '../dialect.ts';

/**
 * Deliveries and generations. Each `delivery_job` row shares its id with a `job` row, which alone holds status,
 * progress, result and error; this table holds the request and what the history shows and filters on. Images are
 * files under OUTPUT_DIR; `generation_image` only references them. `delivery_adapter` records which adapters each
 * job used, with their weights, for analytics and "results that used this LoRA".
 */
export function up0004(d: DialectHelpers) {
  return async (db: Kysely<any>): Promise<void> => {
    await db.schema
      .createTable('delivery_job')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('mode', 'text', (c) => c.notNull())
      .addColumn('backend', 'text')
      .addColumn('prompt', 'text', (c) => c.notNull())
      .addColumn('prompt_key', 'text', (c) => c.notNull())
      .addColumn('negative_prompt', 'text')
      .addColumn('params', 'text', (c) => c.notNull().defaultTo('{}'))
      .addColumn('width', 'integer')
      .addColumn('height', 'integer')
      .addColumn('steps', 'integer')
      .addColumn('cfg_scale', d.float)
      .addColumn('sampler_name', 'text')
      .addColumn('seed', d.bigint)
      .addColumn('image_count', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('generation_info', 'text')
      .addColumn('rating', 'integer')
      .addColumn('is_favorite', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('rating_updated_at', 'text')
      .addColumn('favorite_updated_at', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    const indexes: Array<[string, string[]]> = [
      ['ix_delivery_job_kind_created_at', ['kind', 'created_at', 'id']],
      ['ix_delivery_job_rating', ['rating', 'created_at']],
      ['ix_delivery_job_favorite', ['is_favorite', 'created_at']],
      ['ix_delivery_job_size', ['width', 'height']],
      ['ix_delivery_job_prompt_key', ['prompt_key']],
    ];
    for (const [name, columns] of indexes) await db.schema.createIndex(name).on('delivery_job').columns(columns).execute();

    await db.schema
      .createTable('generation_image')
      .addColumn('job_id', 'text', (c) => c.notNull().references('delivery_job.id').onDelete('cascade'))
      .addColumn('idx', 'integer', (c) => c.notNull())
      .addColumn('file', 'text', (c) => c.notNull())
      .addColumn('thumbnail', 'text')
      .addColumn('content_type', 'text', (c) => c.notNull())
      .addColumn('width', 'integer')
      .addColumn('height', 'integer')
      .addColumn('bytes', d.bigint, (c) => c.notNull())
      .addColumn('seed', d.bigint)
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('pk_generation_image', ['job_id', 'idx'])
      .execute();

    await db.schema
      .createTable('delivery_adapter')
      .addColumn('job_id', 'text', (c) => c.notNull().references('delivery_job.id').onDelete('cascade'))
      .addColumn('position', 'integer', (c) => c.notNull())
      .addColumn('adapter_id', 'text')
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('weight', d.float, (c) => c.notNull())
      .addPrimaryKeyConstraint('pk_delivery_adapter', ['job_id', 'position'])
      .execute();
    await db.schema.createIndex('ix_delivery_adapter_adapter_id').on('delivery_adapter').columns(['adapter_id', 'job_id']).execute();
  };
}
