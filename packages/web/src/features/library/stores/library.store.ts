import type { Adapter, AdapterPatch, BulkAction, CivitaiRefreshResult } from '@lora-manager/contract';
import { defineStore } from 'pinia';
import { computed, reactive, ref, shallowRef, triggerRef } from 'vue';
import { errorMessage } from '../../../api/client.ts';
import { useLiveStore } from '../../../stores/live.store.ts';
import { useSettingsStore } from '../../../stores/settings.store.ts';
import { adaptersApi, type TagCount } from '../api/adapters.api.ts';
import { libraryApi, type AdapterMetadata } from '../api/library.api.ts';
import { DEFAULT_QUERY, toApiQuery, type LibraryQuery } from '../lib/library-query.ts';
import { PageCache } from '../lib/page-cache.ts';

export const PAGE_SIZE = 100;

/** The library page's state: the query, a sparse cache of the matching adapters, the selection and the open one. */
export const useLibraryStore = defineStore('library', () => {
  const settings = useSettingsStore();
  const api = adaptersApi(settings.api);
  const library = libraryApi(settings.api);

  const query = reactive<LibraryQuery>({ ...DEFAULT_QUERY, tags: [] });
  /** Bumped whenever the cache changes, so views that read through `itemAt` re-render. */
  const version = ref(0);
  const error = ref<string | null>(null);
  const libraryTotal = ref<number | null>(null);

  const cache = shallowRef(
    new PageCache<Adapter>(
      async (page, perPage, signal) => {
        const result = await api.list({ ...toApiQuery(query), page: page + 1, per_page: perPage }, signal);
        libraryTotal.value = result.total;
        for (const item of result.items) noteFacets(item);
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

  function ensureRange(start: number, end: number): void {
    cache.value.ensureRange(start, end);
  }

  /** Apply a new query: everything cached belonged to the old one. */
  function setQuery(next: LibraryQuery): void {
    Object.assign(query, next, { tags: [...next.tags] });
    error.value = null;
    cache.value.reset();
  }

  function reload(): void {
    error.value = null;
    cache.value.refresh();
    void loadTags();
    void loadFacets();
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

  // Selection: ids, plus the index last clicked so shift-click can select a range.
  const selected = shallowRef(new Set<string>());
  const anchor = ref<number | null>(null);
  const selectionCount = computed(() => selected.value.size);

  function isSelected(id: string): boolean {
    return selected.value.has(id);
  }
  function toggleSelected(id: string, index: number): void {
    if (selected.value.has(id)) selected.value.delete(id);
    else selected.value.add(id);
    anchor.value = index;
    triggerRef(selected);
  }
  function selectRange(index: number): void {
    const from = Math.min(anchor.value ?? index, index);
    const to = Math.max(anchor.value ?? index, index);
    for (let i = from; i <= to; i += 1) {
      const item = cache.value.get(i);
      if (item) selected.value.add(item.id);
    }
    anchor.value = index;
    triggerRef(selected);
  }
  function clearSelection(): void {
    selected.value = new Set();
    anchor.value = null;
  }
  /** Select every adapter matching the query, including those not loaded yet (fetched as ids page by page). */
  async function selectAll(): Promise<void> {
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
    selected.value = ids;
  }

  // The adapter open in the detail panel.
  const openId = ref<string | null>(null);
  const openAdapter = ref<Adapter | null>(null);
  /** What the scanner read from the file (training tags with counts, suggested triggers), when the server has it. */
  const openMetadata = ref<AdapterMetadata | null>(null);
  async function open(id: string | null): Promise<void> {
    openId.value = id;
    openMetadata.value = null;
    if (!id) {
      openAdapter.value = null;
      return;
    }
    openAdapter.value = findLoaded(id) ?? null;
    // Older servers and adapters never scanned have no metadata; the panel then reads what the adapter row carries.
    library
      .metadata(id)
      .then((m) => openId.value === id && (openMetadata.value = m))
      .catch(() => undefined);
    try {
      const fresh = await api.get(id);
      if (openId.value === id) openAdapter.value = fresh;
    } catch (e) {
      error.value = errorMessage(e);
    }
  }

  function findLoaded(id: string): Adapter | undefined {
    for (const page of cache.value.loadedPages) {
      for (let i = page * PAGE_SIZE; i < (page + 1) * PAGE_SIZE; i += 1) {
        const item = cache.value.get(i);
        if (item?.id === id) return item;
      }
    }
    return undefined;
  }

  function replaced(adapter: Adapter): Adapter {
    cache.value.update((a) => a.id === adapter.id, () => adapter);
    if (openId.value === adapter.id) openAdapter.value = adapter;
    return adapter;
  }

  async function patch(id: string, changes: AdapterPatch): Promise<Adapter> {
    const adapter = replaced(await api.patch(id, changes));
    if (changes.tags) void loadTags();
    return adapter;
  }
  async function setActive(id: string, active: boolean): Promise<Adapter> {
    return replaced(active ? await api.activate(id) : await api.deactivate(id));
  }
  async function remove(id: string): Promise<void> {
    await api.remove(id);
    if (openId.value === id) void open(null);
    selected.value.delete(id);
    reload();
  }

  async function uploadPreview(id: string, image: File): Promise<Adapter> {
    return replaced(await api.uploadPreview(id, image));
  }
  /** Queue hashing of one file; the adapter is refetched when the job's success event arrives. */
  async function hash(id: string, verify = false): Promise<void> {
    await api.hash(id, verify);
  }
  async function refreshCivitai(id: string): Promise<CivitaiRefreshResult> {
    const { result, adapter } = await api.refreshCivitai(id);
    replaced(adapter);
    return result;
  }

  async function bulk(action: BulkAction, tags?: string[]): Promise<number> {
    const ids = [...selected.value];
    const result = await api.bulk(action, ids, tags);
    if (action === 'delete') clearSelection();
    reload();
    if (openId.value && ids.includes(openId.value)) void open(action === 'delete' ? null : openId.value);
    return result.processed;
  }

  // A finished scan, hash or CivitAI job changes what the library shows: refetch the pages on screen.
  useLiveStore().onEvent((event) => {
    const data = event.data as { job?: { kind?: string }; change?: string } | null;
    if (event.type !== 'job_update' || data?.change !== 'succeeded' || !data.job?.kind?.startsWith('library')) return;
    reload();
    const id = openId.value;
    if (id) void api.get(id).then((fresh) => openId.value === id && replaced(fresh), () => undefined);
  });

  return {
    query,
    version,
    error,
    filtered,
    loading,
    libraryTotal,
    itemAt,
    ensureRange,
    setQuery,
    reload,
    baseModels,
    networkTypes,
    missingCount,
    loadFacets,
    tagCounts,
    loadTags,
    selected,
    selectionCount,
    isSelected,
    toggleSelected,
    selectRange,
    clearSelection,
    selectAll,
    openId,
    openAdapter,
    openMetadata,
    open,
    patch,
    setActive,
    remove,
    bulk,
    uploadPreview,
    hash,
    refreshCivitai,
    duplicates: api.duplicates,
    previewUrl: api.previewUrl,
    pageSize: PAGE_SIZE,
  };
});
