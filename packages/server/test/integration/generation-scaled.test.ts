import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startA1111TestServer, type A1111TestServer } from '../support/a1111-test-server.ts';
import { deleteRedisKeys, redisAvailable, uniqueRedisPrefix } from '../support/redis.ts';
import { REDIS_TEST_URL } from '../support/services.ts';
import { createTestApp, type TestApp } from '../support/test-app.ts';
import { until } from '../support/wait.ts';

const API = '/api/v1';
const HAVE_REDIS = await redisAvailable();

/** The same pipeline on BullMQ + Redis pub/sub: handlers, progress, cancel and results do not care which queue runs them. */
describe.runIf(HAVE_REDIS)('generation on the scaled queue (BullMQ on Redis)', () => {
  const prefix = uniqueRedisPrefix('generation');
  let sd: A1111TestServer;
  let t: TestApp;

  beforeAll(async () => {
    sd = await startA1111TestServer({ stepDelayMs: 2 });
    t = await createTestApp('sqlite', {
      REDIS_URL: REDIS_TEST_URL,
      REDIS_PREFIX: prefix,
      RUN_WORKERS: 'true',
      SDNEXT_BASE_URL: sd.url,
      SDNEXT_POLL_INTERVAL: '0.05',
      GENERATION_BACKOFF_MS: '5',
    });
  });
  afterAll(async () => {
    await t?.close();
    await sd?.close();
    await deleteRedisKeys(prefix);
  });

  const status = async (id: string) => (await t.app.inject(`${API}/generation/jobs/${id}`)).json().delivery;

  it('runs a generation to images in the history, retrying a server error', async () => {
    sd.failNext(1, 500, 'busy');
    const res = await t.app.inject({ method: 'POST', url: `${API}/generation/queue-generation`, payload: { prompt: 'scaled', steps: 3, width: 32, height: 32 } });
    const id = res.json().delivery_id;
    const done = await until('the generation to finish', async () => {
      const job = await status(id);
      return ['completed', 'failed'].includes(job.status) ? job : undefined;
    });
    expect(done).toMatchObject({ status: 'completed', attempts: 2 });
    expect(fs.existsSync(path.join(t.config.outputDir, id, '0.png'))).toBe(true);
    expect((await t.app.inject(`${API}/generation/results/${id}/images/0`)).headers['content-type']).toBe('image/png');
  });

  it('cancels through the event bus and interrupts the server', async () => {
    sd.hold(1);
    const res = await t.app.inject({ method: 'POST', url: `${API}/generation/queue-generation`, payload: { prompt: 'scaled cancel', steps: 30, width: 16, height: 16 } });
    const id = res.json().delivery_id;
    await sd.waitForStep(1);
    const before = sd.count('/sdapi/v1/interrupt');
    expect((await t.app.inject({ method: 'POST', url: `${API}/generation/jobs/${id}/cancel` })).json()).toMatchObject({ success: true });
    await sd.waitFor('/sdapi/v1/interrupt', before + 1);
    sd.release();
    expect(await status(id)).toMatchObject({ status: 'failed', raw_status: 'cancelled' });
  });
});
