import type { Job } from '@lora-manager/contract';
import { ApiError, type ApiClient } from '../../../api/client.ts';

/*
 * The library routes (roots, scan, status, settings, metadata) arrive with the ingestion feature. Until its schemas
 * are in @lora-manager/contract these are the fields this app reads, named exactly as the API sends them.
 */
export interface LibraryRoot {
  path: string;
  source: 'config' | 'settings';
  exists: boolean;
  readable: boolean;
  adapters: number;
}
export interface ScanSummary {
  files_seen: number;
  added: number;
  updated: number;
  missing: number;
  issues: number;
  finished_at: string;
}
export interface LibraryStatus {
  roots: LibraryRoot[];
  adapters: number;
  missing: number;
  issues: number;
  hash: { pending: number; hashing: number; done: number; error: number };
  watcher: { enabled: boolean; running: boolean };
  last_scan: ScanSummary | null;
}
export interface LibrarySettings {
  watch: boolean;
  auto_hash: boolean;
  write_sidecars: boolean;
  write_previews: boolean;
  civitai_enabled: boolean;
  civitai_api_key_set: boolean;
}
export type LibrarySettingsPatch = Partial<Omit<LibrarySettings, 'civitai_api_key_set'>> & { civitai_api_key?: string | null };
export interface AdapterMetadata {
  adapter_id: string;
  tag_frequency: Array<{ tag: string; count: number }>;
  suggested_triggers: string[];
  base_model_source: string | null;
}

/** True when the server answered that it has no such route (a feature this server does not have yet). */
export function isMissingRoute(error: unknown): boolean {
  return error instanceof ApiError && error.status === 404 && error.code === 'route_not_found';
}

/** Library roots, scans, status and settings, and one adapter's full metadata. */
export function libraryApi(api: ApiClient) {
  return {
    addRoot: (path: string) => api.post<{ roots: LibraryRoot[] }>('library/roots', { path }),
    removeRoot: (path: string) => api.request<{ roots: LibraryRoot[] }>('DELETE', 'library/roots', { query: { path } }),
    scan: (force = false) => api.post<{ job: Job }>('library/scan', { force }),
    status: () => api.get<LibraryStatus>('library/status'),
    settings: () => api.get<LibrarySettings>('library/settings'),
    saveSettings: (patch: LibrarySettingsPatch) => api.patch<LibrarySettings>('library/settings', patch),
    metadata: (id: string) => api.get<AdapterMetadata>(`adapters/${encodeURIComponent(id)}/metadata`),
  };
}
