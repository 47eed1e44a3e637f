import { Redis } from 'ioredis';

/**
 * An ioredis connection as BullMQ and pub/sub need it: `maxRetriesPerRequest: null` so commands wait through a
 * reconnect instead of failing (BullMQ refuses blocking connections without it). The caller quits it (stack.md G9).
 */
export function openRedis(url: string, name: string): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: null, connectionName: name, lazyConnect: false });
  // ioredis reconnects by itself; every failed attempt is an 'error' event, which without a listener is printed on
  // stderr each time. The outage is reported once by the queue and the event bus, and by /health while it lasts.
  redis.on('error', () => undefined);
  return redis;
}

/** Quit politely, and drop the socket if Redis does not answer (a process must never hang on exit). */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  try {
    await Promise.race([redis.quit(), new Promise((_, reject) => setTimeout(() => reject(new Error('quit timed out')), 2000).unref())]);
  } catch {
    redis.disconnect();
  }
}

/** One connection attempt, no retries: at start-up a wrong REDIS_URL must stop the process with the real reason. */
export async function checkRedis(url: string, timeoutMs = 5000): Promise<void> {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: timeoutMs });
  let failure: Error | undefined;
  probe.on('error', (error: Error) => (failure ??= error));
  try {
    await probe.connect();
    await probe.ping();
  } catch (error) {
    throw new Error(`Redis (REDIS_URL) is not reachable: ${(failure ?? (error as Error)).message}`);
  } finally {
    probe.disconnect();
  }
}
