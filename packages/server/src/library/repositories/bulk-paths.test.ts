import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateToLatest, openDatabase, type AppDatabase } from '../../db/database.ts';
import { AdapterRepository, type NewAdapter } from './adapter.repository.ts';
import { LibraryRepository, type AdapterMetadataRow } from './library.repository.ts';

/**
 * On SQLite a library scan writes through prepared statements (the bulk writer, inside a transaction) instead of
 * Kysely's multi-row inserts. Both paths must store exactly the same rows: the same adapters are written once
 * through each and compared column by column.
 */
describe('SQLite bulk writes store what the general path stores', () => {
  let database: AppDatabase;
  beforeAll(async () => {
    database = openDatabase('sqlite::memory:');
    await migrateToLatest(database);
  });
  afterAll(() => database.close());

  const now = '2026-01-02T03:04:05.678Z';
  const adapters = (prefix: string): Array<{ adapter: NewAdapter; sourceTags: string[] }> => [
    {
      // What a scan writes for a file with rich sidecars.
      adapter: {
        id: `${prefix}-1`,
        name: 'Ünïcode Style XL',
        file_path: `/lib/${prefix}/style.safetensors`,
        version: 'v2',
        description: 'A Description',
        trained_words: ['Trigger One', 'two'],
        triggers: ['T3'],
        stats: { downloadCount: 3, rating: 4.5 },
        nsfw_level: 2,
        preferred_weight: 0.8,
        weight: 0.8,
        missing: false,
        favorite: true,
        file_size: 123456789,
        file_mtime: now,
        primary_file_size_kb: 120563,
        base_model: 'SDXL 1.0',
        network_type: 'lora',
        rank: 32,
        alpha: 16.5,
        civitai_model_id: 12345678901,
        hash_status: 'pending',
        last_ingested_at: now,
        created_at: now,
        updated_at: now,
      },
      sourceTags: ['Style', ' style ', 'Anime', '', 'Ünïcode'],
    },
    {
      // The fewest fields: every other column takes its default.
      adapter: { id: `${prefix}-2`, name: 'bare', file_path: `/lib/${prefix}/bare.safetensors`, created_at: now, updated_at: now },
      sourceTags: [],
    },
    {
      // Explicit nulls and empty lists are stored as given, not as defaults.
      adapter: {
        id: `${prefix}-3`,
        name: 'Nulls',
        file_path: `/lib/${prefix}/nulls.safetensors`,
        description: null,
        trained_words: [],
        stats: null,
        extra: { a: [1, 2] },
        active: true,
        supports_generation: false,
        version: undefined,
        created_at: now,
        updated_at: now,
      },
      sourceTags: ['only'],
    },
  ];

  const read = async (db: AppDatabase['db'], prefix: string) => {
    const rows = await db.selectFrom('adapter').selectAll().where('id', 'like', `${prefix}-%`).orderBy('id').execute();
    const tags = await db.selectFrom('adapter_tag').selectAll().where('adapter_id', 'like', `${prefix}-%`).orderBy('adapter_id').orderBy('position').execute();
    const search = await db.selectFrom('adapter_search').select(['adapter_id', 'text']).where('adapter_id', 'like', `${prefix}-%`).orderBy('adapter_id').execute();
    const strip = <T extends Record<string, unknown>>(row: T) => {
      const out: Record<string, unknown> = { ...row };
      for (const key of ['id', 'adapter_id', 'file_path', 'primary_file_local_path']) if (typeof out[key] === 'string') out[key] = (out[key] as string).replace(prefix, 'P');
      return out;
    };
    return { rows: rows.map(strip), tags: tags.map(strip), search: search.map(strip) };
  };

  it('adapters, their source tags and search text', async () => {
    const adapters_ = new AdapterRepository(database.db, database.dialect);
    await adapters_.insertMany(adapters('general')); // outside a transaction: Kysely's statements
    await adapters_.transaction((repo) => repo.insertMany(adapters('bulk'))); // inside one: the bulk writer
    const general = await read(database.db, 'general');
    const bulk = await read(database.db, 'bulk');
    expect(general.rows).toHaveLength(3);
    expect(general.tags.map((t) => t.tag)).toEqual(['Style', 'Anime', 'Ünïcode', 'only']);
    expect(bulk).toEqual(general);
  });

  it('scan metadata and library issues, inserted and then updated', async () => {
    const row = (id: string, signature: string): AdapterMetadataRow => ({
      adapter_id: id,
      header_length: 1000,
      data_offset: 1008,
      tensor_count: 700,
      module_count: 350,
      fingerprint: 'fp',
      base_model_source: 'tensors',
      base_family: 'sdxl',
      metadata: '{"ss_network_dim":"32"}',
      training: '{}',
      tag_frequency: '[]',
      sidecars: '{}',
      civitai: null,
      embedded_data_hash: null,
      scan_signature: signature,
      scanned_at: now,
    });
    const issue = (prefix: string, reason: string) => ({ path: `/lib/${prefix}/bad.safetensors`, library_root: '/lib', file_size: 10, file_mtime: now, code: 'truncated', reason, seen_at: now });
    await new AdapterRepository(database.db, database.dialect).insertMany([...adapters('gm'), ...adapters('bm')]);
    const general = new LibraryRepository(database.db, database.dialect.bulk);
    await general.upsertMetadata([row('gm-1', 'a'), row('gm-2', 'a')]);
    await general.upsertMetadata([row('gm-1', 'b')]);
    await general.upsertIssues([issue('general', 'first')]);
    await general.upsertIssues([issue('general', 'second')]);
    await database.db.transaction().execute(async (trx) => {
      const bulk = new LibraryRepository(trx, database.dialect.bulk);
      await bulk.upsertMetadata([row('bm-1', 'a'), row('bm-2', 'a')]);
      await bulk.upsertMetadata([row('bm-1', 'b')]);
      await bulk.upsertIssues([issue('bulk', 'first')]);
      await bulk.upsertIssues([issue('bulk', 'second')]);
    });
    const metadata = async (prefix: string) =>
      (await database.db.selectFrom('adapter_metadata').selectAll().where('adapter_id', 'like', `${prefix}-%`).orderBy('adapter_id').execute()).map((r) => ({
        ...r,
        adapter_id: r.adapter_id.replace(prefix, 'P'),
      }));
    const issues = async (prefix: string) =>
      (await database.db.selectFrom('library_issue').selectAll().where('path', 'like', `/lib/${prefix}/%`).execute()).map((r) => ({ ...r, path: r.path.replace(prefix, 'P') }));
    expect((await metadata('gm')).map((r) => r.scan_signature)).toEqual(['b', 'a']);
    expect(await metadata('bm')).toEqual(await metadata('gm'));
    expect((await issues('general')).map((r) => r.reason)).toEqual(['second']);
    expect(await issues('bulk')).toEqual(await issues('general'));
  });
});
