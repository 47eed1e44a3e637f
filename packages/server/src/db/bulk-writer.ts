import type { Database, Statement } from 'better-sqlite3';

/**
 * Many-row writes on SQLite through cached prepared statements on the connection itself. A library scan inserts
 * thousands of wide rows; Kysely would compile and SQLite re-prepare one huge multi-row statement per chunk, which
 * costs more than the writes. Only used inside a transaction (the connection is then ours alone), and only for
 * SQLite: PostgreSQL takes Kysely's multi-row statements well.
 */
export interface BulkWriter {
  /** Insert rows that all have the same keys; with `upsert`, update `update` columns when `key` already exists. */
  insert<T extends object>(table: string, rows: readonly T[], upsert?: Upsert): void;
  /**
   * One prepared insert of these columns, kept for the connection's life: call it with each row's values in column
   * order (the caller builds them without an object per row).
   */
  inserter(table: string, columns: readonly string[], upsert?: Upsert): (values: readonly unknown[]) => void;
}

export interface Upsert {
  key: string;
  update: readonly string[];
}

export function sqliteBulkWriter(sqlite: Database): BulkWriter {
  const statements = new Map<string, Statement>();
  const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;
  const inserter = (table: string, columns: readonly string[], upsert?: Upsert) => {
    const key = `${table}|${columns.join(',')}|${upsert ? `${upsert.key}:${upsert.update.join(',')}` : ''}`;
    let statement = statements.get(key);
    if (!statement) {
      let text = `insert into ${quote(table)} (${columns.map(quote).join(', ')}) values (${columns.map(() => '?').join(', ')})`;
      if (upsert) text += ` on conflict (${quote(upsert.key)}) do update set ${upsert.update.map((c) => `${quote(c)} = excluded.${quote(c)}`).join(', ')}`;
      statement = sqlite.prepare(text);
      statements.set(key, statement);
    }
    return statement.run.bind(statement) as (values: readonly unknown[]) => void;
  };
  return {
    inserter,
    insert(table, rows, upsert) {
      if (rows.length === 0) return;
      const columns = Object.keys(rows[0] as Record<string, unknown>);
      const run = inserter(table, columns, upsert);
      const values = new Array<unknown>(columns.length);
      for (const row of rows) {
        const r = row as Record<string, unknown>;
        for (let i = 0; i < columns.length; i++) values[i] = r[columns[i]] ?? null;
        run(values);
      }
    },
  };
}
