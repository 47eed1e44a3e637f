import pg from 'pg';

/**
 * External services the suite can use. Without them a suite is skipped with a printed reason; with
 * REQUIRE_SERVICES=1 (as .ci/run sets) a missing service is a failure instead.
 */
export const REQUIRE_SERVICES = process.env.REQUIRE_SERVICES === '1';
export const POSTGRES_ADMIN_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_TEST_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/15';

export async function postgresAvailable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch (error) {
    const reason = `PostgreSQL at ${POSTGRES_ADMIN_URL} is not reachable: ${(error as Error).message}`;
    if (REQUIRE_SERVICES) throw new Error(`${reason} (REQUIRE_SERVICES=1)`);
    process.stderr.write(`skipping PostgreSQL suites: ${reason}\n`);
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A fresh, uniquely named database on the machine's PostgreSQL; drop() removes it. */
export async function createPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `lm_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}
