import { CompiledQuery, SqliteDialect, SqliteDriver, type DatabaseConnection, type Driver, type QueryResult, type SqliteDialectConfig } from 'kysely';

/** Tries after the first, each after busy_timeout ran out or SQLite answered busy at once. */
const BUSY_RETRIES = 8;
const BUSY_PAUSE_MS = 25;

/**
 * SQLite on the server's one connection, never surfacing "database is locked" (SQLITE_BUSY) to a caller.
 *
 * busy_timeout already makes SQLite wait for another connection's lock (the checkpoint thread's, another process's),
 * but two cases still throw: a deferred transaction that read first and then wants to write when another connection
 * wrote meanwhile (SQLITE_BUSY_SNAPSHOT, at once, no waiting), and a wait longer than busy_timeout. So write
 * transactions begin IMMEDIATE (the write lock is taken before anything is read, so the upgrade case cannot happen)
 * and a busy BEGIN, or a busy statement outside a transaction, is retried after a pause that yields to the event
 * loop (the lock holder may be this process's own work). Both are safe to repeat: they changed nothing.
 */
export class BusyRetryingSqliteDialect extends SqliteDialect {
  constructor(private readonly settings: SqliteDialectConfig) {
    super(settings);
  }

  override createDriver(): Driver {
    return new BusyRetryingSqliteDriver(this.settings);
  }
}

class BusyRetryingSqliteDriver extends SqliteDriver {
  private inTransaction = false;

  override async acquireConnection(): Promise<DatabaseConnection> {
    const connection = await super.acquireConnection();
    return {
      executeQuery: <R>(query: CompiledQuery): Promise<QueryResult<R>> =>
        this.inTransaction ? connection.executeQuery<R>(query) : retryWhileBusy(() => connection.executeQuery<R>(query)),
      streamQuery: (query, chunkSize) => connection.streamQuery(query, chunkSize),
    };
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await retryWhileBusy(() => connection.executeQuery(CompiledQuery.raw('begin immediate')));
    this.inTransaction = true;
  }

  override async commitTransaction(connection: DatabaseConnection): Promise<void> {
    this.inTransaction = false;
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }

  override async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    this.inTransaction = false;
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }
}

export function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_'));
}

async function retryWhileBusy<T>(run: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      if (!isBusy(error) || attempt >= BUSY_RETRIES) throw error;
      await new Promise((resolve) => setTimeout(resolve, BUSY_PAUSE_MS * (attempt + 1)));
    }
  }
}
