import type { Adapter, AdapterPatch, BulkAction, CivitaiRefreshResult } from '@lora-manager/contract';
import { defineStore } from 'pinia';
import { useLiveStore } from '../../../stores/live.store.ts';
import { useSettingsStore } from '../../../stores/settings.store.ts';
import { adaptersApi } from '../api/adapters.api.ts';
import { libraryApi } from '../api/library.api.ts';
import { useAdapterDetail } from './adapter-detail.ts';
import { PAGE_SIZE, useLibraryResults } from './library-results.ts';
import { useLibrarySelection } from './library-selection.ts';

export { PAGE_SIZE };

/**
 * The library page's state, one store made of three concerns: the query and its results (library-results.ts), the
 * selection (library-selection.ts) and the open adapter (adapter-detail.ts). What changes adapters lives here, as it
 * touches all three.
 */
export const useLibraryStore = defineStore('library', () => {
  const settings = useSettingsStore();
  const api = adaptersApi(settings.api);
  const library = libraryApi(settings.api);

  const results = useLibraryResults(api);
  const { reload, loadTags, replaceLoaded } = results;
  const selection = useLibrarySelection(results);
  const { selected, clearSelection } = selection;
  const detail = useAdapterDetail(api, library, results);
  const { openId, open, replaceOpen } = detail;

  function replaced(adapter: Adapter): Adapter {
    replaceLoaded(adapter);
    replaceOpen(adapter);
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

  async function bulk(action: BulkAction, tags?: string[], nsfwLevel?: number): Promise<number> {
    const ids = [...selected.value];
    const result = await api.bulk(action, ids, tags, nsfwLevel);
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
    query: results.query,
    version: results.version,
    error: results.error,
    filtered: results.filtered,
    loading: results.loading,
    libraryTotal: results.libraryTotal,
    itemAt: results.itemAt,
    matchOf: results.matchOf,
    ensureRange: results.ensureRange,
    setQuery: results.setQuery,
    reload,
    baseModels: results.baseModels,
    networkTypes: results.networkTypes,
    missingCount: results.missingCount,
    loadFacets: results.loadFacets,
    tagCounts: results.tagCounts,
    loadTags,
    selected,
    selectionCount: selection.selectionCount,
    isSelected: selection.isSelected,
    toggleSelected: selection.toggleSelected,
    selectRange: selection.selectRange,
    clearSelection,
    selectAll: selection.selectAll,
    openId,
    openAdapter: detail.openAdapter,
    openMetadata: detail.openMetadata,
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
