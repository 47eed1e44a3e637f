import type { JobStatus } from '@lora-manager/contract';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Container } from '../../src/container.ts';
import { toIso } from '../../src/lib/time.ts';
import { deleteRedisKeys, redisAvailable, uniqueRedisPrefix } from '../support/redis.ts';
import { REDIS_TEST_URL } from '../support/services.ts';
import { createTestApp, TEST_DIALECTS, type TestApp } from '../support/test-app.ts';

const HOUR = 3_600_000;
const ago = (ms: number) => toIso(Date.now() - ms);

async function addAdapter(c: Container, name: string, fields: { active?: boolean; at?: string; ingested?: string | null; tags?: string[]; description?: string } = {}) {
  const at = fields.at ?? toIso(Date.now());
  await c.repositories.adapters.insert(
    {
      id: `id-${name}`,
      name,
      file_path: `/loras/${name}.safetensors`,
      active: fields.active ?? false,
      last_ingested_at: fields.ingested === undefined ? at : fields.ingested,
      description: fields.description ?? null,
      created_at: at,
      updated_at: at,
    },
    fields.tags ?? [],
  );
}

async function addJob(c: Container, id: string, status: JobStatus, createdAt: string, payload: Record<string, unknown> = { prompt: id, mode: 'sdnext' }) {
  const terminal = ['succeeded', 'failed', 'cancelled'].includes(status);
  await c.database.db
    .insertInto('job')
    .values({
      id,
      kind: 'generation',
      status,
      payload: JSON.stringify(payload),
      result: null,
      error: status === 'failed' ? 'server said no' : null,
      progress: 0,
      progress_detail: null,
      attempts: status === 'pending' ? 0 : 1,
      max_attempts: 3,
      queue_group: null,
      run_after: createdAt,
      heartbeat_at: null,
      created_at: createdAt,
      started_at: status === 'pending' ? null : createdAt,
      finished_at: terminal ? createdAt : null,
      updated_at: createdAt,
    })
    .execute();
}

