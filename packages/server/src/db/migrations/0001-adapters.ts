import { sql, type Kysely } from 'kysely';
import type { DialectHelpers } from '../dialect.ts';

/** The adapter catalogue: adapters, their tags, and key/value settings. */
export function up0001(d: DialectHelpers) {
  return async (db: Kysely<any>): Promise<void> => {
    await db.schema
      .createTable('adapter')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('name_key', 'text', (c) => c.notNull())
      .addColumn('version', 'text')
      .addColumn('canonical_version_name', 'text')
      .addColumn('description', 'text')
      .addColumn('author_username', 'text')
      .addColumn('visibility', 'text', (c) => c.notNull().defaultTo('Public'))
      .addColumn('published_at', 'text')
      .addColumn('trained_words', 'text', (c) => c.notNull().defaultTo('[]'))
      .addColumn('triggers', 'text', (c) => c.notNull().defaultTo('[]'))
      .addColumn('file_path', 'text', (c) => c.notNull())
      .addColumn('weight', d.float, (c) => c.notNull().defaultTo(1))
      .addColumn('active', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('ordinal', 'integer')
      .addColumn('archetype', 'text')
      .addColumn('archetype_confidence', d.float)
      .addColumn('primary_file_name', 'text')
      .addColumn('primary_file_size_kb', d.bigint)
      .addColumn('primary_file_sha256', 'text')
      .addColumn('primary_file_download_url', 'text')
      .addColumn('primary_file_local_path', 'text')
      .addColumn('supports_generation', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('sd_version', 'text')
      .addColumn('nsfw_level', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('activation_text', 'text')
      .addColumn('stats', 'text')
      .addColumn('extra', 'text')
      .addColumn('json_file_path', 'text')
      .addColumn('json_file_mtime', 'text')
      .addColumn('json_file_size', d.bigint)
      .addColumn('last_ingested_at', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addColumn('library_root', 'text')
      .addColumn('relative_path', 'text')
      .addColumn('file_size', d.bigint)
      .addColumn('file_mtime', 'text')
      .addColumn('sha256', 'text')
      .addColumn('autov1', 'text')
      .addColumn('autov2', 'text')
      .addColumn('autov3', 'text')
      .addColumn('hash_status', 'text')
      .addColumn('base_model', 'text')
      .addColumn('network_type', 'text')
      .addColumn('rank', 'integer')
      .addColumn('alpha', d.float)
      .addColumn('resolution', 'text')
      .addColumn('preview_path', 'text')
      .addColumn('negative_text', 'text')
      .addColumn('preferred_weight', d.float)
      .addColumn('civitai_model_id', d.bigint)
      .addColumn('civitai_version_id', d.bigint)
      .addColumn('civitai_status', 'text')
      .addColumn('missing', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('favorite', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('rating', 'integer')
      .addColumn('notes', 'text')
      .execute();

    // One index per filter and sort the API offers; sorts tie-break on name_key then id so pages are stable.
    const indexes: Array<[string, string[]]> = [
      ['ix_adapter_name_key', ['name_key', 'id']],
      ['ix_adapter_name_version', ['name', 'version']],
      ['ix_adapter_active_ordinal', ['active', 'ordinal', 'name']],
      ['ix_adapter_created_at', ['created_at', 'name_key', 'id']],
      ['ix_adapter_updated_at', ['updated_at', 'name_key', 'id']],
      ['ix_adapter_size', ['primary_file_size_kb', 'name_key', 'id']],
      ['ix_adapter_rating', ['rating', 'name_key', 'id']],
      ['ix_adapter_weight', ['weight', 'name_key', 'id']],
      ['ix_adapter_ordinal', ['ordinal', 'name_key', 'id']],
      ['ix_adapter_base_model', ['base_model', 'name_key', 'id']],
      ['ix_adapter_nsfw_level', ['nsfw_level', 'name_key', 'id']],
      ['ix_adapter_published_at', ['published_at', 'name_key', 'id']],
      ['ix_adapter_last_ingested_at', ['last_ingested_at', 'name_key', 'id']],
      ['ix_adapter_network_type', ['network_type']],
      ['ix_adapter_favorite', ['favorite']],
      ['ix_adapter_missing', ['missing']],
      ['ix_adapter_file_path', ['file_path']],
      ['ix_adapter_sha256', ['sha256']],
      ['ix_adapter_json_file_path', ['json_file_path']],
    ];
    for (const [name, columns] of indexes) {
      await db.schema.createIndex(name).on('adapter').columns(columns).execute();
    }

    await db.schema
      .createTable('adapter_tag')
      .addColumn('adapter_id', 'text', (c) => c.notNull().references('adapter.id').onDelete('cascade'))
      .addColumn('tag', 'text', (c) => c.notNull())
      .addColumn('tag_key', 'text', (c) => c.notNull())
      .addColumn('origin', 'text', (c) => c.notNull())
      .addColumn('position', 'integer', (c) => c.notNull().defaultTo(0))
      .addPrimaryKeyConstraint('pk_adapter_tag', ['adapter_id', 'tag_key'])
      .execute();
    await db.schema.createIndex('ix_adapter_tag_key').on('adapter_tag').columns(['tag_key', 'origin', 'adapter_id']).execute();

    await db.schema
      .createTable('setting')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('value', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();

    await createSearchIndex(db, d);
  };
}

/**
 * What `search` matches: one lower-cased text per adapter (name, description, tags, trained words, triggers) in a
 * narrow table with a substring index, so a search never scans the wide adapter rows. SQLite: FTS5 with the
 * trigram tokenizer. PostgreSQL: a pg_trgm GIN index where the extension is available (plain scan otherwise).
 */
async function createSearchIndex(db: Kysely<any>, d: DialectHelpers): Promise<void> {
  if (d.name === 'sqlite') {
    await sql`create virtual table adapter_search using fts5(adapter_id unindexed, text, tokenize = 'trigram')`.execute(db);
    return;
  }
  await db.schema
    .createTable('adapter_search')
    .addColumn('adapter_id', 'text', (c) => c.primaryKey().references('adapter.id').onDelete('cascade'))
    .addColumn('text', 'text', (c) => c.notNull())
    .execute();
  const available = await sql<{ n: number }>`select count(*)::int as n from pg_available_extensions where name = 'pg_trgm'`.execute(db);
  if ((available.rows[0]?.n ?? 0) > 0) {
    await sql`create extension if not exists pg_trgm`.execute(db);
    await sql`create index ix_adapter_search_trgm on adapter_search using gin (text gin_trgm_ops)`.execute(db);
  }
}
