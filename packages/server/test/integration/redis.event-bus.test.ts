import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisEventBus } from '../../src/events/redis.event-bus.ts';
import { redisAvailable, uniqueRedisPrefix } from '../support/redis.ts';
import { REDIS_TEST_URL } from '../support/services.ts';

const HAVE_REDIS = await redisAvailable();

function nextMessage(bus: RedisEventBus, channel: 'jobs' | 'job-control' | 'system'): Promise<unknown> {
  return new Promise((resolve) => {
    const off = bus.subscribe(channel, (m) => {
      off();
      resolve(m);
    });
  });
}

describe.runIf(HAVE_REDIS)('Redis event bus', () => {
  const prefix = uniqueRedisPrefix('bus');
  let api: RedisEventBus;
  let worker: RedisEventBus;
  let stranger: RedisEventBus;
  beforeAll(async () => {
    api = await RedisEventBus.connect(REDIS_TEST_URL, { prefix });
    worker = await RedisEventBus.connect(REDIS_TEST_URL, { prefix });
    stranger = await RedisEventBus.connect(REDIS_TEST_URL, { prefix: `${prefix}-other` });
  });
  afterAll(async () => {
    await Promise.all([api?.close(), worker?.close(), stranger?.close()]);
  });

  it('delivers what one process publishes to every process, the publisher included', async () => {
    const atApi = nextMessage(api, 'jobs');
    const atWorker = nextMessage(worker, 'jobs');
    await worker.publish('jobs', { job: { id: 'j1' }, change: 'progress' });
    expect(await atApi).toEqual({ job: { id: 'j1' }, change: 'progress' });
    expect(await atWorker).toEqual({ job: { id: 'j1' }, change: 'progress' });
  });

  it('keeps channels and prefixes apart', async () => {
    const seen: unknown[] = [];
    const offJobs = api.subscribe('jobs', (m) => seen.push(['jobs', m]));
    const offStranger = stranger.subscribe('job-control', (m) => seen.push(['stranger', m]));
    const control = nextMessage(api, 'job-control');
    await worker.publish('job-control', { action: 'cancel', id: 'x' });
    expect(await control).toEqual({ action: 'cancel', id: 'x' });
    // A round trip on the same connection after the publish proves the earlier message was already delivered.
    const marker = nextMessage(api, 'system');
    await worker.publish('system', 'marker');
    await marker;
    offJobs();
    offStranger();
    expect(seen).toEqual([]);
  });

  it('unsubscribes, and a throwing listener does not stop the others', async () => {
    const received: unknown[] = [];
    const off = api.subscribe('system', (m) => received.push(m));
    api.subscribe('system', () => {
      throw new Error('listener bug');
    });
    const first = nextMessage(api, 'system');
    await worker.publish('system', 1);
    await first;
    off();
    const second = nextMessage(api, 'system');
    await worker.publish('system', 2);
    await second;
    expect(received).toEqual([1]);
  });
});