describe.each(TEST_DIALECTS)('dashboard and system status on %s', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(dialect);
  });
  afterAll(async () => t.close());
  afterEach(async () => {
    await t.container.database.db.deleteFrom('job').execute();
    await t.container.database.db.deleteFrom('adapter_tag').execute();
    await t.container.database.db.deleteFrom('adapter_search').execute();
    await t.container.database.db.deleteFrom('adapter').execute();
  });

  it('shows an empty library as zeros and an idle queue (acceptance 25)', async () => {
    const stats = (await t.app.inject('/api/v1/dashboard/stats')).json();
    expect(stats.stats).toEqual({ total_loras: 0, active_loras: 0, embeddings_coverage: 0, active_coverage: 0, recent_imports: 0, active_jobs: 0 });
    expect(stats.system_health.queue_status).toBe('idle');
    expect((await t.app.inject('/api/v1/dashboard/featured-loras')).json()).toEqual([]);
    expect((await t.app.inject('/api/v1/dashboard/activity-feed')).json()).toEqual([]);
  });

  it('counts adapters, recent imports and active jobs (acceptance 26)', async () => {
    await addAdapter(t.container, 'fresh', { active: true, tags: ['style'] });
    await addAdapter(t.container, 'stale', { active: false, at: ago(48 * HOUR) });
    await addJob(t.container, 'pending-job', 'pending', ago(0));
    await addJob(t.container, 'failed-job', 'failed', ago(HOUR));
    const body = (await t.app.inject('/api/v1/dashboard/stats')).json();
    expect(body.stats).toMatchObject({ total_loras: 2, active_loras: 1, recent_imports: 1, active_jobs: 1 });
    // Real coverage: only `fresh` has tags; the original's active/total survives as active_coverage.
    expect(body.stats.embeddings_coverage).toBe(50);
    expect(body.stats.active_coverage).toBe(50);
    expect(body.system_health.queue_status).toBe('active');
    expect(['healthy', 'warning']).toContain(body.system_health.status);
    for (const key of ['gpu_status', 'gpu_memory', 'storage_usage']) expect(body.system_health[key]).toMatch(/\S/);
    expect(body.system_health.storage_usage).toMatch(/^\d+\.\d GB \/ \d+\.\d GB$/);
  });

  it('features active adapters by last change and lists activity newest first (acceptance 27)', async () => {
    await addAdapter(t.container, 'alpha', { active: true, at: ago(2 * HOUR) });
    await addAdapter(t.container, 'beta', { active: true, at: ago(30 * 60_000), description: 'b' });
    await addAdapter(t.container, 'gamma', { active: true, at: ago(HOUR) });
    await addAdapter(t.container, 'delta', { active: false, at: ago(0) });
    const featured = (await t.app.inject('/api/v1/dashboard/featured-loras')).json();
    expect(featured.map((f: { name: string }) => f.name)).toEqual(['beta', 'gamma', 'alpha']);
    expect(featured[0]).toEqual({ id: 'id-beta', name: 'beta', version: null, tags: [], active: true, civitai_url: null, description: 'b' });

    await addJob(t.container, 'first', 'succeeded', ago(2 * HOUR));
    await addJob(t.container, 'second', 'failed', ago(HOUR));
    await addJob(t.container, 'third', 'pending', ago(0));
    await addJob(t.container, 'scan', 'running', ago(3 * HOUR), { root: '/loras' });
    const feed = (await t.app.inject('/api/v1/dashboard/activity-feed')).json();
    expect(feed.map((f: { id: string }) => f.id)).toEqual(['third', 'second', 'first', 'scan']);
    for (const item of feed.slice(0, 3)) {
      expect(item.icon).toMatch(/\S/);
      expect(new Date(item.timestamp).toISOString()).toBe(item.timestamp);
      expect(item.message).toMatch(/^Delivery job /);
    }
    expect(feed[0]).toMatchObject({ type: 'pending', status: 'pending', message: "Delivery job 'third' pending", mode: 'sdnext', icon: '⏳' });
    // People read the plain-words summary; `message` stays as the original API put it.
    expect(feed[0].summary).toMatch(/^Waiting to generate “third”$/);
    expect(feed[1]).toMatchObject({ icon: '⚠️', error: 'server said no' });
    expect(feed[3]).toMatchObject({ message: 'Generation job running', mode: 'generation', prompt: null, icon: '🚀' });
  });

  it('reports queue counts and the whole status payload (acceptance 28)', async () => {
    for (const s of ['pending', 'running', 'retrying', 'failed', 'succeeded'] as const) await addJob(t.container, `job-${s}`, s, ago(60_000));
    await addJob(t.container, 'old-failure', 'failed', ago(72 * HOUR));
    const res = await t.app.inject('/api/v1/system/status');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    for (const key of ['gpu_available', 'queue_length', 'status', 'gpu_status', 'memory_used', 'memory_total', 'active_workers', 'backend', 'queue_eta_seconds', 'last_updated', 'warnings', 'metrics', 'message', 'updated_at']) {
      expect(body, key).toHaveProperty(key);
    }
    // The failure three days ago is outside the 24 h window: it no longer warns forever.
    expect(body.queue).toMatchObject({ total: 5, active: 3, running: 1, failed: 1, window_hours: 24 });
    expect(body.queue_length).toBe(3);
    expect(body.active_workers).toBe(1);
    expect(body.backend).toBe('in-process');
    expect(body.warnings).toEqual(['Job failures above threshold: 1 failed in the last 24 h > 0']);
    expect(body.status).toBe('warning');
    expect(body.redis).toEqual({ configured: false, available: null, latency_ms: null, error: null });
    expect(body.sdnext).toMatchObject({ configured: false, available: null });
    expect(body.metrics.disks.map((d: { name: string }) => d.name)).toEqual(['data', 'output', 'library']);
    expect(body.metrics.disks[0].total).toBeGreaterThan(0);
    expect(body.metrics.memory_total).toBeGreaterThan(0);
    expect(body.importer).toMatchObject({ library_roots: [t.libraryDir], total_adapters: 0, stale: false, stale_threshold_hours: 24 });
  });
});

