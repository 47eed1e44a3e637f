import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeliveryJobTable, JobTable } from '../../src/db/tables.ts';
import { startA1111TestServer, type A1111TestServer } from '../support/a1111-test-server.ts';
import { createTestApp, TEST_DIALECTS, type TestApp } from '../support/test-app.ts';
import { unzip } from '../support/wait.ts';

const API = '/api/v1';

/** A job + delivery row written straight to the database, for states and times the queue would not produce on demand. */
async function seedJob(t: TestApp, id: string, status: string, createdAt: string, startedAt: string | null, extra: Partial<DeliveryJobTable> = {}) {
  const job: JobTable = {
    id,
    kind: 'generation',
    status,
    payload: '{}',
    result: null,
    error: null,
    progress: 0,
    progress_detail: null,
    attempts: startedAt ? 1 : 0,
    max_attempts: 3,
    queue_group: 'seeded',
    run_after: '2999-01-01T00:00:00.000Z',
    heartbeat_at: null,
    created_at: createdAt,
    started_at: startedAt,
    finished_at: null,
    updated_at: createdAt,
  };
  await t.container.database.db.insertInto('job').values(job).execute();
  await t.container.database.db
    .insertInto('delivery_job')
    .values({
      id,
      kind: 'generation',
      mode: 'sdnext',
      backend: 'sdnext',
      prompt: `prompt ${id}`,
      prompt_key: `prompt ${id}`,
      negative_prompt: null,
      params: JSON.stringify({ generation_params: { prompt: `prompt ${id}`, steps: 20 }, backend: 'sdnext' }),
      width: null,
      height: null,
      steps: 20,
      cfg_scale: 7,
      sampler_name: 'Euler',
      seed: null,
      image_count: 0,
      generation_info: null,
      rating: null,
      is_favorite: 0,
      rating_updated_at: null,
      favorite_updated_at: null,
      created_at: createdAt,
      ...extra,
    })
    .execute();
}

