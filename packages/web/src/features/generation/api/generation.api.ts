import type {
  BackendInfo,
  BackendOptions,
  ComposeRequest,
  ComposeResponse,
  GenerationJobStatus,
  GenerationParams,
  GenerationResult,
  GenerationResultSummary,
  GenerationSettings,
  GenerationSettingsPatch,
  ResultListQuery,
} from '@lora-manager/contract';
import type { ApiClient } from '../../../api/client.ts';

export interface ResultPage {
  items: GenerationResultSummary[];
  total: number;
  page: number;
  page_size: number;
  pages: number;
}

export type RunMode = 'immediate' | 'deferred';

/** Compose, generation, queue and results endpoints. Paths are relative to the API base the client resolves. */
export function generationApi(api: ApiClient) {
  const result = (id: string) => `generation/results/${encodeURIComponent(id)}`;
  return {
    compose: (request: ComposeRequest) => api.post<ComposeResponse>('compose', request),
    backends: () => api.get<{ sdnext: boolean; comfyui: boolean; backends: BackendInfo[] }>('generation/backends'),
    /** The server's defaults, samplers, schedulers and checkpoints for the Generate form. */
    serverOptions: (backend: string) => api.get<BackendOptions>(`generation/backends/${encodeURIComponent(backend)}/options`),
    settings: () => api.get<GenerationSettings>('generation/settings'),
    saveSettings: (patch: GenerationSettingsPatch) => api.put<GenerationSettings>('generation/settings', patch),
    /** Run now and wait for the images (the request lasts as long as the generation). */
    generate: (params: GenerationParams, backend: string) =>
      api.post<GenerationResult>('generation/generate', params, { backend, return_format: 'url', save_images: true }),
    /** Put it in the durable queue and return at once; progress arrives over the WebSocket. */
    enqueue: (params: GenerationParams, backend: string) =>
      api.post<{ delivery_id: string; job_id: string; status: string; warnings: string[] }>('generation/queue-generation', params, {
        backend,
        save_images: true,
      }),
    activeJobs: () => api.get<GenerationJobStatus[]>('generation/jobs/active', { limit: 100 }),
    cancel: (jobId: string) => api.post<{ success: boolean; status: string; message: string }>(`generation/jobs/${encodeURIComponent(jobId)}/cancel`),
    results: (query: ResultListQuery) => api.get<ResultPage>('generation/results', { ...query, envelope: true } as Record<string, unknown>),
    result: (id: string) => api.get<GenerationResultSummary>(result(id)),
    rate: (id: string, rating: number | null) => api.put<GenerationResultSummary>(`${result(id)}/rating`, { rating }),
    favorite: (id: string, isFavorite: boolean) => api.put<GenerationResultSummary>(`${result(id)}/favorite`, { is_favorite: isFavorite }),
    remove: (id: string) => api.delete(result(id)),
    bulkDelete: (ids: string[]) => api.request<{ deleted: number }>('DELETE', 'generation/results/bulk-delete', { body: { ids } }),
    bulkFavorite: (ids: string[], isFavorite: boolean) => api.put<{ updated: number }>('generation/results/bulk-favorite', { ids, is_favorite: isFavorite }),
    exportZip: (ids: string[]) => api.request<Blob>('POST', 'generation/results/export', { body: { ids, include_metadata: true }, blob: true }),
    downloadUrl: (id: string) => api.assetUrl(`${result(id)}/download`),
    /** An image URL the server handed out, made fetchable from this page (origin, key). */
    imageUrl: (url: string | null | undefined) => (url ? api.serverUrl(url) : null),
  };
}

export type GenerationApi = ReturnType<typeof generationApi>;
