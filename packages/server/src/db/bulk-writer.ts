import type { Database, Statement } from 'better-sqlite3';

/**
 * Many-row writes on SQLite through cached prepared statements on the connection itself. A library scan inserts
 * thousands of wide rows; Kysely would compile and SQLite re-prepare one huge multi-row statement per chunk, which
 * costs more than the writes. Only used inside a transaction (the connection is then ours alone), and only for
 * SQLite: PostgreSQL takes Kysely's multi-row statements well.
 */
export interface BulkWriter {
  /** Insert rows that all have the same keys; with `upsert`, update `update` columns when `key` already exists. */
  insert<T extends object>(table: string, rows: readonly T[], upsert?: { key: string; update: readonly string[] }): void;
}

export function sqliteBulkWriter(sqlite: Database): BulkWriter {
  const statements = new Map<string, { statement: Statement; columns: string[] }>();
  const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;
  return {
    insert(table, rows, upsert) {
      if (rows.length === 0) return;
      const columns = Object.keys(rows[0] as Record<string, unknown>);
      const key = `${table}|${columns.join(',')}|${upsert ? `${upsert.key}:${upsert.update.join(',')}` : ''}`;
      let entry = statements.get(key);
      if (!entry) {
        let text = `insert into ${quote(table)} (${columns.map(quote).join(', ')}) values (${columns.map(() => '?').join(', ')})`;
        if (upsert) text += ` on conflict (${quote(upsert.key)}) do update set ${upsert.update.map((c) => `${quote(c)} = excluded.${quote(c)}`).join(', ')}`;
        entry = { statement: sqlite.prepare(text), columns };
        statements.set(key, entry);
      }
      const values = new Array<unknown>(columns.length);
      for (const row of rows) {
        const r = row as Record<string, unknown>;
        for (let i = 0; i < columns.length; i++) values[i] = r[entry.columns[i]] ?? null;
        entry.statement.run(values);
      }
    },
  };
}
