import fs from 'node:fs';
import path from 'node:path';
import type { Adapter, Recipe } from '@lora-manager/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTextChunks } from '../../src/lib/png.ts';
import { startA1111TestServer, type A1111TestServer } from '../support/a1111-test-server.ts';
import { api, scan, writeLora } from '../support/library.ts';
import { multipart } from '../support/recipe-images.ts';
import { createTestApp, TEST_DIALECTS, type TestApp } from '../support/test-app.ts';
import { until } from '../support/wait.ts';

const API = '/api/v1';

/**
 * Item 5 of issue 16: images we generate carry A1111 infotext with `Lora hashes`, so reading one of our own images back
 * through the recipe importer gives the same recipe; and variations queued from a recipe link back to it.
 */
describe.each(TEST_DIALECTS)('recipes and generation on %s', (dialect) => {
  let sd: A1111TestServer;
  let t: TestApp;
  let adapters: Adapter[];

  beforeAll(async () => {
    sd = await startA1111TestServer({ stepDelayMs: 1 });
    t = await createTestApp(dialect, { SDNEXT_BASE_URL: sd.url, SDNEXT_POLL_INTERVAL: '0.05', SCAN_THREADS: '1' });
    writeLora(path.join(t.libraryDir, 'inkWash.safetensors'), { seed: 21, data: 'fill' });
    writeLora(path.join(t.libraryDir, 'sub', 'paperTexture.safetensors'), { seed: 22, data: 'fill' });
    await scan(t);
    adapters = (await api<{ items: Adapter[] }>(t, 'GET', '/adapters?per_page=50&sort=name', undefined, 200)).items;
  });
  afterAll(async () => {
    await t.close();
    await sd.close();
  });

  it('a generated image reads back through the importer as the same recipe; its job links to the recipe', async () => {
    const [ink, paper] = ['inkWash', 'paperTexture'].map((n) => adapters.find((a) => a.file_path.includes(n)) as Adapter);
    const recipe = await api<Recipe>(t, 'POST', '/recipes', {
      name: 'ink',
      prompt: 'a heron in the reeds',
      negative_prompt: 'blurry',
      params: { steps: 3, width: 64, height: 48, seed: 77, sampler: 'Euler', cfg_scale: 6 },
      loras: [{ name: 'inkWash', weight: 0.8, adapter_id: ink.id }, { name: 'paperTexture', weight: 0.4, adapter_id: paper.id }],
    }, 201);
    const applied = await api(t, 'POST', `/recipes/${recipe.id}/apply`, { target: 'generate', count: 1 }, 200);
    expect(applied.job_ids).toHaveLength(1);
    const jobId = applied.job_ids[0];
    await t.container.queue.drain();
    const row = await t.container.database.db.selectFrom('delivery_job').select(['recipe_id']).where('id', '=', jobId).executeTakeFirstOrThrow();
    expect(row.recipe_id).toBe(recipe.id);
    expect((await api(t, 'GET', `/generation/results/${jobId}`, undefined, 200)).recipe_id).toBe(recipe.id);

    const file = await until('the generated image', async () => {
      const res = await t.app.inject({ method: 'GET', url: `${API}/generation/results/${jobId}/images/0` });
      return res.statusCode === 200 && res.rawPayload;
    });
    // The test server's infotext has no `Lora hashes`; ours completes it with the catalogue's hashes.
    expect(readTextChunks(file).parameters).toMatch(/Lora hashes: "inkWash: [0-9a-f]{12}, paperTexture: [0-9a-f]{12}"/);

    const parsed = await t.app.inject({ method: 'POST', url: `${API}/recipes/parse`, ...multipart([{ name: 'ours.png', data: file }]) });
    const draft = parsed.json().drafts[0].draft;
    expect(draft.loras.map((l: { adapter_id: string; weight: number; match: string }) => [l.adapter_id, l.weight, l.match])).toEqual([
      [ink.id, 0.8, 'autov3'],
      [paper.id, 0.4, 'autov3'],
    ]);
    expect(draft).toMatchObject({ prompt: recipe.prompt, negative_prompt: recipe.negative_prompt, fingerprint: recipe.fingerprint, duplicates: [recipe.id] });
    expect(draft.params).toMatchObject({ steps: 3, width: 64, height: 48, seed: 77, sampler: 'Euler', cfg_scale: 6 });

    // Save it from history: the result's image becomes the preview, its LoRAs are the adapters the job used.
    const saved = await api<Recipe>(t, 'POST', '/recipes', { result_id: jobId, name: 'from history' }, 201);
    expect(saved).toMatchObject({ source: 'result', source_result_id: jobId, prompt: recipe.prompt, missing_count: 0 });
    expect(saved.loras.map((l) => [l.adapter_id, l.weight])).toEqual([[ink.id, 0.8], [paper.id, 0.4]]);
    const preview = await t.app.inject({ method: 'GET', url: saved.preview_url as string });
    expect(preview.rawPayload.equals(file)).toBe(true);
    expect(fs.existsSync(path.join(t.dataDir, 'recipes'))).toBe(true);
  });

  it('queues a weight sweep of one LoRA over N jobs', async () => {
    const ink = adapters.find((a) => a.file_path.includes('inkWash')) as Adapter;
    const recipe = await api<Recipe>(t, 'POST', '/recipes', { prompt: 'sweep', params: { steps: 2, width: 32, height: 32, seed: 3 }, loras: [{ name: 'inkWash', weight: 1, adapter_id: ink.id }] }, 201);
    const applied = await api(t, 'POST', `/recipes/${recipe.id}/apply`, { target: 'generate', count: 3, vary: 'weight', sweep: { position: 0, from: 0.2, to: 1 } }, 200);
    expect(applied.job_ids).toHaveLength(3);
    const rows = await t.container.database.db.selectFrom('delivery_job').select(['id', 'prompt', 'seed']).where('recipe_id', '=', recipe.id).execute();
    expect(rows.map((r) => r.prompt).sort()).toEqual([`sweep, <lora:${ink.name}:0.2>`, `sweep, <lora:${ink.name}:0.6>`, `sweep, <lora:${ink.name}:1>`]);
    expect(new Set(rows.map((r) => r.seed))).toEqual(new Set([3]));
    await t.container.queue.drain();
  });
});