describe.each(TEST_DIALECTS)('generation results on %s', (dialect) => {
  let sd: A1111TestServer;
  let t: TestApp;
  const ids: Record<string, string> = {};

  const generate = async (prompt: string, width: number, height: number) => {
    const res = await t.app.inject({ method: 'POST', url: `${API}/generation/generate`, payload: { prompt, width, height, steps: 2, seed: 7 } });
    expect(res.json().status, res.body).toBe('completed');
    return res.json().job_id as string;
  };

  beforeAll(async () => {
    sd = await startA1111TestServer({ stepDelayMs: 1 });
    t = await createTestApp(dialect, { SDNEXT_BASE_URL: sd.url, SDNEXT_POLL_INTERVAL: '0.05' });
    ids.cat = await generate('A cat on a windowsill', 64, 64);
    ids.dog = await generate('a dog in the snow, 50% zoom', 64, 32);
    ids.fox = await generate('a fox, cat-like', 32, 32);
  });
  afterAll(async () => {
    await t?.close();
    await sd?.close();
  });

  const list = async (query = '') => (await t.app.inject(`${API}/generation/results${query}`)).json();

  it('lists completed results newest first as a plain array, with pagination, search, filters and sorts', async () => {
    const all = await list();
    expect(Array.isArray(all)).toBe(true);
    expect(all.map((r: { id: string }) => r.id)).toEqual([ids.fox, ids.dog, ids.cat]);
    expect((await list('?limit=1&offset=1')).map((r: { id: string }) => r.id)).toEqual([ids.dog]);
    const page = await list('?page=2&page_size=2&envelope=true');
    expect(page).toMatchObject({ total: 3, page: 2, page_size: 2, pages: 2 });
    expect(page.items.map((r: { id: string }) => r.id)).toEqual([ids.cat]);
    expect((await list('?search=CAT')).map((r: { id: string }) => r.id)).toEqual([ids.fox, ids.cat]);
    expect((await list('?search=50%25')).map((r: { id: string }) => r.id)).toEqual([ids.dog]);
    expect((await list('?search=_')).length).toBe(0);
    expect((await list('?width=64&height=32')).map((r: { id: string }) => r.id)).toEqual([ids.dog]);
    expect((await list('?sort=oldest')).map((r: { id: string }) => r.id)).toEqual([ids.cat, ids.dog, ids.fox]);
    expect((await list('?sort=prompt')).map((r: { id: string }) => r.id)).toEqual([ids.cat, ids.dog, ids.fox]);
    expect((await list('?sort=prompt_desc')).map((r: { id: string }) => r.id)).toEqual([ids.fox, ids.dog, ids.cat]);
    const today = new Date().toISOString().slice(0, 10);
    expect((await list(`?start_date=${today}&end_date=${today}`)).length).toBe(3);
    expect((await list('?end_date=2000-01-01')).length).toBe(0);
    expect((await t.app.inject(`${API}/generation/results?start_date=yesterday`)).statusCode).toBe(422);
    expect((await t.app.inject(`${API}/generation/results?limit=101`)).statusCode).toBe(422);
  });

  it('rates, favourites and bulk-favourites results, clearing timestamps when unset', async () => {
    const rated = await t.app.inject({ method: 'PUT', url: `${API}/generation/results/${ids.dog}/rating`, payload: { rating: 4 } });
    expect(rated.json()).toMatchObject({ id: ids.dog, rating: 4, rating_updated_at: expect.stringMatching(/Z$/) });
    expect((await t.app.inject({ method: 'PUT', url: `${API}/generation/results/${ids.cat}/rating`, payload: { rating: 2 } })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'PUT', url: `${API}/generation/results/${ids.cat}/rating`, payload: { rating: 6 } })).statusCode).toBe(422);
    expect((await list('?min_rating=3')).map((r: { id: string }) => r.id)).toEqual([ids.dog]);
    expect((await list('?sort=rating')).map((r: { id: string }) => r.id)).toEqual([ids.dog, ids.cat, ids.fox]);
    const cleared = await t.app.inject({ method: 'PUT', url: `${API}/generation/results/${ids.cat}/rating`, payload: { rating: null } });
    expect(cleared.json()).toMatchObject({ rating: null, rating_updated_at: null });

    const fav = await t.app.inject({ method: 'PUT', url: `${API}/generation/results/${ids.fox}/favorite`, payload: { is_favorite: true } });
    expect(fav.json()).toMatchObject({ is_favorite: true, favorite_updated_at: expect.stringMatching(/Z$/) });
    const bulk = await t.app.inject({ method: 'PUT', url: `${API}/generation/results/bulk-favorite`, payload: { ids: [ids.cat, ids.dog, 'nope'], is_favorite: true } });
    expect(bulk.json()).toEqual({ updated: 2 });
    expect((await list('?favorites_only=true')).length).toBe(3);
    await t.app.inject({ method: 'PUT', url: `${API}/generation/results/bulk-favorite`, payload: { ids: [ids.cat], is_favorite: false } });
    const cat = (await t.app.inject(`${API}/generation/results/${ids.cat}`)).json();
    expect(cat).toMatchObject({ is_favorite: false, favorite_updated_at: null });
    expect((await t.app.inject({ method: 'PUT', url: `${API}/generation/results/nope/rating`, payload: { rating: 1 } })).statusCode).toBe(404);
  });

  it('downloads the first image as an attachment (case 22)', async () => {
    const res = await t.app.inject(`${API}/generation/results/${ids.cat}/download`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^image\//);
    expect(res.headers['content-disposition']).toContain('attachment');
    expect(Number(res.headers['content-length'])).toBe(res.rawPayload.length);
    expect(res.rawPayload.equals(fs.readFileSync(path.join(t.config.outputDir, ids.cat, '0.png')))).toBe(true);
    const missing = await t.app.inject(`${API}/generation/results/nope/download`);
    expect(missing.statusCode).toBe(404);
    expect(missing.json().title).toBe('Result not found');
  });

  it('exports a ZIP with metadata and images (case 24), 404 when nothing matches', async () => {
    const res = await t.app.inject({ method: 'POST', url: `${API}/generation/results/export`, payload: { ids: [ids.cat] } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/zip');
    expect(res.headers['content-disposition']).toContain('attachment');
    const entries = await unzip(res.rawPayload);
    const metadata = [...entries.keys()].find((k) => k.endsWith('metadata.json'))!;
    expect(entries.get(metadata)!.toString()).toContain('A cat on a windowsill');
    expect([...entries.keys()].some((k) => k.endsWith('.png'))).toBe(true);
    const none = await t.app.inject({ method: 'POST', url: `${API}/generation/results/export`, payload: { ids: ['nope'] } });
    expect(none.statusCode).toBe(404);
    expect(none.json().title).toBe('No results found');
  });

  it('orders active jobs by start, then creation (case 20)', async () => {
    await seedJob(t, 'seed-running', 'running', '2025-01-01T09:00:00.000Z', '2025-01-01T18:00:00.000Z');
    await seedJob(t, 'seed-retrying', 'retrying', '2025-01-01T08:00:00.000Z', '2025-01-01T17:00:00.000Z');
    await seedJob(t, 'seed-pending', 'pending', '2025-01-01T16:00:00.000Z', null);
    await seedJob(t, 'seed-done', 'succeeded', '2025-01-01T20:00:00.000Z', '2025-01-01T20:00:00.000Z');
    const active = (await t.app.inject(`${API}/generation/jobs/active?limit=10`)).json();
    expect(active.map((j: { id: string }) => j.id)).toEqual(['seed-running', 'seed-retrying', 'seed-pending']);
    expect(active.map((j: { status: string }) => j.status)).toEqual(['processing', 'processing', 'queued']);
    expect(active[0]).toMatchObject({ jobId: 'seed-running', startTime: '2025-01-01T18:00:00.000Z', params: { prompt: 'prompt seed-running', steps: 20, backend: 'sdnext' } });
    // Cancelling a retrying job is allowed (the original refused it).
    const cancel = await t.app.inject({ method: 'POST', url: `${API}/generation/jobs/seed-retrying/cancel` });
    expect(cancel.json()).toMatchObject({ success: true, status: 'cancelled' });
    // History tells a cancelled job from a failed one: `status` keeps the original's vocabulary, `raw_status` says which.
    const cancelled = (await t.app.inject(`${API}/generation/results/seed-retrying`)).json();
    expect(cancelled).toMatchObject({ status: 'failed', raw_status: 'cancelled' });
    expect((await t.app.inject({ method: 'POST', url: `${API}/generation/jobs/seed-done/cancel` })).statusCode).toBe(400);
    await t.app.inject({ method: 'DELETE', url: `${API}/generation/results/bulk-delete`, payload: { ids: ['seed-running', 'seed-retrying', 'seed-pending', 'seed-done'] } });
  });

  it('deletes one result and several, with their files (case 23)', async () => {
    const one = await t.app.inject({ method: 'DELETE', url: `${API}/generation/results/${ids.fox}` });
    expect(one.statusCode).toBe(204);
    expect(fs.existsSync(path.join(t.config.outputDir, ids.fox))).toBe(false);
    expect((await t.app.inject(`${API}/generation/results/${ids.fox}`)).statusCode).toBe(404);
    expect((await t.app.inject(`${API}/jobs/${ids.fox}`)).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'DELETE', url: `${API}/generation/results/${ids.fox}` })).statusCode).toBe(404);
    const bulk = await t.app.inject({ method: 'DELETE', url: `${API}/generation/results/bulk-delete`, payload: { ids: [ids.cat, ids.dog, 'nope'] } });
    expect(bulk.json()).toEqual({ deleted: 2 });
    expect(await list()).toEqual([]);
    expect(fs.readdirSync(t.config.outputDir)).toEqual([]);
  });
});

