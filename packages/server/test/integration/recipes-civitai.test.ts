import type { Recipe } from '@lora-manager/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCivitaiTestServer, type CivitaiTestServer } from '../support/civitai-test-server.ts';
import { api } from '../support/library.ts';
import { a1111Infotext } from '../support/recipe-images.ts';
import { createTestApp, TEST_DIALECTS, type TestApp } from '../support/test-app.ts';

const KNOWN = { sha256: 'ab'.repeat(32), autov2: 'abababab12' };

/** A recipe's LoRAs the library lacks are named by CivitAI (when the user turned CivitAI on), once, by hash. */
describe.each(TEST_DIALECTS)('recipe LoRAs looked up on CivitAI on %s', (dialect) => {
  let t: TestApp;
  let civitai: CivitaiTestServer;
  const lookupJobs = async () => t.container.database.db.selectFrom('job').select(['id', 'status', 'result']).where('kind', '=', 'recipes.civitai').execute();
  const importText = async (name: string, loras: Array<{ name: string; weight: number; hash: string }>) =>
    (await api<{ created: Recipe[] }>(t, 'POST', '/recipes/import', { text: a1111Infotext(loras), name }, 201)).created[0];

  beforeAll(async () => {
    civitai = await startCivitaiTestServer();
    civitai.know(KNOWN);
    t = await createTestApp(dialect, { SCAN_THREADS: '0', CIVITAI_API_URL: civitai.url, CIVITAI_MIN_INTERVAL_MS: '0' });
  });
  afterAll(async () => {
    await t.close();
    await civitai.close();
  });

  it('sends nothing while CivitAI is off, and says so when asked', async () => {
    const recipe = await importText('offline', [{ name: 'inkwash', weight: 0.7, hash: KNOWN.autov2 }]);
    expect(recipe.loras[0]).toMatchObject({ missing: true, civitai_name: null, civitai_checked_at: null, civitai_url: null });
    expect(await lookupJobs()).toEqual([]);
    const refused = await t.app.inject({ method: 'POST', url: '/api/v1/recipes/civitai/lookup' });
    expect([refused.statusCode, refused.json().code]).toEqual([409, 'civitai_disabled']);
    expect(civitai.requests).toEqual([]);
    await api(t, 'DELETE', `/recipes/${recipe.id}`, undefined, 204);
  });

  it('names a missing LoRA CivitAI knows, links its page, remembers a hash it does not know, and never asks twice', async () => {
    await api(t, 'PATCH', '/library/settings', { civitai_enabled: true }, 200);
    const recipe = await importText('ink', [
      { name: 'inkwash', weight: 0.7, hash: KNOWN.autov2 },
      { name: 'homemade', weight: 0.4, hash: '0123456789' },
    ]);
    await t.container.queue.drain();
    const [job] = await lookupJobs();
    expect(job.status).toBe('succeeded');
    expect(JSON.parse(job.result as string)).toEqual({ looked_up: 2, found: 1, not_found: 1 });
    expect(civitai.requests.map((r) => [r.method, r.path, r.body])).toEqual([['POST', '/api/v1/model-versions/by-hash', [KNOWN.autov2.toUpperCase(), '0123456789']]]);

    const after = await api<Recipe>(t, 'GET', `/recipes/${recipe.id}`, undefined, 200);
    expect(after.loras[0]).toMatchObject({
      name: 'inkwash',
      missing: true,
      civitai_name: 'Ink Wash Painting v2.0',
      civitai_model_id: 120000,
      civitai_version_id: 1180000,
      civitai_url: 'https://civitai.com/models/120000?modelVersionId=1180000',
    });
    // Asked and unknown: no link that would only answer "not found".
    expect(after.loras[1]).toMatchObject({ name: 'homemade', missing: true, civitai_name: null, civitai_url: null });
    expect(after.loras[1].civitai_checked_at).toEqual(expect.any(String));

    const again = await api<{ job: { id: string } }>(t, 'POST', '/recipes/civitai/lookup', { recipe_ids: [recipe.id] }, 202);
    await t.container.queue.drain();
    expect((await api<{ job: { result: unknown } }>(t, 'GET', `/jobs/${again.job.id}`, undefined, 200)).job.result).toEqual({ looked_up: 0, found: 0, not_found: 0 });
    expect(civitai.requests).toHaveLength(1);

    // Turned off again: what was learned stays, but no CivitAI link is offered.
    await api(t, 'PATCH', '/library/settings', { civitai_enabled: false }, 200);
    expect((await api<Recipe>(t, 'GET', `/recipes/${recipe.id}`, undefined, 200)).loras[0]).toMatchObject({ civitai_name: 'Ink Wash Painting v2.0', civitai_url: null });
  });

  it('refuses a malformed lookup request with a 4xx problem', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/recipes/civitai/lookup', payload: { recipe_ids: 'all' } });
    expect([res.statusCode, res.json().code]).toEqual([422, 'validation_failed']);
  });
});
