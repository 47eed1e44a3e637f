import { Redis } from 'ioredis';
import { REDIS_TEST_URL, REQUIRE_SERVICES } from './services.ts';

/** True when the test Redis answers; otherwise prints why the suite is skipped (or throws with REQUIRE_SERVICES=1). */
export async function redisAvailable(): Promise<boolean> {
  const redis = new Redis(REDIS_TEST_URL, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2000, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
    return true;
  } catch (error) {
    const reason = `Redis at ${REDIS_TEST_URL} is not reachable: ${(error as Error).message}`;
    if (REQUIRE_SERVICES) throw new Error(`${reason} (REQUIRE_SERVICES=1)`);
    process.stderr.write(`skipping Redis suites: ${reason}\n`);
    return false;
  } finally {
    redis.disconnect();
  }
}

/** A key prefix no other test run uses, so parallel runs on one Redis never see each other's queues or events. */
export function uniqueRedisPrefix(label: string): string {
  return `lmtest-${label}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Delete every key under `prefix` (BullMQ leaves its queues behind on purpose). */
export async function deleteRedisKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_TEST_URL, { maxRetriesPerRequest: null });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
}
