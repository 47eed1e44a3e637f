import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { moveItem, useComposeStore } from './compose.store.ts';

describe('compose store', () => {
  beforeEach(() => {
    localStorage.clear();
    setActivePinia(createPinia());
  });
  // Let debounced requests fire against the stub before it goes away.
  afterEach(async () => {
    await new Promise((r) => setTimeout(r, 200));
    vi.unstubAllGlobals();
  });

  it('moves an item within a list', () => {
    expect(moveItem(['a', 'b', 'c', 'd'], 0, 2)).toEqual(['b', 'c', 'a', 'd']);
    expect(moveItem(['a', 'b', 'c'], 2, 0)).toEqual(['c', 'a', 'b']);
  });

  it('composes the active LoRAs in their order and saves a new order as ordinals', async () => {
    const bodies: Array<{ method: string; url: string; body: unknown }> = [];
    const active = [
      { id: 'x', name: 'X', weight: 1, ordinal: 0 },
      { id: 'y', name: 'Y', weight: 0.5, ordinal: 1 },
    ];
    vi.stubGlobal('fetch', async (url: string, init?: RequestInit) => {
      const body = init?.body ? JSON.parse(String(init.body)) : null;
      bodies.push({ method: init?.method ?? 'GET', url, body });
      if (url.includes('/adapters?')) return Response.json({ items: active, total: 2, filtered: 2, page: 1, pages: 1, per_page: 200 });
      if (url.endsWith('/compose')) return Response.json({ prompt: 'composed', tokens: [], warnings: [], delivery: null, syntax: 'a1111', trigger_words: [], adapters: [] });
      if (init?.method === 'PATCH') return Response.json({ adapter: { ...active.find((a) => url.endsWith(a.id)), ...body } });
      return new Response('null', { status: 404 });
    });
    const store = useComposeStore();
    store.options.prefix = 'a fox';
    await store.load();
    await store.compose();
    const compose = bodies.filter((b) => b.url.endsWith('/compose')).at(-1)?.body as { prefix: string; adapters: Array<{ id: string; weight: number }> };
    expect(compose.prefix).toBe('a fox');
    expect(compose.adapters).toEqual([
      { id: 'x', weight: 1 },
      { id: 'y', weight: 0.5 },
    ]);
    expect(store.composed?.prompt).toBe('composed');

    await store.move(1, 0);
    expect(store.items.map((a) => a.id)).toEqual(['y', 'x']);
    const patches = bodies.filter((b) => b.method === 'PATCH').map((b) => [b.url.split('/').pop(), b.body]);
    expect(patches).toEqual([
      ['y', { ordinal: 0 }],
      ['x', { ordinal: 1 }],
    ]);
  });
});
