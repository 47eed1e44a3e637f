import type { Job, Recipe } from '@lora-manager/contract';
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { nextTick } from 'vue';
import { useLiveStore } from '../../../stores/live.store.ts';
import { useRecipesStore } from './recipes.store.ts';

const job = (status: Job['status'], updated: string): Job => ({
  id: 'lookup-1',
  kind: 'recipes.civitai',
  status,
  progress: 0,
  progress_detail: null,
  payload: {},
  result: null,
  error: null,
  attempts: 1,
  max_attempts: 3,
  queue_group: null,
  created_at: '2025-01-01T00:00:00.000Z',
  started_at: null,
  finished_at: null,
  updated_at: updated,
});

const recipe = (civitaiName: string | null) => ({ id: 'r1', name: 'ink', loras: [{ position: 0, name: 'inkwash', missing: true, hash: 'abababab12', civitai_name: civitaiName }] }) as unknown as Recipe;

describe('recipes store: CivitAI lookup of missing LoRAs', () => {
  let calls: string[];
  beforeEach(() => {
    localStorage.clear();
    setActivePinia(createPinia());
    calls = [];
    vi.stubGlobal(
      'fetch',
      vi.fn(async (url: string, init: RequestInit) => {
        calls.push(`${init.method} ${url}`);
        const body = url.endsWith('/recipes/civitai/lookup') ? { job: job('pending', '2025-01-01T00:00:00.000Z') } : url.endsWith('/recipes/r1') ? recipe('Ink Wash Painting v2.0') : null;
        if (!body) return new Response('{}', { status: 404 });
        return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
      }),
    );
  });
  afterEach(() => vi.unstubAllGlobals());

  it('queues the lookup, shows it as a job, and reads the open recipe again once the job has ended', async () => {
    const store = useRecipesStore();
    store.open = recipe(null);
    await store.lookUpOnCivitai(recipe(null));
    expect(calls).toEqual(['POST /api/v1/recipes/civitai/lookup']);
    expect(useLiveStore().activeJobs.map((j) => j.id)).toEqual(['lookup-1']);

    useLiveStore().handle({ type: 'job_completed', timestamp: '', data: { job: job('succeeded', '2025-01-01T00:00:05.000Z') } });
    await nextTick();
    await vi.waitFor(() => expect(store.open?.loras[0].civitai_name).toBe('Ink Wash Painting v2.0'));
    expect(calls).toEqual(['POST /api/v1/recipes/civitai/lookup', 'GET /api/v1/recipes/r1']);
  });
});