describe('system status without a GPU', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp('sqlite', {}, { probes: { gpus: async () => ({ available: false, source: null, error: 'No GPU found (no nvidia-smi or rocm-smi)', gpus: [] }) } });
  });
  afterAll(async () => t.close());

  it('gives GPU memory as numbers (0), never null, which the original client refuses; healthy with /health ok', async () => {
    const body = (await t.app.inject('/api/v1/system/status')).json();
    expect(body).toMatchObject({ gpu_available: false, gpu_status: 'No GPU detected', memory_used: 0, memory_total: 0, status: 'healthy', degraded_reasons: [] });
    expect((await t.app.inject('/health')).json()).toEqual({ status: 'ok', service: 'lora-manager' });
    expect((await t.app.inject('/api/v1/dashboard/stats')).json().system_health.gpu_memory).toBe('no GPU');
  });
});

describe('system status with a GPU, a failing generation server and an API key', () => {
  let t: TestApp;
  const KEY = 'dashboard-secret-key';
  beforeAll(async () => {
    t = await createTestApp('sqlite', { API_KEY: KEY }, {
      probes: {
        gpus: async () => ({
          available: true,
          source: 'nvidia-smi',
          error: null,
          gpus: [
            { id: 0, name: 'NVIDIA GeForce RTX 4090', memory_total: 24564, memory_used: 6144, memory_percent: 25, temperature: 50, utilization: 90, fan_speed: 40, power_draw_watts: 300 },
          ],
        }),
        backends: async () => [
          { name: 'sdnext-local', kind: 'sdnext', base_url: 'http://127.0.0.1:7860', available: false, error: 'connect ECONNREFUSED 127.0.0.1:7860', checked_at: toIso(Date.now()) },
        ],
      },
    });
  });
  afterAll(async () => t.close());

  it('needs the key on every dashboard and status route', async () => {
    for (const url of ['/api/v1/dashboard/stats', '/api/v1/dashboard/featured-loras', '/api/v1/dashboard/activity-feed', '/api/v1/system/status']) {
      expect((await t.app.inject(url)).statusCode, url).toBe(401);
      expect((await t.app.inject({ url, headers: { 'x-api-key': KEY } })).statusCode, url).toBe(200);
    }
  });

  it('shows GPU memory in MiB and says which generation server is down', async () => {
    const body = (await t.app.inject({ url: '/api/v1/system/status', headers: { 'x-api-key': KEY } })).json();
    expect(body).toMatchObject({ gpu_available: true, gpu_status: 'NVIDIA GeForce RTX 4090', memory_used: 6144, memory_total: 24564 });
    expect(body.metrics.gpus[0].utilization).toBe(90);
    expect(body.sdnext).toMatchObject({ configured: true, base_url: 'http://127.0.0.1:7860', available: false, error: 'connect ECONNREFUSED 127.0.0.1:7860' });
    expect(body.warnings).toEqual(['Generation backend sdnext-local unavailable: connect ECONNREFUSED 127.0.0.1:7860']);
    const stats = (await t.app.inject({ url: '/api/v1/dashboard/stats', headers: { 'x-api-key': KEY } })).json();
    expect(stats.system_health).toMatchObject({ status: 'warning', gpu_status: 'NVIDIA GeForce RTX 4090', gpu_memory: '6.0 GB / 24.0 GB' });
  });
});

describe.runIf(await redisAvailable())('system status in scaled mode', () => {
  const prefix = uniqueRedisPrefix('status');
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp('sqlite', { REDIS_URL: REDIS_TEST_URL, REDIS_PREFIX: prefix });
  });
  afterAll(async () => {
    await t.close();
    await deleteRedisKeys(prefix);
  });

  it('reports the Redis backend after really pinging it', async () => {
    const body = (await t.app.inject('/api/v1/system/status')).json();
    expect(body.backend).toBe('redis');
    expect(body.redis).toMatchObject({ configured: true, available: true, error: null });
    expect(body.redis.latency_ms).toBeGreaterThanOrEqual(0);
    expect(body.warnings).toEqual([]);
  });
});
