import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, type Dialect } from 'kysely';
import pg from 'pg';
import { sqliteBulkWriter } from './bulk-writer.ts';
import { BusyRetryingSqliteDialect } from './sqlite-busy.ts';
import { dialectHelpers, type DialectHelpers, type DialectName } from './dialect.ts';
import { migrations } from './migrations/index.ts';
import type { DB } from './tables.ts';

export interface AppDatabase {
  db: Kysely<DB>;
  dialect: DialectHelpers;
  close(): Promise<void>;
}

/** How long every connection the app opens on SQLite (the worker thread's too) waits for another's lock. */
const SQLITE_BUSY_TIMEOUT_MS = 5000;

// int8 (counts, sizes) as numbers: every value we store is far below 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

/**
 * Open the database a URL names: `sqlite:PATH`, `sqlite::memory:` or `postgres://…`. `onIdleError` hears about a
 * PostgreSQL connection lost while idle in the pool (a server restart, an administrator's command): pg drops it
 * and the next query opens a new one, but without a listener the pool's error event would end the process.
 */
export function openDatabase(url: string, onIdleError: (error: Error) => void = () => undefined): AppDatabase {
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    // A server that is restarting refuses at once; one that does not answer fails a request after 3 s instead of
    // holding it (and the pool) until the operating system gives the connection up.
    const pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 3000 });
    pool.on('error', onIdleError);
    // A connection can also drop while checked out between two queries (a restart, terminated backends): pg then
    // emits 'error' on the client, which without a listener ends the process. The query in flight fails on its own.
    pool.on('connect', (client) => client.on('error', onIdleError));
    return wrap(new PostgresDialect({ pool }), 'postgres');
  }
  const file = url.replace(/^sqlite:/, '');
  if (file !== ':memory:') makePrivate(file);
  const sqlite = new SqliteDatabase(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
  sqlite.pragma('cache_size = -65536');
  // A secret replaced in a row (a plaintext one sealed, a password changed) must not linger in the page's free space.
  // FAST zeroes deleted content only in pages written anyway: no extra I/O.
  sqlite.pragma('secure_delete = FAST');
  const database = wrap(new BusyRetryingSqliteDialect({ database: withStatementCache(sqlite) }), 'sqlite');
  database.dialect.bulk = sqliteBulkWriter(sqlite);
  database.dialect.holdCheckpoints = checkpointHolds(sqlite, file);
  return database;
}

/**
 * The database holds saved secrets (sealed) and everything about the library: readable by its owner only. The file
 * is made (or narrowed to) 0600 before SQLite opens it; SQLite gives the -wal/-shm files it creates later the mode
 * of the database file, and siblings an older version left behind are narrowed here too. A folder we create is 0700.
 */
function makePrivate(file: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.closeSync(fs.openSync(file, 'a', 0o600));
  for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) {
    try {
      fs.chmodSync(f, 0o600);
    } catch (error) {
      // Missing, or not ours to change (a file an administrator set up): SQLite opens it as it is.
      if (!['ENOENT', 'EPERM'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
    }
  }
}

/**
 * Holds may overlap (two scans). When the last ends, one checkpoint catches up on everything held back — on a
 * thread of its own, with its own connection: after a first scan that is about 100 MB of WAL to copy into the
 * database file and sync (0.2 s, mostly waiting for the disk), which would otherwise stall the server at the end of
 * every large scan. Then automatic checkpoints resume; the returned promise settles when all that is done.
 */
function checkpointHolds(sqlite: SqliteDatabase.Database, file: string): () => () => Promise<void> {
  const automatic = sqlite.pragma('wal_autocheckpoint', { simple: true }) as number;
  let holds = 0;
  return () => {
    if (holds++ === 0) sqlite.pragma('wal_autocheckpoint = 0');
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      if (--holds > 0) return;
      if (file !== ':memory:') await checkpointElsewhere(file);
      // Automatic checkpoints resume only now: a write meanwhile would otherwise start the same work on this thread.
      if (holds === 0 && sqlite.open) sqlite.pragma(`wal_autocheckpoint = ${automatic}`);
    };
  };
}

/**
 * Checkpoint `file` from a worker thread's connection: PASSIVE first, which copies the pages while this process's
 * connection reads and writes on, then TRUNCATE, which has little left to copy and empties the WAL file (reads
 * through a WAL of 100 MB cost every later query a lookup). Failures are left to the next automatic checkpoint.
 */
function checkpointElsewhere(file: string): Promise<void> {
  const script = `
    const { workerData } = require('node:worker_threads');
    const db = new (require(workerData.driver))(workerData.file, { fileMustExist: true, timeout: workerData.busyTimeout });
    try {
      db.pragma('wal_checkpoint(PASSIVE)');
      db.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      db.close();
    }
  `;
  return new Promise((resolve) => {
    const worker = new Worker(script, { eval: true, workerData: { file, driver: requireHere.resolve('better-sqlite3'), busyTimeout: SQLITE_BUSY_TIMEOUT_MS } });
    worker.once('error', () => resolve());
    worker.once('exit', () => resolve());
  });
}

const requireHere = createRequire(import.meta.url);

const STATEMENT_CACHE = 200;
/**
 * Longer SQL (a multi-row insert of a scan batch) is rarely repeated, and keeping its statement costs memory. An
 * UPDATE is kept whatever its length: it has one row's shape and runs once per row (a rescan's, about 2 KB with the
 * user-field guard on each column), so preparing it anew each time would cost more than the update.
 */
const CACHED_SQL_LENGTH = 2000;

/**
 * Kysely prepares every query anew; on SQLite preparing costs about as much as running a small query. Statements
 * of short queries are kept by their SQL text (least recently used dropped first) and reused unless one is still
 * being iterated. Caching every statement made a first scan of 10,000 files 2.5 times slower.
 */
function withStatementCache(sqlite: SqliteDatabase.Database) {
  const cache = new Map<string, SqliteDatabase.Statement>();
  return {
    close: () => {
      cache.clear();
      sqlite.close();
    },
    prepare: (text: string) => {
      if (text.length > CACHED_SQL_LENGTH && !text.startsWith('update ')) return sqlite.prepare(text);
      const cached = cache.get(text);
      if (cached && !cached.busy) {
        cache.delete(text);
        cache.set(text, cached);
        return cached;
      }
      const statement = sqlite.prepare(text);
      if (!cached) {
        cache.set(text, statement);
        if (cache.size > STATEMENT_CACHE) cache.delete(cache.keys().next().value!);
      }
      return statement;
    },
  };
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
