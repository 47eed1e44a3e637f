import fs from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startA1111TestServer, type A1111TestServer } from '../support/a1111-test-server.ts';
import { allAdapters, exportZip, importZip, seedLibrary, snapshot, wipe } from '../support/archive-fixtures.ts';
import { createTestApp, TEST_DIALECTS, type TestApp } from '../support/test-app.ts';

const API = '/api/v1';

/** Generation results and their images travel in archives: export → wipe → import gives them back unchanged. */
describe.each(TEST_DIALECTS)('results in archives on %s', (dialect) => {
  let sd: A1111TestServer;
  let t: TestApp;

  beforeAll(async () => {
    sd = await startA1111TestServer({ stepDelayMs: 1 });
    t = await createTestApp(dialect, { SDNEXT_BASE_URL: sd.url, SDNEXT_POLL_INTERVAL: '0.05' });
  });
  afterAll(async () => {
    await t?.close();
    await sd?.close();
  });
  beforeEach(async () => {
    await wipe(t);
    await wipeResults();
  });

  async function wipeResults() {
    for (const r of (await t.app.inject(`${API}/generation/results?limit=100`)).json() as Array<{ id: string }>) {
      await t.app.inject({ method: 'DELETE', url: `${API}/generation/results/${r.id}` });
    }
    fs.rmSync(t.config.outputDir, { recursive: true, force: true });
  }

  async function generate(prompt: string): Promise<string> {
    const res = await t.app.inject({ method: 'POST', url: `${API}/generation/generate`, payload: { prompt, width: 64, height: 64, steps: 2, seed: 11, batch_size: 2 } });
    expect(res.json().status, res.body).toBe('completed');
    return res.json().job_id as string;
  }

  const rows = async (ids: string[]) => t.container.repositories.archive.resultRows(ids);

  it('exports results with their images and brings back the same rows, files and LoRA links', async () => {
    const [lora] = await seedLibrary(t, 1);
    const id = await generate('a lighthouse at dusk <lora:style 0:0.8>');
    await t.app.inject({ method: 'PUT', url: `${API}/generation/results/${id}/rating`, payload: { rating: 4 } });
    const before = await rows([id]);
    expect(before[0].images.length).toBe(2);
    expect(before[0].adapters).toEqual([expect.objectContaining({ adapter_id: lora.id, weight: 0.8 })]);
    const images = snapshot(t.config.outputDir);
    expect(Object.keys(images).length).toBeGreaterThanOrEqual(2);
    const api = (await t.app.inject(`${API}/generation/results/${id}`)).json();

    const estimate = (await t.app.inject({ method: 'POST', url: `${API}/export/estimate`, payload: { loras: true, generations: true } })).json();
    expect(estimate.result_count).toBe(1);
    const zip = await exportZip(t, { generations: true });
    await wipe(t);
    await wipeResults();
    expect(await rows([id])).toEqual([]);

    const { body } = await importZip(t, zip);
    expect(body.results[0]).toMatchObject({ status: 'imported', created: 1, results_imported: 1 });
    expect(await rows([id])).toEqual(before);
    expect(snapshot(t.config.outputDir)).toEqual(images);
    expect((await t.app.inject(`${API}/generation/results/${id}`)).json()).toEqual(api);
    expect((await allAdapters(t)).map((a) => a.id)).toEqual([lora.id]);
    // Analytics rebuilt its roll-ups from the imported history: the LoRA's use and its result's rating count again.
    const usage = (await t.app.inject(`${API}/analytics/loras`)).json() as { items: Array<{ id: string }> };
    expect(usage.items.find((i) => i.id === lora.id)).toMatchObject({ use_count: 1, avg_rating: 4, success_rate: 100 });

    // Importing again changes nothing: results are history, kept once.
    const again = (await importZip(t, zip)).body.results[0];
    expect(again.conflicts, JSON.stringify(again.conflicts)).toEqual([]);
    expect(again).toMatchObject({ status: 'imported', results_imported: 0, files_written: 0 });
  });

  it('a results export without images keeps the rows; a later full archive brings the images back', async () => {
    const id = await generate('a quiet harbour');
    const before = await rows([id]);
    const images = snapshot(t.config.outputDir);
    const withoutImages = await exportZip(t, { generations: true, generation_images: false });
    const full = await exportZip(t, { generations: true });
    await wipeResults();

    expect((await importZip(t, withoutImages)).body.results[0]).toMatchObject({ status: 'imported', results_imported: 1, files_written: 0 });
    expect(await rows([id])).toEqual(before);
    expect(snapshot(t.config.outputDir)).toEqual({});

    expect((await importZip(t, full)).body.results[0]).toMatchObject({ status: 'imported', results_imported: 0 });
    expect(snapshot(t.config.outputDir)).toEqual(images);
  });

  it('filters results by date when generation_range is not "all"', async () => {
    await generate('today');
    const count = async (body: Record<string, unknown>) =>
      (await t.app.inject({ method: 'POST', url: `${API}/export/estimate`, payload: { loras: true, generations: true, ...body } })).json().result_count;
    expect(await count({})).toBe(1);
    expect(await count({ generation_range: 'custom', date_to: '2000-01-01' })).toBe(0);
    expect(await count({ generation_range: 'all', date_to: '2000-01-01' })).toBe(1);
  });
});
