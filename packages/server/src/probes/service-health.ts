import type { BackendHealthReport } from '@lora-manager/contract';
import type { Redis } from 'ioredis';

export type { BackendHealthReport };

/**
 * The port through which system status learns whether the generation servers answer. The generation feature supplies
 * it (one report per configured server); the container wraps it in a short cache so status polls do not hammer them.
 */
export type BackendHealth = () => Promise<BackendHealthReport[]>;

export interface RedisHealth {
  available: boolean;
  latency_ms: number | null;
  error: string | null;
}

/** PING with a deadline: a Redis that hangs counts as unavailable, it does not hang the status route. */
export async function pingRedis(redis: Redis, timeoutMs = 1000): Promise<RedisHealth> {
  // The queue's connection holds commands through a reconnect: asking it while it is down would only pile up pings.
  if (redis.status !== 'ready') return { available: false, latency_ms: null, error: `connection ${redis.status}` };
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      redis.ping(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { available: true, latency_ms: Math.round((performance.now() - started) * 100) / 100, error: null };
  } catch (error) {
    return { available: false, latency_ms: null, error: (error as Error).message };
  } finally {
    clearTimeout(timer);
  }
}
