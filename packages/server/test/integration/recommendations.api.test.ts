import path from 'node:path';
import type { Adapter, RecommendationResponse } from '@lora-manager/contract';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRecommendations } from '../../src/recommendations/services/recommendations.module.ts';
import { api, scan, writeLora } from '../support/library.ts';
import { createTestApp, TEST_DIALECTS, type TestApp } from '../support/test-app.ts';

type Spec = { name: string; triggers?: string[]; trained_words?: string[]; tags?: string[]; sd_version?: string; description?: string };

/** Three groups of related LoRAs, decoys of another base model, and noise. */
const CATALOGUE: Spec[] = [
  { name: 'PixelArtXL', triggers: ['pixel art'], trained_words: ['pixel art', '16-bit sprite'], tags: ['style', 'pixel'], sd_version: 'SDXL' },
  { name: 'RetroSprites', triggers: ['pixel art', 'sprite sheet'], tags: ['style', 'pixel', 'game'], sd_version: 'SDXL' },
  { name: 'EightBitWorld', trained_words: ['16-bit sprite', 'pixel art'], tags: ['pixel'], sd_version: 'Pony' },
  { name: 'PixelArtSD15', triggers: ['pixel art'], tags: ['style', 'pixel'], sd_version: 'SD1.5' },
  { name: 'WatercolorDream', triggers: ['watercolor painting'], trained_words: ['watercolor', 'paper texture'], tags: ['style', 'watercolor'], sd_version: 'SDXL' },
  { name: 'SoftWashes', trained_words: ['watercolor painting', 'paper texture'], tags: ['watercolor', 'painting'], sd_version: 'SDXL' },
  { name: 'CyberCity', triggers: ['neon city'], trained_words: ['cyberpunk street', 'neon lights'], tags: ['concept', 'cyberpunk'], sd_version: 'SDXL' },
  { name: 'NightNeon', triggers: ['neon lights'], tags: ['cyberpunk', 'night'], sd_version: 'SDXL' },
  { name: 'HatCollection', triggers: ['top hat'], tags: ['clothing'], sd_version: 'SDXL' },
  { name: 'OakForest', triggers: ['ancient oak'], tags: ['landscape', 'forest'], sd_version: 'SDXL' },
];

