import type { Recipe, RecipeApplyResult, RecipeImportResult, RecipeListQuery } from '@lora-manager/contract';
import { defineStore } from 'pinia';
import { reactive, ref, watch } from 'vue';
import { errorMessage } from '../../../api/client.ts';
import { isFinished } from '../../../lib/job-status.ts';
import { useLiveStore } from '../../../stores/live.store.ts';
import { useSettingsStore } from '../../../stores/settings.store.ts';
import { recipesApi } from '../api/recipes.api.ts';

export interface RecipeFilters {
  search: string;
  tag: string;
  lora: string;
  baseModel: string;
  /** '' any, 'missing' only incomplete, 'complete' only complete. */
  state: '' | 'missing' | 'complete';
  favoritesOnly: boolean;
  sort: NonNullable<RecipeListQuery['sort']>;
}

export const DEFAULT_RECIPE_FILTERS: RecipeFilters = { search: '', tag: '', lora: '', baseModel: '', state: '', favoritesOnly: false, sort: 'newest' };

/** The recipes page: filtered listing, import from images or text, the open recipe and what using it does. */
export const useRecipesStore = defineStore('recipes', () => {
  const settings = useSettingsStore();
  const live = useLiveStore();
  const api = recipesApi(settings.api);
  const filters = reactive<RecipeFilters>({ ...DEFAULT_RECIPE_FILTERS });
  const items = ref<Recipe[]>([]);
  const total = ref(0);
  const page = ref(1);
  const pageSize = 48;
  const loading = ref(false);
  const error = ref<string | null>(null);
  const open = ref<Recipe | null>(null);
  const importing = ref(false);
  const uploadProgress = ref(0);
  const lastImport = ref<RecipeImportResult | null>(null);

  function query(): RecipeListQuery {
    return {
      search: filters.search.trim() || undefined,
      tag: filters.tag.trim() || undefined,
      lora: filters.lora.trim() || undefined,
      base_model: filters.baseModel.trim() || undefined,
      missing: filters.state === '' ? undefined : filters.state === 'missing',
      favorites_only: filters.favoritesOnly || undefined,
      sort: filters.sort,
      limit: pageSize,
      offset: (page.value - 1) * pageSize,
    };
  }

  async function load(): Promise<void> {
    loading.value = true;
    try {
      const result = await api.list(query());
      items.value = result.items;
      total.value = result.total;
      error.value = null;
    } catch (e) {
      error.value = errorMessage(e);
    } finally {
      loading.value = false;
    }
  }

  function replace(recipe: Recipe): void {
    items.value = items.value.map((r) => (r.id === recipe.id ? recipe : r));
    if (open.value?.id === recipe.id) open.value = recipe;
  }

  async function importImages(files: File[], tags: string[] = []): Promise<RecipeImportResult> {
    importing.value = true;
    uploadProgress.value = 0;
    try {
      lastImport.value = await api.importImages(files, tags, (f) => (uploadProgress.value = f));
      await load();
      return lastImport.value;
    } finally {
      importing.value = false;
    }
  }

  async function importText(text: string, name?: string): Promise<RecipeImportResult> {
    importing.value = true;
    try {
      lastImport.value = await api.importText(text, name);
      await load();
      return lastImport.value;
    } finally {
      importing.value = false;
    }
  }

  async function patch(recipe: Recipe, changes: Parameters<typeof api.patch>[1]): Promise<void> {
    replace(await api.patch(recipe.id, changes));
  }

  async function remove(recipe: Recipe): Promise<void> {
    await api.remove(recipe.id);
    if (open.value?.id === recipe.id) open.value = null;
    await load();
  }

  async function reopen(recipeId: string): Promise<void> {
    open.value = await api.get(recipeId);
  }

  function apply(recipe: Recipe, body: Parameters<typeof api.apply>[1]): Promise<RecipeApplyResult> {
    return api.apply(recipe.id, body);
  }

  /**
   * Ask CivitAI what the recipe's missing LoRAs are. The lookup is a job (the tray shows it); when it ends, the recipe
   * is read again if it is still the open one, so the names CivitAI gave appear.
   */
  async function lookUpOnCivitai(recipe: Recipe): Promise<void> {
    const { job } = await api.civitaiLookup([recipe.id]);
    live.upsertJob(job);
    const ended = () => {
      const status = live.jobs.get(job.id)?.status;
      return status !== undefined && isFinished(status);
    };
    const refresh = () => (open.value?.id === recipe.id ? reopen(recipe.id) : Promise.resolve());
    if (ended()) return refresh();
    const stop = watch(ended, (done) => {
      if (!done) return;
      stop();
      void refresh();
    });
  }

  return {
    filters,
    items,
    total,
    page,
    pageSize,
    loading,
    error,
    open,
    importing,
    uploadProgress,
    lastImport,
    load,
    importImages,
    importText,
    patch,
    remove,
    reopen,
    apply,
    lookUpOnCivitai,
    create: api.create,
    duplicates: api.duplicates,
    merge: api.merge,
    exportUrl: api.exportUrl,
    previewUrl: api.previewUrl,
  };
});
