import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GpuReport } from '../../src/probes/gpu.probe.ts';
import type { HostMetrics } from '../../src/probes/host.probe.ts';
import { startA1111TestServer, type A1111TestServer } from '../support/a1111-test-server.ts';
import { createTestApp, TEST_DIALECTS, type TestApp } from '../support/test-app.ts';

const API = '/api/v1';

const host = (cpu: number): HostMetrics => ({ cpu_percent: cpu, memory_percent: 60, memory_used: 6000, memory_total: 10000, uptime_seconds: 5 });
const gpu: GpuReport = {
  available: true,
  source: 'nvidia-smi',
  error: null,
  gpus: [{ id: 0, name: 'Test GPU', memory_total: 8000, memory_used: 4000, memory_percent: 50, temperature: 60, utilization: 80, fan_speed: null, power_draw_watts: null }],
};

async function addAdapter(t: TestApp, name: string): Promise<string> {
  const file = t.libraryFile(`${name}.safetensors`);
  const res = await t.app.inject({ method: 'POST', url: `${API}/adapters`, payload: { name, file_path: file, version: 'v1' } });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().adapter.id;
}

describe.each(TEST_DIALECTS)('analytics over real generations on %s', (dialect) => {
  let sd: A1111TestServer;
  let t: TestApp;
  let cpu = 30;
  const ids: Record<string, string> = {};
  const jobs: string[] = [];

  const generate = async (prompt: string) => {
    const res = await t.app.inject({ method: 'POST', url: `${API}/generation/generate`, payload: { prompt, width: 32, height: 32, steps: 2, seed: 1 } });
    expect(res.statusCode, res.body).toBe(200);
    jobs.push(res.json().job_id);
    return res.json();
  };
  const get = async (url: string) => {
    const res = await t.app.inject({ method: 'GET', url: `${API}${url}` });
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  };

  beforeAll(async () => {
    sd = await startA1111TestServer({ stepDelayMs: 1 });
    t = await createTestApp(
      dialect,
      { SDNEXT_BASE_URL: sd.url, SDNEXT_POLL_INTERVAL: '0.05', GENERATION_MAX_ATTEMPTS: '1', ANALYTICS_SAMPLE_INTERVAL_S: '0' },
      { probes: { host: () => host(cpu), gpus: async () => gpu } },
    );
    ids.cat = await addAdapter(t, 'catstyle');
    ids.dog = await addAdapter(t, 'dogstyle');
    ids.unused = await addAdapter(t, 'neverused');
    expect((await generate('<lora:catstyle:0.8> a cat')).status).toBe('completed');
    expect((await generate('<lora:catstyle:1> <lora:ghostlora:0.5> <lora:catstyle:0.2> two cats')).status).toBe('completed');
    expect((await generate('<lora:dogstyle:1> a dog')).status).toBe('completed');
    sd.failNext(1, 500, 'CUDA out of memory. Tried to allocate 2.00 GiB');
    expect((await generate('<lora:dogstyle:1> a big dog')).status).toBe('failed');
    sd.failNext(1, 500, 'CUDA out of memory. Tried to allocate 1.50 GiB');
    expect((await generate('<lora:dogstyle:1> a bigger dog')).status).toBe('failed');
  });
  afterAll(async () => {
    await t?.close();
    await sd?.close();
  });

  it('answers the original summary shape with measured KPIs and every hour of the day', async () => {
    const s = await get('/analytics/summary?time_range=24h');
    expect(s.time_range).toBe('24h');
    expect(s.kpis).toMatchObject({ total_generations: 5, total_failed: 2, success_rate: 60, total_loras: 3, in_progress: 0 });
    expect(s.kpis.avg_generation_time).toBeGreaterThan(0);
    expect(s.chart_data.generation_volume).toHaveLength(24);
    expect(s.chart_data.performance).toHaveLength(24);
    expect(s.chart_data.generation_volume.reduce((n: number, p: { count: number }) => n + p.count, 0)).toBe(5);
    // Zero-filled: the quiet hours are there with 0, in order.
    const stamps = s.chart_data.generation_volume.map((p: { timestamp: string }) => p.timestamp);
    expect([...stamps].sort()).toEqual(stamps);
    expect(s.chart_data.generation_volume.filter((p: { count: number }) => p.count === 0).length).toBeGreaterThanOrEqual(22);
  });

  it('groups failures by their normalised message, with a real example', async () => {
    const errors = await get('/analytics/errors?time_range=7d');
    expect(errors).toHaveLength(1);
    expect(errors[0].type).toContain('CUDA out of memory. Tried to allocate <n> GiB');
    expect(errors[0]).toMatchObject({ count: 2, percentage: 100 });
    expect(errors[0].description).toMatch(/CUDA out of memory\. Tried to allocate \d\.\d\d GiB/);
  });

  it('counts LoRA usage per generation, keeping names the catalogue does not know', async () => {
    for (const range of ['24h', '7d']) {
      const usage = (await get(`/analytics/timeseries?time_range=${range}`)).lora_usage as Array<{ name: string; usage_count: number; adapter_id: string | null }>;
      expect(usage[0]).toMatchObject({ name: 'dogstyle', usage_count: 3, adapter_id: ids.dog });
      // Named twice in one prompt: one use.
      expect(usage.find((u) => u.name === 'catstyle')).toMatchObject({ usage_count: 2, adapter_id: ids.cat });
      expect(usage.find((u) => u.name === 'ghostlora')).toMatchObject({ usage_count: 1, adapter_id: null });
    }
  });

  it('sorts the catalogue by most and last used and filters never-used LoRAs', async () => {
    const most = await get('/adapters?sort=most_used');
    expect(most.items.map((a: { name: string }) => a.name)).toEqual(['dogstyle', 'catstyle', 'neverused']);
    expect(most.items[0]).toMatchObject({ use_count: 3 });
    const last = await get('/adapters?sort=last_used');
    expect(last.items[0].name).toBe('dogstyle');
    const never = await get('/adapters?never_used=true');
    expect(never.items.map((a: { name: string }) => a.name)).toEqual(['neverused']);
    const used = await get('/adapters?never_used=false&sort=name');
    expect(used.items.map((a: { name: string }) => a.name)).toEqual(['catstyle', 'dogstyle']);
  });

  it('keeps per-LoRA success rate and the average rating of its results', async () => {
    expect((await t.app.inject({ method: 'PUT', url: `${API}/generation/results/${jobs[0]}/rating`, payload: { rating: 5 } })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'PUT', url: `${API}/generation/results/${jobs[1]}/rating`, payload: { rating: 2 } })).statusCode).toBe(200);
    // Rated again: replaced, not added.
    expect((await t.app.inject({ method: 'PUT', url: `${API}/generation/results/${jobs[1]}/rating`, payload: { rating: 3 } })).statusCode).toBe(200);
    const list = await get('/analytics/loras?sort=most_used');
    expect(list).toMatchObject({ total: 3, never_used: 1 });
    const byName = new Map(list.items.map((i: { name: string }) => [i.name, i]));
    expect(byName.get('catstyle')).toMatchObject({ use_count: 2, success_rate: 100, avg_rating: 4 });
    expect(byName.get('dogstyle')).toMatchObject({ use_count: 3, avg_rating: null });
    expect((byName.get('dogstyle') as { success_rate: number }).success_rate).toBeCloseTo(33.33, 1);
    expect((await get('/analytics/loras?never_used=true')).items.map((i: { name: string }) => i.name)).toEqual(['neverused']);
  });

  it('rebuilds the same roll-ups from the jobs', async () => {
    const before = await get('/analytics/summary?time_range=30d');
    await t.container.services.usageRecorder.rebuild();
    const after = await get('/analytics/summary?time_range=30d');
    // Durations differ by the moments between the handler's end and the job row's finished_at: compare the rest.
    const comparable = (s: typeof before) => ({
      kpis: { ...s.kpis, avg_generation_time: null },
      volume: s.chart_data.generation_volume,
      loras: s.chart_data.lora_usage,
      errors: s.error_breakdown,
    });
    expect(comparable(after)).toEqual(comparable(before));
    expect(after.kpis.avg_generation_time).toBeCloseTo(before.kpis.avg_generation_time, 1);
    expect((await get('/analytics/loras')).items.find((i: { name: string }) => i.name === 'catstyle')).toMatchObject({ avg_rating: 4 });
  });

  it('reports resource usage as sampled, never invented', async () => {
    expect((await get('/analytics/summary?time_range=24h')).chart_data.resource_usage).toEqual([]);
    cpu = 20;
    await t.container.resourceSampler.tick();
    cpu = 40;
    await t.container.resourceSampler.tick();
    const points = (await get('/analytics/timeseries?time_range=24h')).resource_usage;
    expect(points).toHaveLength(1);
    expect(points[0]).toMatchObject({ memory_percent: 60, gpu_percent: 80, gpu_memory_percent: 50, queue_depth: 0 });
    expect([30, 40]).toContain(points[0].cpu_percent); // two samples in the same second share a key: one row kept
  });

  it('draws insights only from enough data', async () => {
    const insights = await get('/analytics/insights?time_range=24h');
    expect(insights.map((i: { title: string }) => i.title)).not.toContain('Declining success rate');
    expect(insights.map((i: { title: string }) => i.title)).not.toContain('Low success rate');
    expect(insights.find((i: { title: string }) => i.title === 'LoRAs never used')).toMatchObject({ severity: 'low' });
  });
});

