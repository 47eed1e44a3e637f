import { migrateToLatest, type AppDatabase } from '../../src/db/database.ts';
import type { Clock } from '../../src/lib/clock.ts';
import { openTestDatabase, type TestDialect } from './test-app.ts';

/**
 * A migrated database of `dialect` for testing a service with its real repositories, without HTTP or the container:
 * the in-memory SQLite the brief asks for, and PGlite/PostgreSQL so the rules hold on every dialect we ship.
 */
export async function openServiceDatabase(dialect: TestDialect): Promise<{ database: AppDatabase; close(): Promise<void> }> {
  const { database, dispose } = await openTestDatabase(dialect);
  await migrateToLatest(database);
  return {
    database,
    async close() {
      await database.close();
      await dispose();
    },
  };
}

/** A clock that stands still unless a test moves it (a port, so a fake is fine). */
export function fixedClock(iso = '2026-03-01T12:00:00.000Z'): Clock & { set(next: string): void } {
  let now = new Date(iso);
  return { now: () => new Date(now), set: (next) => (now = new Date(next)) };
}
