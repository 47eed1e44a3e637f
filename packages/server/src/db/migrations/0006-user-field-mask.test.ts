import { PGlite } from '@electric-sql/pglite';
import { Migrator, type Kysely } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import { describe, expect, it } from 'vitest';
import { createPostgresDatabase, postgresAvailable } from '../../../test/support/services.ts';
import { userFieldsOf } from '../../lib/user-fields.ts';
import { openDatabase, wrap, type AppDatabase } from '../database.ts';
import { migrations } from './index.ts';

const open: Record<string, () => Promise<AppDatabase>> = {
  sqlite: async () => openDatabase('sqlite::memory:'),
  pglite: async () => wrap(new PGliteDialect(new PGlite({ parsers: { 20: (v: string) => Number(v) } })), 'postgres'),
};
if (await postgresAvailable()) {
  open.postgres = async () => {
    const pg = await createPostgresDatabase();
    const database = openDatabase(pg.url);
    const close = async () => {
      await database.close();
      await pg.drop();
    };
    return { ...database, close };
  };
}

function migrator(database: AppDatabase): Migrator {
  return new Migrator({ db: database.db, provider: { getMigrations: async () => migrations(database.dialect) } });
}

async function adapter(db: Kysely<any>, id: string, fields: Record<string, unknown>, meta?: Record<string, unknown>): Promise<void> {
  const now = '2026-01-01T00:00:00.000Z';
  const name = String(fields.name);
  await db.insertInto('adapter').values({ id, name_key: name.toLowerCase(), created_at: now, updated_at: now, ...fields }).execute();
  if (meta) await db.insertInto('adapter_metadata').values({ adapter_id: id, ...meta }).execute();
}

describe.each(Object.keys(open))('migration 0006 (user_field_mask) on %s', (dialect) => {
  it('backfills the fields the user set, erring towards the user, and leaves a scanned adapter nobody touched alone', async () => {
    const database = await open[dialect]();
    try {
      const before = await migrator(database).migrateTo('0005-archive');
      expect(before.error).toBeUndefined();
      const db = database.db as unknown as Kysely<any>;
      await adapter(db, 'edited', { name: 'edited', file_path: '/lib/edited.safetensors', notes: 'my notes' }, { user_fields: '["description"]', user_preview: 1 });
      await adapter(db, 'renamed', { name: 'A Better Name', file_path: '/lib/renamed.safetensors' }, { user_fields: '[]' });
      await adapter(db, 'untouched', { name: 'untouched', file_path: '/lib/untouched.safetensors', description: 'from a sidecar' }, { user_fields: '[]' });
      await adapter(db, 'posted', { name: 'Posted', version: 'v1', description: 'given', file_path: '/lib/posted.safetensors' });

      const after = await migrator(database).migrateToLatest();
      expect(after.error).toBeUndefined();
      const rows = await db.selectFrom('adapter').select(['id', 'user_field_mask']).orderBy('id').execute();
      const fields = Object.fromEntries(rows.map((r: { id: string; user_field_mask: number }) => [r.id, userFieldsOf(r.user_field_mask).sort()]));
      expect(fields).toEqual({
        edited: ['description', 'notes', 'preview_path'],
        posted: ['description', 'name', 'version'],
        renamed: ['name'],
        untouched: [],
      });
    } finally {
      await database.close();
    }
  });
});
