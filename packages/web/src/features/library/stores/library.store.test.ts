import type { Adapter } from '@lora-manager/contract';
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_QUERY } from '../lib/library-query.ts';
import { useLibraryStore } from './library.store.ts';

function adapter(i: number, over: Partial<Adapter> = {}): Adapter {
  return { id: `id-${i}`, name: `LoRA ${i}`, weight: 1, active: false, favorite: false, rating: null, tags: [], updated_at: '2025-01-01T00:00:00Z', ...over } as Adapter;
}

/** A fake server over `total` adapters that records every URL it is asked for. */
function server(total: number) {
  const urls: string[] = [];
  vi.stubGlobal('fetch', async (url: string, init?: RequestInit) => {
    urls.push(`${init?.method ?? 'GET'} ${url}`);
    const u = new URL(url, 'http://app');
    if (u.pathname === '/frontend/settings') return new Response('null', { status: 404 });
    if (u.pathname === '/api/v1/adapters') {
      const page = Number(u.searchParams.get('page'));
      const perPage = Number(u.searchParams.get('per_page'));
      const items = Array.from({ length: Math.max(0, Math.min(perPage, total - (page - 1) * perPage)) }, (_, i) => adapter((page - 1) * perPage + i));
      return Response.json({ items, total, filtered: total, page, pages: Math.ceil(total / perPage), per_page: perPage });
    }
    const patch = /^\/api\/v1\/adapters\/(id-\d+)$/.exec(u.pathname);
    if (patch && init?.method === 'PATCH') return Response.json({ adapter: adapter(Number(patch[1].slice(3)), JSON.parse(String(init.body))) });
    if (u.pathname === '/api/v1/adapters/facets') {
      return Response.json({ base_models: [{ value: 'SDXL 1.0', count: 7 }, { value: 'Flux.1 D', count: 2 }], network_types: [{ value: 'LoRA', count: 9 }], missing: 3 });
    }
    if (u.pathname === '/api/v1/adapters/bulk') return Response.json({ success: true, action: 'x', processed: JSON.parse(String(init?.body)).lora_ids.length, ids: [], not_found: [] });
    return new Response('{}', { status: 404 });
  });
  return urls;
}
const settle = () => new Promise((r) => setTimeout(r, 0));

describe('library store', () => {
  beforeEach(() => {
    localStorage.clear();
    setActivePinia(createPinia());
  });
  afterEach(() => vi.unstubAllGlobals());

  it('asks the API for the page under the view with the current filters', async () => {
    const urls = server(1000);
    const store = useLibraryStore();
    store.setQuery({ ...DEFAULT_QUERY, search: 'ink', tags: ['style'], favoritesOnly: true });
    store.ensureRange(520, 540);
    await settle();
    await settle();
    const list = urls.find((u) => u.includes('/adapters?'));
    expect(list).toContain('search=ink');
    expect(list).toContain('tags=style');
    expect(list).toContain('favorites_only=true');
    expect(list).toContain('page=6&per_page=100');
    expect(store.filtered).toBe(1000);
    expect(store.itemAt(520)?.name).toBe('LoRA 520');
  });

  it('shows an edit in place without refetching the list', async () => {
    const urls = server(10);
    const store = useLibraryStore();
    store.ensureRange(0, 10);
    await settle();
    await settle();
    const before = urls.length;
    await store.patch('id-3', { favorite: true });
    expect(store.itemAt(3)?.favorite).toBe(true);
    expect(urls.slice(before).filter((u) => u.startsWith('GET'))).toEqual([]);
  });

  it('selects a range with shift and sends the selection in one bulk request', async () => {
    const urls = server(50);
    const store = useLibraryStore();
    store.ensureRange(0, 50);
    await settle();
    await settle();
    store.toggleSelected('id-2', 2);
    store.selectRange(6);
    expect(store.selectionCount).toBe(5);
    await store.bulk('favorite');
    const bulk = urls.find((u) => u.startsWith('POST') && u.includes('/adapters/bulk'));
    expect(bulk).toBeDefined();
  });

  it('selects every matching adapter, including pages never shown', async () => {
    server(450);
    const store = useLibraryStore();
    store.ensureRange(0, 10);
    await settle();
    await settle();
    await store.selectAll();
    expect(store.selectionCount).toBe(450);
  });
});

describe('library store and live events', () => {
  beforeEach(() => {
    localStorage.clear();
    setActivePinia(createPinia());
  });
  afterEach(() => vi.unstubAllGlobals());

  it('refetches the pages on screen when a library scan finishes', async () => {
    const urls = server(30);
    const { useLiveStore } = await import('../../../stores/live.store.ts');
    const store = useLibraryStore();
    store.ensureRange(0, 30);
    await settle();
    await settle();
    const before = urls.filter((u) => u.includes('/adapters?')).length;
    useLiveStore().handle({ type: 'job_update', timestamp: 't', data: { job: { id: 's1', kind: 'library.scan', updated_at: 'x' }, change: 'succeeded' } });
    await settle();
    await settle();
    expect(urls.filter((u) => u.includes('/adapters?')).length).toBeGreaterThan(before);
  });

  it('offers the whole catalogue\'s base models and network types with counts, and the missing-file count', async () => {
    server(0);
    const store = useLibraryStore();
    await store.loadFacets();
    expect([...store.baseModels]).toEqual([
      ['SDXL 1.0', 7],
      ['Flux.1 D', 2],
    ]);
    expect([...store.networkTypes]).toEqual([['LoRA', 9]]);
    expect(store.missingCount).toBe(3);
  });
});
