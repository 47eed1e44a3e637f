import type { Kysely } from 'kysely';
import type { DialectHelpers } from '../dialect.ts';

/**
 * Analytics (issue 14). Reading a month of generations must not scan a month of job rows, so finished generations
 * are folded, as they finish, into small roll-ups: per hour (volume, outcomes, durations), per hour and normalised
 * error, and per day and LoRA. Each adapter carries its own usage totals so the catalogue can sort by "most used" and
 * "last used" on an index. Resource samples are measured by every serve/worker process and downsampled to hours.
 * The roll-ups are filled from existing jobs on first start (AnalyticsRollups.ensure), not here: that needs the
 * error normalisation in lib/.
 */
export function up0008(d: DialectHelpers) {
  return async (db: Kysely<any>): Promise<void> => {
    await db.schema
      .createTable('generation_hourly')
      .addColumn('hour', 'text', (c) => c.primaryKey())
      .addColumn('finished', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('succeeded', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('failed', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('duration_ms_sum', d.bigint, (c) => c.notNull().defaultTo(0))
      .addColumn('duration_count', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();

    await db.schema
      .createTable('generation_error_hourly')
      .addColumn('hour', 'text', (c) => c.notNull())
      .addColumn('signature', 'text', (c) => c.notNull())
      .addColumn('count', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('example', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('pk_generation_error_hourly', ['hour', 'signature'])
      .execute();

    await db.schema
      .createTable('lora_usage_daily')
      .addColumn('day', 'text', (c) => c.notNull())
      /** The adapter id, or `name:<lower-cased name>` for a LoRA the catalogue does not know. */
      .addColumn('lora_key', 'text', (c) => c.notNull())
      .addColumn('adapter_id', 'text')
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('uses', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('succeeded', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('failed', 'integer', (c) => c.notNull().defaultTo(0))
      .addPrimaryKeyConstraint('pk_lora_usage_daily', ['day', 'lora_key'])
      .execute();

    // A LoRA's uses in a window, found from its daily rows (see AnalyticsRepository.topLorasByDay).
    await db.schema.createIndex('ix_lora_usage_daily_key_day').on('lora_usage_daily').columns(['lora_key', 'day']).execute();
    /** All-time uses per LoRA: the order in which the top of a window is searched, and the bound that ends it. */
    await db.schema
      .createTable('lora_usage_total')
      .addColumn('lora_key', 'text', (c) => c.primaryKey())
      .addColumn('adapter_id', 'text')
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('uses', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema.createIndex('ix_lora_usage_total_uses').on('lora_usage_total').columns(['uses', 'lora_key']).execute();

    await db.schema
      .createTable('resource_sample')
      .addColumn('process', 'text', (c) => c.notNull())
      .addColumn('at', 'text', (c) => c.notNull())
      /** Seconds one row stands for: the sampling interval for raw rows, 3600 for hourly averages. */
      .addColumn('resolution', 'integer', (c) => c.notNull())
      .addColumn('samples', 'integer', (c) => c.notNull())
      .addColumn('cpu_percent', d.float, (c) => c.notNull())
      .addColumn('memory_percent', d.float, (c) => c.notNull())
      .addColumn('gpu_percent', d.float)
      .addColumn('gpu_memory_percent', d.float)
      .addColumn('queue_depth', d.float, (c) => c.notNull())
      .addColumn('running', d.float, (c) => c.notNull())
      .addPrimaryKeyConstraint('pk_resource_sample', ['process', 'resolution', 'at'])
      .execute();
    await db.schema.createIndex('ix_resource_sample_at').on('resource_sample').columns(['at']).execute();

    const usageColumns: Array<[string, 'integer' | 'text']> = [
      ['use_count', 'integer'],
      ['use_succeeded', 'integer'],
      ['use_failed', 'integer'],
      ['result_rating_sum', 'integer'],
      ['result_rating_count', 'integer'],
      ['result_favorite_count', 'integer'],
    ];
    for (const [name] of usageColumns) {
      await db.schema.alterTable('adapter').addColumn(name, 'integer', (c) => c.notNull().defaultTo(0)).execute();
    }
    await db.schema.alterTable('adapter').addColumn('last_used_at', 'text').execute();
    // The catalogue's sort indexes cover key, name_key and id (see adapter-listing.repository.ts).
    await db.schema.createIndex('ix_adapter_use_count').on('adapter').columns(['use_count', 'name_key', 'id']).execute();
    await db.schema.createIndex('ix_adapter_last_used_at').on('adapter').columns(['last_used_at', 'name_key', 'id']).execute();
  };
}
