import type { GenerationResultSummary } from '@lora-manager/contract';
import { defineStore } from 'pinia';
import { reactive, ref, shallowRef, triggerRef } from 'vue';
import { errorMessage } from '../../../api/client.ts';
import { useSettingsStore } from '../../../stores/settings.store.ts';
import { generationApi } from '../../generation/api/generation.api.ts';

export interface HistoryFilters {
  search: string;
  minRating: number;
  favoritesOnly: boolean;
  /** [start, end] as epoch milliseconds from the date picker, or null. */
  dates: [number, number] | null;
  size: string;
  sort: string;
}

export const DEFAULT_HISTORY_FILTERS: HistoryFilters = { search: '', minRating: 0, favoritesOnly: false, dates: null, size: '', sort: 'newest' };

function day(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** The history of generated images: a filtered page of results, the selection, and the edits on them. */
export const useHistoryStore = defineStore('history', () => {
  const settings = useSettingsStore();
  const api = generationApi(settings.api);

  const filters = reactive<HistoryFilters>({ ...DEFAULT_HISTORY_FILTERS });
  const items = ref<GenerationResultSummary[]>([]);
  const total = ref(0);
  const page = ref(1);
  const pageSize = ref(48);
  const loading = ref(false);
  const error = ref<string | null>(null);

  let seq = 0;
  async function load(): Promise<void> {
    const mine = ++seq;
    loading.value = true;
    const [width, height] = filters.size ? filters.size.split('x').map(Number) : [undefined, undefined];
    try {
      const answer = await api.results({
        page: page.value,
        page_size: pageSize.value,
        search: filters.search.trim() || undefined,
        min_rating: filters.minRating || undefined,
        favorites_only: filters.favoritesOnly || undefined,
        width,
        height,
        start_date: filters.dates ? day(filters.dates[0]) : undefined,
        end_date: filters.dates ? day(filters.dates[1]) : undefined,
        sort: filters.sort,
        status: 'all',
      });
      if (mine !== seq) return;
      items.value = answer.items;
      total.value = answer.total;
      error.value = null;
    } catch (e) {
      if (mine === seq) error.value = errorMessage(e);
    } finally {
      if (mine === seq) loading.value = false;
    }
  }

  const selected = shallowRef(new Set<string>());
  function toggle(id: string): void {
    if (selected.value.has(id)) selected.value.delete(id);
    else selected.value.add(id);
    triggerRef(selected);
  }
  function selectPage(): void {
    selected.value = new Set(items.value.map((i) => i.id));
  }
  function clearSelection(): void {
    selected.value = new Set();
  }

  function replace(result: GenerationResultSummary): void {
    items.value = items.value.map((i) => (i.id === result.id ? result : i));
    if (open.value?.id === result.id) open.value = result;
  }
  async function rate(id: string, rating: number | null): Promise<void> {
    replace(await api.rate(id, rating));
  }
  async function favorite(id: string, value: boolean): Promise<void> {
    replace(await api.favorite(id, value));
  }
  async function remove(ids: string[]): Promise<number> {
    const { deleted } = ids.length === 1 ? (await api.remove(ids[0]), { deleted: 1 }) : await api.bulkDelete(ids);
    for (const id of ids) selected.value.delete(id);
    triggerRef(selected);
    if (open.value && ids.includes(open.value.id)) open.value = null;
    await load();
    return deleted;
  }
  async function favoriteSelected(value: boolean): Promise<void> {
    await api.bulkFavorite([...selected.value], value);
    await load();
  }
  /** Download the selection as one ZIP (images and their parameters). */
  async function exportSelected(): Promise<void> {
    const blob = await api.exportZip([...selected.value]);
    const link = document.createElement('a');
    link.href = URL.createObjectURL(blob);
    link.download = `lora-manager-results-${new Date().toISOString().slice(0, 10)}.zip`;
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  }

  const open = ref<GenerationResultSummary | null>(null);
  /** Open one result by id (a link from Generate's latest results): from this page when it is there, else asked for. */
  async function openById(id: string): Promise<void> {
    open.value = items.value.find((r) => r.id === id) ?? (await api.result(id));
  }

  return {
    filters,
    items,
    total,
    page,
    pageSize,
    loading,
    error,
    load,
    selected,
    toggle,
    selectPage,
    clearSelection,
    rate,
    favorite,
    remove,
    favoriteSelected,
    exportSelected,
    open,
    openById,
    imageUrl: api.imageUrl,
    downloadUrl: api.downloadUrl,
  };
});