describe('result files stay inside OUTPUT_DIR', () => {
  it('neither serves nor deletes a file a database row points outside of it', async () => {
    const t = await createTestApp('sqlite');
    try {
      const victim = path.join(t.dataDir, 'victim.txt');
      fs.writeFileSync(victim, 'keep me');
      await seedJob(t, 'evil', 'succeeded', '2025-01-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z');
      for (const [idx, file] of [victim, '../victim.txt', `evil/../../victim.txt`].entries()) {
        await t.container.database.db
          .insertInto('generation_image')
          .values({ job_id: 'evil', idx, file, thumbnail: null, content_type: 'image/png', width: 1, height: 1, bytes: 7, seed: null, created_at: '2025-01-01T00:00:00.000Z' })
          .execute();
        const res = await t.app.inject(`${API}/generation/results/evil/images/${idx}`);
        expect(res.statusCode, file).toBe(404);
        expect(res.body).not.toContain('keep me');
      }
      const exported = await t.app.inject({ method: 'POST', url: `${API}/generation/results/export`, payload: { ids: ['evil'] } });
      expect([...(await unzip(exported.rawPayload)).keys()].filter((k) => !k.endsWith('.json'))).toEqual([]);
      expect((await t.app.inject({ method: 'DELETE', url: `${API}/generation/results/evil` })).statusCode).toBe(204);
      expect(fs.readFileSync(victim, 'utf8')).toBe('keep me');
    } finally {
      await t.close();
    }
  });
});
