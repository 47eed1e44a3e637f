import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { pingRedis } from './service-health.ts';

describe('pingRedis', () => {
  it('counts a Redis that does not answer in time as unavailable instead of hanging', async () => {
    // Nothing listens on port 1: ioredis keeps reconnecting and the PING would wait forever without the deadline.
    const redis = new Redis('redis://127.0.0.1:1', { maxRetriesPerRequest: null, lazyConnect: false });
    redis.on('error', () => undefined);
    try {
      const health = await pingRedis(redis, 200);
      // A connection that is not ready is answered at once (a ping would only queue behind the reconnect).
      expect(health).toEqual({ available: false, latency_ms: null, error: expect.stringMatching(/^(connection (connecting|connect|reconnecting)|no answer within 200 ms)$/) });
    } finally {
      redis.disconnect();
    }
  });
});
