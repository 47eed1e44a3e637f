import { sql, type ColumnDataType, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import type { DB } from './tables.ts';
import type { BulkWriter } from './bulk-writer.ts';

export type DialectName = 'sqlite' | 'postgres';

/**
 * Everything that differs between SQLite and PostgreSQL lives here (the directus helpers pattern), so
 * repositories and migrations stay one code path.
 */
export interface DialectHelpers {
  readonly name: DialectName;
  /** Column type for a double-precision float ('real' in PostgreSQL is only 4 bytes). */
  readonly float: ColumnDataType | RawBuilder<unknown>;
  /** Column type for a 64-bit integer. */
  readonly bigint: ColumnDataType;
  /** Predicate on `adapter_search`: its text contains `term` (already lower-cased), every character literal. */
  searchMatches(term: string): RawBuilder<boolean>;
  /** Fast many-row writes on the raw connection (SQLite only; use inside a transaction). */
  bulk?: BulkWriter;
  /**
   * For a long run of write transactions (a first scan): SQLite stops its automatic WAL checkpoints until the returned
   * function is called, which starts one checkpoint in the background (its promise settles when that is done). Left
   * on, a checkpoint every 4 MB of changes copies the same index pages into the database file and syncs it again and
   * again. Absent on PostgreSQL.
   */
  holdCheckpoints?(): () => Promise<void>;
  /**
   * A value that changes whenever the database may have (SQLite: this connection's change counter and the file's
   * data version, which moves when another process commits). Lets counts be reused until then; absent on PostgreSQL.
   */
  changeStamp?(db: Kysely<DB> | Transaction<DB>): Promise<string>;
}

export function dialectHelpers(name: DialectName): DialectHelpers {
  if (name === 'postgres') {
    return {
      name,
      float: sql`double precision`,
      bigint: 'bigint',
      searchMatches: (term) => sql<boolean>`text like ${`%${escapeLike(term)}%`} escape ${'\\'}`,
    };
  }
  return {
    name,
    float: 'real',
    bigint: 'integer',
    changeStamp: async (db) => {
      const { rows } = await sql<{ c: number; v: number }>`select total_changes() as c, (select data_version from pragma_data_version) as v`.execute(db);
      return `${rows[0].c}:${rows[0].v}`;
    },
    // The trigram index answers a quoted phrase of 3+ characters; shorter terms fall back to a scan of the small table.
    searchMatches: (term) =>
      [...term].length >= 3
        ? sql<boolean>`adapter_search match ${`"${term.replace(/"/g, '""')}"`}`
        : sql<boolean>`instr(text, ${term}) > 0`,
  };
}

/** Escape LIKE wildcards so `%` and `_` in a user's search are taken literally (pair with ESCAPE '\'). */
export function escapeLike(term: string): string {
  return term.replace(/[\\%_]/g, (c) => `\\${c}`);
}
