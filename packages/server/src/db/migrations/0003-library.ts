import type { Kysely } from 'kysely';
import type { DialectHelpers } from '../dialect.ts';

/**
 * Library ingestion: per-adapter header metadata and scan state (large, so kept out of the adapter rows), cached
 * file hashes, and the files a scan could not catalogue.
 */
export function up0003(d: DialectHelpers) {
  return async (db: Kysely<any>): Promise<void> => {
    await db.schema
      .createTable('adapter_metadata')
      .addColumn('adapter_id', 'text', (c) => c.primaryKey().references('adapter.id').onDelete('cascade'))
      .addColumn('header_length', d.bigint)
      .addColumn('data_offset', d.bigint)
      .addColumn('tensor_count', 'integer')
      .addColumn('module_count', 'integer')
      .addColumn('fingerprint', 'text')
      .addColumn('base_model_source', 'text')
      .addColumn('base_family', 'text')
      .addColumn('metadata', 'text')
      .addColumn('training', 'text')
      .addColumn('tag_frequency', 'text')
      .addColumn('sidecars', 'text')
      .addColumn('civitai', 'text')
      .addColumn('embedded_data_hash', 'text')
      .addColumn('data_hash', 'text')
      .addColumn('autov3_verified', 'integer')
      .addColumn('user_fields', 'text', (c) => c.notNull().defaultTo('[]'))
      .addColumn('user_preview', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('scan_signature', 'text')
      .addColumn('hash_error', 'text')
      .addColumn('civitai_checked_at', 'text')
      .addColumn('scanned_at', 'text')
      .execute();
    await db.schema.createIndex('ix_adapter_metadata_fingerprint').on('adapter_metadata').column('fingerprint').execute();

    await db.schema
      .createTable('file_hash_cache')
      .addColumn('path', 'text', (c) => c.primaryKey())
      .addColumn('file_size', d.bigint, (c) => c.notNull())
      .addColumn('file_mtime', 'text', (c) => c.notNull())
      .addColumn('sha256', 'text', (c) => c.notNull())
      .addColumn('autov1', 'text', (c) => c.notNull())
      .addColumn('data_hash', 'text')
      .addColumn('computed_at', 'text', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('library_issue')
      .addColumn('path', 'text', (c) => c.primaryKey())
      .addColumn('library_root', 'text', (c) => c.notNull())
      .addColumn('file_size', d.bigint, (c) => c.notNull())
      .addColumn('file_mtime', 'text', (c) => c.notNull())
      .addColumn('code', 'text', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('seen_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('ix_library_issue_root').on('library_issue').column('library_root').execute();
  };
}