describe.each(TEST_DIALECTS)('analytics on an empty database on %s', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(dialect, { ANALYTICS_SAMPLE_INTERVAL_S: '0' });
  });
  afterAll(async () => t?.close());

  it('answers zeros, every bucket and no insight for each range', async () => {
    for (const [range, buckets] of [['24h', 24], ['7d', 7], ['30d', 30], ['90d', 90]] as const) {
      const res = await t.app.inject({ method: 'GET', url: `${API}/analytics/summary?time_range=${range}` });
      expect(res.statusCode, res.body).toBe(200);
      const s = res.json();
      expect(s.kpis).toMatchObject({ total_generations: 0, success_rate: 0, total_failed: 0, generation_growth: 0 });
      expect(s.chart_data.generation_volume).toHaveLength(buckets);
      expect(s.bucket).toBe(range === '24h' ? 'hour' : 'day');
      expect(s.performance_insights).toEqual([]);
      expect(s.error_breakdown).toEqual([]);
    }
  });

  it('takes a custom from/to range, per hour up to three days', async () => {
    const res = await t.app.inject({ method: 'GET', url: `${API}/analytics/timeseries?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z` });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().generation_volume).toHaveLength(24);
    expect(res.json().generation_volume[0].timestamp).toBe('2026-01-01T00:00:00.000Z');
    const days = await t.app.inject({ method: 'GET', url: `${API}/analytics/summary?time_range=custom&from=2026-01-01T00:00:00Z&to=2026-01-11T00:00:00Z` });
    expect(days.json()).toMatchObject({ time_range: 'custom', bucket: 'day' });
    expect(days.json().chart_data.generation_volume).toHaveLength(10);
  });

  it.each([
    ['time_range=1y', 422],
    ['time_range=custom', 400],
    ['from=2026-01-01T00:00:00Z', 400],
    ['from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z', 400],
    ['from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z', 400],
    ['from=yesterday&to=today', 422],
    ['time_range=24h&time_range=7d', 422],
  ])('refuses %s with a problem document', async (query, status) => {
    const res = await t.app.inject({ method: 'GET', url: `${API}/analytics/summary?${query}` });
    expect(res.statusCode, res.body).toBe(status);
    expect(res.headers['content-type']).toContain('application/problem+json');
    if (status === 400) expect(res.json().code).toBe('invalid_time_range');
  });

  it('refuses hostile per-LoRA queries', async () => {
    for (const q of ['limit=0', 'limit=100000', 'sort=drop', 'never_used=maybe']) {
      const res = await t.app.inject({ method: 'GET', url: `${API}/analytics/loras?${q}` });
      expect(res.statusCode, q).toBe(422);
    }
  });
});
