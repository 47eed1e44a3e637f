import { sql, type ColumnDataType, type Expression, type Kysely, type RawBuilder } from 'kysely';

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
  /** Case-sensitive concatenation aggregate of a text expression, separated by `sep`. */
  stringAgg(expr: Expression<string>, sep: string): RawBuilder<string>;
}

export function dialectHelpers(name: DialectName): DialectHelpers {
  if (name === 'postgres') {
    return {
      name,
      float: sql`double precision`,
      bigint: 'bigint',
      stringAgg: (expr, sep) => sql<string>`string_agg(${expr}, ${sep})`,
    };
  }
  return {
    name,
    float: 'real',
    bigint: 'integer',
    stringAgg: (expr, sep) => sql<string>`group_concat(${expr}, ${sep})`,
  };
}

/** Escape LIKE wildcards so `%` and `_` in a user's search are taken literally (pair with ESCAPE '\'). */
export function escapeLike(term: string): string {
  return term.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export type AnyDb = Kysely<any>;
