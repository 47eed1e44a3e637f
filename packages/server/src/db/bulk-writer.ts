import type { Database, Statement } from 'better-sqlite3';

/**
 * Many-row writes on SQLite through cached prepared statements on the connection itself. A library scan inserts
 * thousands of wide rows; Kysely would compile and SQLite re-prepare one huge multi-row statement per chunk, which
 * costs more than the writes. Only used inside a transaction (the connection is then ours alone), and only for
 * SQLite: PostgreSQL takes Kysely's multi-row statements well.
 */
export interface BulkWriter {
  /**
   * Insert rows that all have the same keys; with `upsert`, update `update` columns when `key` already exists.
   * `fixed` columns take the same value in every new row (an upsert leaves them alone unless listed in `update`).
   */
  insert<T extends object>(table: string, rows: readonly T[], upsert?: Upsert, fixed?: Readonly<Record<string, unknown>>): void;
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
    insert(table, rows, upsert, fixed = {}) {
      if (rows.length === 0) return;
      const columns = Object.keys(rows[0] as Record<string, unknown>);
      const extra = Object.keys(fixed);
      const run = inserter(table, [...columns, ...extra], upsert);
      const values = new Array<unknown>(columns.length + extra.length);
      extra.forEach((column, i) => (values[columns.length + i] = fixed[column]));
      for (const row of rows) {
        const r = row as Record<string, unknown>;
        for (let i = 0; i < columns.length; i++) values[i] = r[columns[i]] ?? null;
        run(values);
      }
    },
  };
}
