import type { Adapter, AdapterFacets, AdapterListQuery, AdapterPage, AdapterPatch, BulkAction, BulkResult, CivitaiRefreshResult, Job } from '@lora-manager/contract';
import type { ApiClient } from '../../../api/client.ts';

export interface TagCount {
  tag: string;
  count: number;
}

/** Adapters whose files have the same SHA-256 (the contract's schema refers to Adapter by reference). */
export interface DuplicateGroup {
  sha256: string;
  adapters: Adapter[];
}

/** The adapter catalogue endpoints. Paths are relative to the API base the client resolves. */
export function adaptersApi(api: ApiClient) {
  const one = (id: string) => `adapters/${encodeURIComponent(id)}`;
  return {
    list: (query: AdapterListQuery, signal?: AbortSignal) => api.get<AdapterPage>('adapters', query as Record<string, unknown>, signal),
    get: async (id: string) => (await api.get<{ adapter: Adapter }>(one(id))).adapter,
    patch: async (id: string, patch: AdapterPatch) => (await api.patch<{ adapter: Adapter }>(one(id), patch)).adapter,
    remove: (id: string) => api.delete(one(id)),
    activate: async (id: string, ordinal?: number) => (await api.post<{ adapter: Adapter }>(`${one(id)}/activate`, undefined, { ordinal })).adapter,
    deactivate: async (id: string) => (await api.post<{ adapter: Adapter }>(`${one(id)}/deactivate`)).adapter,
    tags: () => api.get<{ tags: string[]; tag_counts: TagCount[] }>('adapters/tags'),
    facets: () => api.get<AdapterFacets>('adapters/facets'),
    duplicates: () => api.get<{ groups: DuplicateGroup[]; total_groups: number }>('adapters/duplicates'),
    /** Queue hashing of one file (`verify` recomputes a cached hash and checks the header's AutoV3). */
    hash: async (id: string, verify = false) => (await api.post<{ job: Job }>(`${one(id)}/hash`, undefined, verify ? { verify } : undefined)).job,
    refreshCivitai: (id: string) => api.post<{ result: CivitaiRefreshResult; adapter: Adapter }>(`${one(id)}/civitai/refresh`),
    /** Replace the preview with an uploaded image (multipart field "file"). */
    uploadPreview: async (id: string, image: File) => {
      const form = new FormData();
      form.append('file', image, image.name);
      return (await api.request<{ adapter: Adapter }>('PUT', `${one(id)}/preview`, { body: form })).adapter;
    },
    bulk: (action: BulkAction, ids: string[], tags?: string[], nsfwLevel?: number) =>
      api.post<BulkResult>('adapters/bulk', { action, lora_ids: ids, tags, ...(nsfwLevel === undefined ? {} : { nsfw_level: nsfwLevel }) }),
    /**
     * The preview image, or a cached WebP thumbnail `thumbnail` pixels wide for cards. The server answers 404 when
     * the adapter has none, which the card shows as its monogram.
     */
    previewUrl: (adapter: Pick<Adapter, 'id' | 'updated_at'>, thumbnail?: number) =>
      api.assetUrl(`${one(adapter.id)}/preview`, { ...(thumbnail ? { thumbnail: true, size: thumbnail } : {}), v: adapter.updated_at }),
  };
}

export type AdaptersApi = ReturnType<typeof adaptersApi>;
