import type { Kysely } from 'kysely';
import type { DialectHelpers } from '../dialect.ts';

/**
 * Backups (the archive files live in DATA_DIR/backups, these rows describe them) and committed archive imports.
 * An `archive_import` row is written in the same transaction as the adapters it brings, so after a crash the row
 * tells recovery whether the staged files belong to a committed import (move them into place) or not (delete them).
 */
export function up0005(d: DialectHelpers) {
  return async (db: Kysely<any>): Promise<void> => {
    await db.schema
      .createTable('backup')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('backup_type', 'text', (c) => c.notNull())
      .addColumn('trigger', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('file_name', 'text', (c) => c.notNull())
      .addColumn('size', d.bigint, (c) => c.notNull().defaultTo(0))
      .addColumn('sha256', 'text')
      .addColumn('adapter_count', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('file_count', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('note', 'text')
      .addColumn('error', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('completed_at', 'text')
      .execute();
    await db.schema.createIndex('ix_backup_created_at').on('backup').columns(['created_at']).execute();
    await db.schema.createIndex('ix_backup_trigger_created_at').on('backup').columns(['trigger', 'created_at']).execute();

    await db.schema
      .createTable('archive_import')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('mode', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('summary', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('committed_at', 'text')
      .execute();
    await db.schema.createIndex('ix_archive_import_created_at').on('archive_import').columns(['created_at']).execute();
  };
}
