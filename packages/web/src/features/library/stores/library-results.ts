import type { Adapter, AdapterMatch } from '@lora-manager/contract';
import { computed, reactive, ref, shallowRef } from 'vue';
import { errorMessage } from '../../../api/client.ts';
import type { AdaptersApi, TagCount } from '../api/adapters.api.ts';
import { DEFAULT_QUERY, toApiQuery, type LibraryQuery } from '../lib/library-query.ts';
import { PageCache } from '../lib/page-cache.ts';

export const PAGE_SIZE = 100;

/**
 * The library's query and its results: a sparse cache of the matching adapters read page by page as the grid
 * scrolls, the totals, and the facets and tags offered as filters. Part of the library store.
 */
export function useLibraryResults(api: AdaptersApi) {
  const query = reactive<LibraryQuery>({ ...DEFAULT_QUERY, tags: [] });
  /** Bumped whenever the cache changes, so views that read through `itemAt` re-render. */
  const version = ref(0);
  const error = ref<string | null>(null);
  const libraryTotal = ref<number | null>(null);
  /** Why each loaded adapter matched the search (the server says, per page); empty without a search. */
  const matches = shallowRef(new Map<string, AdapterMatch>());

  const cache = shallowRef(
    new PageCache<Adapter>(
      async (page, perPage, signal) => {
        const result = await api.list({ ...toApiQuery(query), page: page + 1, per_page: perPage }, signal);
        libraryTotal.value = result.total;
        for (const item of result.items) noteFacets(item);
        if (result.matches) matches.value = new Map([...matches.value, ...Object.entries(result.matches)]);
        return { items: result.items, filtered: result.filtered };
      },
      {
        pageSize: PAGE_SIZE,
        onChange: () => (version.value += 1),
        onError: (e) => (error.value = errorMessage(e)),
      },
    ),
  );

  const filtered = computed(() => {
    void version.value;
    return cache.value.total;
  });
  const loading = computed(() => {
    void version.value;
    return cache.value.loading || cache.value.total === null;
  });

  function itemAt(index: number): Adapter | undefined {
    void version.value;
    return cache.value.getWithFallback(index);
  }

  function matchOf(id: string): AdapterMatch | null {
    return matches.value.get(id) ?? null;
  }

  function ensureRange(start: number, end: number): void {
    cache.value.ensureRange(start, end);
  }

  /** Apply a new query: everything cached belonged to the old one. */
  function setQuery(next: LibraryQuery): void {
    Object.assign(query, next, { tags: [...next.tags] });
    error.value = null;
    matches.value = new Map();
    cache.value.reset();
  }

  function reload(): void {
    error.value = null;
    cache.value.refresh();
    void loadTags();
    void loadFacets();
  }

  /** An adapter of a page already loaded, if one is. */
  function findLoaded(id: string): Adapter | undefined {
    for (const page of cache.value.loadedPages) {
      for (let i = page * PAGE_SIZE; i < (page + 1) * PAGE_SIZE; i += 1) {
        const item = cache.value.get(i);
        if (item?.id === id) return item;
      }
    }
    return undefined;
  }

  /** The adapter at a loaded index (no fallback, no fetch): what a range selection can take. */
  const loadedAt = (index: number): Adapter | undefined => cache.value.get(index);

  /** Put the server's new state of an adapter wherever it is cached. */
  function replaceLoaded(adapter: Adapter): void {
    cache.value.update((a) => a.id === adapter.id, () => adapter);
  }

  /** Every id matching the query, including those not loaded yet (fetched page by page, four at a time). */
  async function allIds(): Promise<Set<string>> {
    const total = cache.value.total ?? 0;
    const perPage = 200;
    const ids = new Set<string>();
    const pages = Math.ceil(total / perPage);
    for (let start = 0; start < pages; start += 4) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(4, pages - start) }, (_, i) => api.list({ ...toApiQuery(query), page: start + i + 1, per_page: perPage })),
      );
      for (const page of batch) for (const item of page.items) ids.add(item.id);
    }
    return ids;
  }

  // Facets: the base models and network types of the whole catalogue (from the server, with counts), plus any seen
  // in pages loaded since, offered as filter choices.
  const baseModels = ref(new Map<string, number | null>());
  const networkTypes = ref(new Map<string, number | null>());
  const missingCount = ref(0);
  function noteFacets(a: Adapter): void {
    if (a.base_model && !baseModels.value.has(a.base_model)) baseModels.value.set(a.base_model, null);
    if (a.network_type && !networkTypes.value.has(a.network_type)) networkTypes.value.set(a.network_type, null);
  }
  async function loadFacets(): Promise<void> {
    try {
      const facets = await api.facets();
      baseModels.value = new Map(facets.base_models.map((f) => [f.value, f.count]));
      networkTypes.value = new Map(facets.network_types.map((f) => [f.value, f.count]));
      missingCount.value = facets.missing;
    } catch (e) {
      error.value = errorMessage(e);
    }
  }

  const tagCounts = ref<TagCount[]>([]);
  async function loadTags(): Promise<void> {
    try {
      tagCounts.value = (await api.tags()).tag_counts;
    } catch (e) {
      error.value = errorMessage(e);
    }
  }

  return {
    query,
    version,
    error,
    filtered,
    loading,
    libraryTotal,
    itemAt,
    matchOf,
    ensureRange,
    setQuery,
    reload,
    findLoaded,
    loadedAt,
    replaceLoaded,
    allIds,
    baseModels,
    networkTypes,
    missingCount,
    loadFacets,
    tagCounts,
    loadTags,
  };
}
