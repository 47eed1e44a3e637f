import type {
  GenerationParams,
  Job,
  Recipe,
  RecipeApplyBody,
  RecipeApplyResult,
  RecipeCreate,
  RecipeDuplicateGroups,
  RecipeImportResult,
  RecipeListQuery,
  RecipePage,
  RecipePatch,
} from '@lora-manager/contract';
import type { ApiClient } from '../../../api/client.ts';

const id = (value: string) => encodeURIComponent(value);

/** `/recipes/*` through the shared client: listing, import from images or pasted text, edits and use. */
export function recipesApi(api: ApiClient) {
  return {
    list: (query: RecipeListQuery) => api.get<RecipePage>('recipes', query as Record<string, unknown>),
    get: (recipeId: string) => api.get<Recipe>(`recipes/${id(recipeId)}`),
    create: (body: RecipeCreate) => api.post<Recipe>('recipes', body),
    patch: (recipeId: string, body: RecipePatch) => api.patch<Recipe>(`recipes/${id(recipeId)}`, body),
    remove: (recipeId: string) => api.delete(`recipes/${id(recipeId)}`),
    /** Images (PNG / JPEG / WebP) as multipart, with progress. */
    importImages: (files: File[], tags: string[], onUpload?: (fraction: number) => void) => {
      const form = new FormData();
      if (tags.length > 0) form.append('tags', tags.join(','));
      for (const file of files) form.append('files', file, file.name);
      return api.upload<RecipeImportResult>('recipes/import', form, onUpload);
    },
    /** A pasted parameters block, CivitAI image metadata or ComfyUI JSON. */
    importText: (text: string, name?: string) => api.post<RecipeImportResult>('recipes/import', { text, ...(name ? { name } : {}) }),
    apply: (recipeId: string, body: RecipeApplyBody) => api.post<RecipeApplyResult>(`recipes/${id(recipeId)}/apply`, body),
    duplicates: () => api.get<RecipeDuplicateGroups>('recipes/duplicates'),
    /** Queue a CivitAI lookup of these recipes' missing LoRAs (409 civitai_disabled while CivitAI is off). */
    civitaiLookup: (recipeIds: string[]) => api.post<{ job: Job }>('recipes/civitai/lookup', { recipe_ids: recipeIds }),
    merge: (keep: string, remove: string[]) => api.post<Recipe>('recipes/merge', { keep, remove }),
    exportUrl: (recipeId: string, format: 'json' | 'png') => api.assetUrl(`recipes/${id(recipeId)}/export`, { format }),
    previewUrl: (recipe: Recipe) => (recipe.preview_url ? api.serverUrl(recipe.preview_url) : null),
  };
}

export type { GenerationParams };
