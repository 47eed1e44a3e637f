import type { AdapterMetadata, Job, LibraryIssue, LibraryRoot, LibrarySettings, LibrarySettingsPatch, LibraryStatus } from '@lora-manager/contract';
import { ApiError, type ApiClient } from '../../../api/client.ts';

export type { AdapterMetadata, LibrarySettings, LibrarySettingsPatch, LibraryStatus };

/** True when the server answered that it has no such route (an older server without the library feature). */
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
    /** Files the scans found but could not catalogue, with the reason. */
    issues: async () => (await api.get<{ issues: LibraryIssue[] }>('library/issues')).issues,
    settings: () => api.get<LibrarySettings>('library/settings'),
    saveSettings: (patch: LibrarySettingsPatch) => api.patch<LibrarySettings>('library/settings', patch),
    metadata: (id: string) => api.get<AdapterMetadata>(`adapters/${encodeURIComponent(id)}/metadata`),
  };
}
