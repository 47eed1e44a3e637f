import fs from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, type Dialect } from 'kysely';
import pg from 'pg';
import { sqliteBulkWriter } from './bulk-writer.ts';
import { dialectHelpers, type DialectHelpers, type DialectName } from './dialect.ts';
import { migrations } from './migrations/index.ts';
import type { DB } from './tables.ts';

export interface AppDatabase {
  db: Kysely<DB>;
  dialect: DialectHelpers;
  close(): Promise<void>;
}

// int8 (counts, sizes) as numbers: every value we store is far below 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

/** Open the database a URL names: `sqlite:PATH`, `sqlite::memory:` or `postgres://…`. */
export function openDatabase(url: string): AppDatabase {
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const pool = new pg.Pool({ connectionString: url, max: 10 });
    return wrap(new PostgresDialect({ pool }), 'postgres');
  }
  const file = url.replace(/^sqlite:/, '');
  if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
  const sqlite = new SqliteDatabase(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('cache_size = -65536');
  const database = wrap(new SqliteDialect({ database: sqlite }), 'sqlite');
  database.dialect.bulk = sqliteBulkWriter(sqlite);
  return database;
}

/** Wrap any Kysely dialect (tests pass PGlite here) with our helpers. */
export function wrap(dialect: Dialect, name: DialectName): AppDatabase {
  const db = new Kysely<DB>({ dialect });
  return { db, dialect: dialectHelpers(name), close: () => db.destroy() };
}

export async function migrateToLatest(database: AppDatabase): Promise<string[]> {
  const migrator = new Migrator({
    db: database.db,
    provider: { getMigrations: async () => migrations(database.dialect) },
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
