import { describe, expect, it } from 'vitest';
import { PageCache, type PageResult } from './page-cache.ts';

/** A fake paginated source of `total` numbered items whose answers the test releases by hand. */
function source(total: number) {
  const requests: Array<{ page: number; signal: AbortSignal; resolve: () => void }> = [];
  const fetcher = (page: number, perPage: number, signal: AbortSignal) =>
    new Promise<PageResult<number>>((resolve) => {
      const items = Array.from({ length: Math.max(0, Math.min(perPage, total - page * perPage)) }, (_, i) => page * perPage + i);
      requests.push({ page, signal, resolve: () => resolve({ items, filtered: total }) });
    });
  return { requests, fetcher };
}
const flush = () => new Promise((r) => setTimeout(r, 0));

describe('PageCache', () => {
  it('fetches the page under the requested position, not the pages before it', async () => {
    const s = source(10_000);
    const cache = new PageCache(s.fetcher, { pageSize: 100 });
    cache.ensureRange(5_020, 5_060);
    expect(s.requests.map((r) => r.page)).toEqual([50]);
    s.requests[0].resolve();
    await flush();
    expect(cache.get(5_020)).toBe(5_020);
    expect(cache.get(0)).toBeUndefined();
    expect(cache.total).toBe(10_000);
  });

  it('covers a range that spans two pages and never asks twice for one page', async () => {
    const s = source(1_000);
    const cache = new PageCache(s.fetcher, { pageSize: 100 });
    cache.ensureRange(180, 230);
    cache.ensureRange(185, 235);
    expect(s.requests.map((r) => r.page)).toEqual([1, 2]);
  });

  it('cancels requests for pages the view has left (a dragged scrollbar)', async () => {
    const s = source(10_000);
    const cache = new PageCache(s.fetcher, { pageSize: 100 });
    cache.ensureRange(1_000, 1_050);
    cache.ensureRange(9_000, 9_050);
    expect(s.requests[0].signal.aborted).toBe(true);
    expect(s.requests.at(-1)?.page).toBe(90);
    s.requests[0].resolve();
    await flush();
    expect(cache.hasPage(10)).toBe(false);
  });

  it('ignores answers that arrive after a reset (the query changed)', async () => {
    const s = source(500);
    const cache = new PageCache(s.fetcher, { pageSize: 100 });
    cache.ensureRange(0, 50);
    cache.reset();
    s.requests[0].resolve();
    await flush();
    expect(cache.get(0)).toBeUndefined();
    expect(cache.total).toBeNull();
  });

  it('keeps at most maxPages pages, dropping the farthest from the view', async () => {
    const s = source(10_000);
    const cache = new PageCache(s.fetcher, { pageSize: 10, maxPages: 3, concurrency: 10 });
    for (const page of [0, 1, 2, 50]) {
      cache.ensureRange(page * 10, page * 10 + 5);
      s.requests.at(-1)?.resolve();
      await flush();
    }
    expect(cache.loadedPages).toEqual([1, 2, 50]);
  });

  it('shows the old rows while a refresh is in flight, then the new ones', async () => {
    let version = 0;
    const pending: Array<() => void> = [];
    const cache = new PageCache<string>(
      (page, perPage) =>
        new Promise((resolve) => {
          const v = version;
          pending.push(() => resolve({ items: Array.from({ length: perPage }, (_, i) => `v${v}-${page * perPage + i}`), filtered: 100 }));
        }),
      { pageSize: 10 },
    );
    cache.ensureRange(0, 5);
    pending.shift()?.();
    await flush();
    version = 1;
    cache.refresh();
    expect(cache.getWithFallback(3)).toBe('v0-3');
    pending.shift()?.();
    await flush();
    expect(cache.getWithFallback(3)).toBe('v1-3');
  });

  it('limits requests in flight and continues with the rest as answers come', async () => {
    const s = source(10_000);
    const cache = new PageCache(s.fetcher, { pageSize: 10, concurrency: 2 });
    cache.ensureRange(0, 40);
    expect(s.requests.map((r) => r.page)).toEqual([0, 1]);
    s.requests[0].resolve();
    await flush();
    expect(s.requests.map((r) => r.page)).toEqual([0, 1, 2]);
  });
});