describe.each(TEST_DIALECTS)('recommendations on %s', (dialect) => {
  let t: TestApp;
  const ids = new Map<string, string>();
  const id = (name: string) => ids.get(name)!;
  const names = (r: RecommendationResponse) => r.recommendations.map((i) => i.lora_name);

  beforeAll(async () => {
    t = await createTestApp(dialect);
    for (const spec of CATALOGUE) {
      const file = t.libraryFile(`${spec.name}.safetensors`);
      const { adapter } = await api<{ adapter: Adapter }>(t, 'POST', '/adapters', { file_path: file, ...spec }, 201);
      ids.set(spec.name, adapter.id);
    }
    // History: CyberCity and HatCollection share nothing, but the user generates with them together and rates it well.
    const db = t.container.database.db;
    for (let n = 0; n < 4; n++) {
      const job = `job-${n}`;
      await db
        .insertInto('delivery_job')
        .values({ id: job, kind: 'generation', mode: 'sdnext', backend: 'sdnext', prompt: 'p', prompt_key: 'p', negative_prompt: null, params: '{}', width: null, height: null, steps: null, cfg_scale: null, sampler_name: null, seed: null, image_count: 0, generation_info: null, rating: 5, is_favorite: 0, rating_updated_at: null, favorite_updated_at: null, created_at: `2026-01-0${n + 1}T00:00:00.000Z` })
        .execute();
      await db
        .insertInto('delivery_adapter')
        .values([
          { job_id: job, position: 0, adapter_id: id('CyberCity'), name: 'CyberCity', weight: 1 },
          { job_id: job, position: 1, adapter_id: id('HatCollection'), name: 'HatCollection', weight: 1 },
        ])
        .execute();
    }
  });
  afterAll(async () => t?.close());

  it('finds LoRAs sharing triggers and trained words, says why, and leaves out other base models', async () => {
    const res = await api<RecommendationResponse>(t, 'GET', `/recommendations/similar/${id('PixelArtXL')}`, undefined, 200);
    expect(res.session_id).toMatch(/[0-9a-f-]{36}/);
    expect(res.target_lora_id).toBe(id('PixelArtXL'));
    expect(names(res).slice(0, 2).sort()).toEqual(['EightBitWorld', 'RetroSprites']);
    expect(names(res)).not.toContain('PixelArtSD15');
    expect(names(res)).not.toContain('PixelArtXL');
    const retro = res.recommendations.find((i) => i.lora_name === 'RetroSprites')!;
    expect(retro.explanation).toContain('shares trigger words: pixel art');
    expect(retro.reasons).toContain('same base model (SDXL)');
    expect(retro.metadata.tags).toEqual(['style', 'pixel', 'game']);

    const all = await api<RecommendationResponse>(t, 'GET', `/recommendations/similar/${id('PixelArtXL')}?include_incompatible=true`, undefined, 200);
    expect(names(all)).toContain('PixelArtSD15');
  });

  it('keeps up with edits, new adapters and deletes without a rebuild', async () => {
    await api(t, 'PATCH', `/adapters/${id('OakForest')}`, { triggers: ['pixel art', 'ancient oak'] }, 200);
    const after = await api<RecommendationResponse>(t, 'GET', `/recommendations/similar/${id('PixelArtXL')}`, undefined, 200);
    expect(names(after)).toContain('OakForest');

    const file = t.libraryFile('PixelDungeon.safetensors');
    const { adapter: added } = await api<{ adapter: Adapter }>(t, 'POST', '/adapters', { file_path: file, name: 'PixelDungeon', triggers: ['pixel art', 'sprite sheet'], tags: ['pixel', 'game'], sd_version: 'SDXL' }, 201);
    const withNew = await api<RecommendationResponse>(t, 'GET', `/recommendations/similar/${id('RetroSprites')}`, undefined, 200);
    expect(names(withNew)[0]).toBe('PixelDungeon');

    await api(t, 'DELETE', `/adapters/${added.id}`, undefined, 204);
    const gone = await api<RecommendationResponse>(t, 'GET', `/recommendations/similar/${id('RetroSprites')}`, undefined, 200);
    expect(names(gone)).not.toContain('PixelDungeon');
    await api(t, 'PATCH', `/adapters/${id('OakForest')}`, { triggers: ['ancient oak'] }, 200);
  });

  it('another process sees a change through the stored features, without a rebuild', async () => {
    const other = createRecommendations({ database: t.container.database, repositories: t.container.repositories, clock: t.container.clock, logger: pino({ level: 'silent' }) });
    const before = await other.recommendations.byTrigger({ trigger_query: 'tin soldier' });
    expect(before.recommendations).toHaveLength(0);
    await api(t, 'PATCH', `/adapters/${id('HatCollection')}`, { triggers: ['top hat', 'tin soldier'] }, 200);
    // The writer stores the features just after its commit (a read in its own process waits for that).
    await t.container.services.recommendationIndex.engine();
    const after = await other.recommendations.byTrigger({ trigger_query: 'tin soldier' });
    expect(after.recommendations.map((i) => i.lora_name)).toEqual(['HatCollection']);
  });

  it('suggests LoRAs for a prompt, leaving out those already in it', async () => {
    const res = await api<RecommendationResponse>(t, 'POST', '/recommendations/for-prompt', { prompt: 'a castle, pixel art, 16-bit sprite <lora:RetroSprites:0.8>' }, 200);
    expect(names(res).slice(0, 2).sort()).toEqual(['EightBitWorld', 'PixelArtXL']);
    expect(names(res)).not.toContain('RetroSprites');
    expect(names(res)).not.toContain('PixelArtSD15');
    expect(res.recommendations[0].explanation).toMatch(/your prompt uses its trigger|matches your prompt/);

    const water = await api<RecommendationResponse>(t, 'POST', '/recommendations/for-prompt', { prompt: 'a lake at dawn, watercolor painting', active_loras: [id('WatercolorDream')] }, 200);
    expect(names(water)[0]).toBe('SoftWashes');
  });

  it('finds LoRAs by trigger word: exact match first, scored 1', async () => {
    const res = await api<RecommendationResponse>(t, 'GET', '/recommendations/by-trigger?trigger_query=Neon%20Lights', undefined, 200);
    expect(res.trigger_query).toBe('Neon Lights');
    // A trigger and a trained word both answer to the phrase.
    expect(names(res).slice(0, 2).sort()).toEqual(['CyberCity', 'NightNeon']);
    expect(res.recommendations[1].final_score).toBeGreaterThanOrEqual(1);
    expect(res.recommendations[0].explanation).toContain('exact trigger match: "neon lights"');
    const partial = await api<RecommendationResponse>(t, 'GET', '/recommendations/by-trigger?trigger_query=waterc', undefined, 200);
    expect(names(partial)).toContain('WatercolorDream');
  });

  it('learns from the generation history: LoRAs used together in well-rated images', async () => {
    const res = await api<RecommendationResponse>(t, 'GET', `/recommendations/similar/${id('CyberCity')}`, undefined, 200);
    const hat = res.recommendations.find((i) => i.lora_name === 'HatCollection');
    expect(hat?.reasons).toContain('often used together in your generations');
    expect(hat!.learned_boost).toBeGreaterThan(0);
  });

  it('learns from feedback: a negative vote lowers, a dismissal removes, a positive one raises', async () => {
    const first = await api<RecommendationResponse>(t, 'GET', `/recommendations/similar/${id('PixelArtXL')}`, undefined, 200);
    const top = first.recommendations[0];
    const second = first.recommendations[1];
    const topScore = top.final_score;
    await api(t, 'POST', '/recommendations/feedback', { session_id: first.session_id, recommended_lora_id: top.lora_id, feedback_type: 'negative' }, 200);
    const afterNegative = await api<RecommendationResponse>(t, 'GET', `/recommendations/similar/${id('PixelArtXL')}`, undefined, 200);
    const lowered = afterNegative.recommendations.find((i) => i.lora_id === top.lora_id);
    expect(lowered === undefined || lowered.final_score < topScore).toBe(true);
    expect(afterNegative.recommendations[0].lora_id).toBe(second.lora_id);

    await api(t, 'POST', '/recommendations/feedback', { session_id: first.session_id, recommended_lora_id: second.lora_id, feedback_type: 'dismissed' }, 200);
    const afterDismiss = await api<RecommendationResponse>(t, 'GET', `/recommendations/similar/${id('PixelArtXL')}`, undefined, 200);
    expect(afterDismiss.recommendations.map((i) => i.lora_id)).not.toContain(second.lora_id);

    const water = await api<RecommendationResponse>(t, 'GET', `/recommendations/similar/${id('WatercolorDream')}`, undefined, 200);
    const last = water.recommendations[water.recommendations.length - 1];
    await api(t, 'POST', '/recommendations/feedback', { session_id: water.session_id, recommended_lora_id: last.lora_id, feedback_type: 'positive' }, 200);
    const raised = await api<RecommendationResponse>(t, 'GET', `/recommendations/similar/${id('WatercolorDream')}`, undefined, 200);
    const again = raised.recommendations.find((i) => i.lora_id === last.lora_id)!;
    expect(again.final_score).toBeGreaterThan(last.final_score);
    expect(again.reasons).toContain('you liked this suggestion before');

    const listed = await api<unknown[]>(t, 'GET', `/recommendations/feedback?session_id=${first.session_id}`, undefined, 200);
    expect(listed).toHaveLength(2);
  });

  it('learns from preferences: a liked tag raises its LoRAs, a disliked one lowers them', async () => {
    const prompt = { prompt: 'night street, neon lights, ancient oak' };
    const before = await api<RecommendationResponse>(t, 'POST', '/recommendations/for-prompt', prompt, 200);
    const oakBefore = before.recommendations.find((i) => i.lora_name === 'OakForest')!;
    const pref = await api(t, 'POST', '/recommendations/preferences', { preference_type: 'tag', preference_value: 'Forest', confidence: 0.9 }, 200);
    expect(pref).toMatchObject({ preference_type: 'tag', preference_value: 'Forest', learned_from: 'explicit', evidence_count: 1 });
    const after = await api<RecommendationResponse>(t, 'POST', '/recommendations/for-prompt', prompt, 200);
    const oakAfter = after.recommendations.find((i) => i.lora_name === 'OakForest')!;
    expect(oakAfter.final_score).toBeGreaterThan(oakBefore.final_score);
    const rank = (r: RecommendationResponse) => names(r).indexOf('OakForest');
    expect(rank(after)).toBeLessThanOrEqual(rank(before));
    expect(oakAfter.reasons).toContain('matches your preference for tag "forest"');

    const again = await api(t, 'POST', '/recommendations/preferences', { preference_type: 'tag', preference_value: 'forest', confidence: 0.1 }, 200);
    expect(again).toMatchObject({ evidence_count: 2, confidence: 0.1 });
    const disliked = await api<RecommendationResponse>(t, 'POST', '/recommendations/for-prompt', prompt, 200);
    expect(disliked.recommendations.find((i) => i.lora_name === 'OakForest')!.final_score).toBeLessThan(oakBefore.final_score);
    const prefs = await api<Array<{ id: string }>>(t, 'GET', '/recommendations/preferences', undefined, 200);
    await api(t, 'DELETE', `/recommendations/preferences/${prefs[0].id}`, undefined, 204);
  });

  it('answers stats, health, feature status, compute and rebuild in the original shapes', async () => {
    const stats = await api(t, 'GET', '/recommendations/stats', undefined, 200);
    expect(stats).toMatchObject({ total_loras: CATALOGUE.length, loras_with_embeddings: CATALOGUE.length, embedding_coverage: 1 });
    expect(stats.total_sessions).toBeGreaterThan(0);
    expect(stats.avg_recommendation_time_ms).toBeGreaterThan(0);
    expect(await api(t, 'GET', '/recommendations/health', undefined, 200)).toMatchObject({ status: 'healthy', checks: { models_loaded: true, embeddings_coverage: true } });
    expect(await api(t, 'GET', `/recommendations/embeddings/${id('OakForest')}`, undefined, 200)).toMatchObject({ has_semantic_embedding: true, needs_recomputation: false });
    expect(await api(t, 'GET', '/recommendations/embeddings/nope', undefined, 200)).toMatchObject({ has_semantic_embedding: false, needs_recomputation: true });
    expect(await api(t, 'POST', `/recommendations/embeddings/${id('OakForest')}/compute?force_recompute=true`, undefined, 200)).toEqual({ status: 'success', message: `Embeddings computed for ${id('OakForest')}` });
    const batch = await api(t, 'POST', '/recommendations/embeddings/compute', { adapter_ids: [id('OakForest'), 'missing-id'] }, 200);
    expect(batch).toMatchObject({ processed_count: 0, skipped_count: 1, error_count: 1 });
    expect(await api(t, 'POST', '/recommendations/index/rebuild', undefined, 200)).toMatchObject({ status: 'skipped', skipped: true, indexed_items: CATALOGUE.length });
    expect(await api(t, 'POST', '/recommendations/index/rebuild?force=true', undefined, 200)).toMatchObject({ status: 'rebuilt', indexed_items: CATALOGUE.length });
  });

  it('refuses bad input with problem+json, never 500', async () => {
    const traversal = await t.app.inject({ method: 'GET', url: '/api/v1/recommendations/similar/..%2F..%2Fetc%2Fpasswd' });
    expect(traversal.statusCode).toBeGreaterThanOrEqual(400);
    expect(traversal.statusCode).toBeLessThan(500);
    const missing = await t.app.inject({ method: 'GET', url: '/api/v1/recommendations/similar/no-such-lora' });
    expect(missing.statusCode).toBe(404);
    expect(missing.headers['content-type']).toContain('application/problem+json');
    expect(missing.json()).toMatchObject({ code: 'adapter_not_found' });
    for (const url of ['/similar/x?limit=0', '/similar/x?limit=51', '/similar/x?similarity_threshold=2', '/similar/x?weight_semantic=-1', '/by-trigger', '/by-trigger?trigger_query=']) {
      const res = await t.app.inject({ method: 'GET', url: `/api/v1/recommendations${url}` });
      expect(res.statusCode, url).toBe(422);
    }
    const bodies: unknown[] = [
      {},
      { prompt: '' },
      { prompt: 'x'.repeat(20_001) },
      { prompt: 'x', active_loras: Array.from({ length: 101 }, () => 'a') },
      { prompt: 'x', weights: { semantic: 3 } },
    ];
    for (const payload of bodies) expect((await t.app.inject({ method: 'POST', url: '/api/v1/recommendations/for-prompt', payload: payload as object })).statusCode).toBe(422);
    const badType = await t.app.inject({ method: 'POST', url: '/api/v1/recommendations/feedback', payload: { session_id: 's', recommended_lora_id: id('OakForest'), feedback_type: 'love' } });
    expect(badType.statusCode).toBe(422);
    const noSession = await t.app.inject({ method: 'POST', url: '/api/v1/recommendations/feedback', payload: { session_id: 'nope', recommended_lora_id: id('OakForest'), feedback_type: 'positive' } });
    expect(noSession.statusCode).toBe(404);
    expect(noSession.json()).toMatchObject({ code: 'recommendation_session_not_found' });
    const session = (await api<RecommendationResponse>(t, 'GET', '/recommendations/by-trigger?trigger_query=oak', undefined, 200)).session_id;
    const noAdapter = await t.app.inject({ method: 'POST', url: '/api/v1/recommendations/feedback', payload: { session_id: session, recommended_lora_id: 'nope', feedback_type: 'positive' } });
    expect(noAdapter.json()).toMatchObject({ status: 404, code: 'adapter_not_found' });
    const badPref = await t.app.inject({ method: 'POST', url: '/api/v1/recommendations/preferences', payload: { preference_type: 'colour', preference_value: 'x', confidence: 0.5 } });
    expect(badPref.statusCode).toBe(422);
    expect((await t.app.inject({ method: 'DELETE', url: '/api/v1/recommendations/preferences/nope' })).statusCode).toBe(404);
  });

  it('a scanned LoRA is recommended by the trigger in its kohya metadata', async () => {
    writeLora(path.join(t.libraryDir, 'scanned', 'qwertyStyle.safetensors'), { trigger: 'qwerty style' });
    await scan(t);
    const res = await api<RecommendationResponse>(t, 'GET', '/recommendations/by-trigger?trigger_query=qwerty%20style', undefined, 200);
    expect(names(res)[0]).toBe('qwertyStyle');
  });
});

describe('recommendations behind an API key', () => {
  it('every route needs the key', async () => {
    const t = await createTestApp('sqlite', { API_KEY: 'secret-key-123456' });
    try {
      for (const [method, url] of [
        ['GET', '/similar/x'],
        ['POST', '/for-prompt'],
        ['GET', '/by-trigger?trigger_query=a'],
        ['GET', '/stats'],
        ['GET', '/health'],
        ['POST', '/feedback'],
        ['POST', '/preferences'],
        ['POST', '/index/rebuild'],
        ['POST', '/embeddings/compute'],
      ] as const) {
        expect((await t.app.inject({ method, url: `/api/v1/recommendations${url}` })).statusCode, url).toBe(401);
      }
    } finally {
      await t.close();
    }
  });
});
