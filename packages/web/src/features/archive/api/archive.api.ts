import type {
  Backup,
  BackupCreate,
  BackupSchedule,
  BackupScheduleState,
  ExportConfig,
  ExportEstimate,
  ExportFile,
  ImportConfig,
  ImportReport,
  Job,
  Problem,
} from '@lora-manager/contract';
import { ApiError, resolveAssetUrl, resolveUrl, type ApiTarget } from '../../../api/client.ts';

/** What the archive API needs from the shared client: its JSON `request` and where the API is. */
export interface ArchiveApiDeps {
  request: <T>(method: string, path: string, options?: { query?: Record<string, unknown>; body?: unknown }) => Promise<T>;
  target: () => ApiTarget;
}

const id = (value: string) => encodeURIComponent(value);

/**
 * Import/export and backup endpoints. JSON calls go through the shared client; the upload uses XMLHttpRequest for
 * its progress events (fetch has none), and downloads are plain links the browser streams to disk.
 */
export function archiveApi({ request, target }: ArchiveApiDeps) {
  return {
    estimate: (config: ExportConfig) => request<ExportEstimate>('POST', 'export/estimate', { body: config }),
    startExport: (config: ExportConfig) => request<{ job: Job }>('POST', 'export/jobs', { body: config }),
    exports: () => request<ExportFile[]>('GET', 'exports'),
    deleteExport: (exportId: string) => request<void>('DELETE', `exports/${id(exportId)}`),
    job: (jobId: string) => request<{ job: Job }>('GET', `jobs/${id(jobId)}`),
    cancelJob: (jobId: string) => request<{ job: Job }>('POST', `jobs/${id(jobId)}/cancel`),

    /** Checks the archives and reports conflicts without changing anything (mode dry-run). */
    analyse: (files: File[], config: ImportConfig, onUpload?: (fraction: number) => void) =>
      upload<ImportReport>(target(), 'import', files, { ...config, mode: 'dry-run', validate: true }, onUpload),
    startImport: (files: File[], config: ImportConfig, onUpload?: (fraction: number) => void) =>
      upload<{ job: Job }>(target(), 'import/jobs', files, config, onUpload),

    backups: () => request<Backup[]>('GET', 'backups'),
    createBackup: (body: BackupCreate) => request<{ job: Job }>('POST', 'backups/jobs', { body }),
    restoreBackup: (backupId: string, config: ImportConfig) => request<{ job: Job }>('POST', `backups/${id(backupId)}/restore/jobs`, { body: config }),
    deleteBackup: (backupId: string) => request<void>('DELETE', `backups/${id(backupId)}`),
    schedule: () => request<BackupScheduleState>('GET', 'backups/schedule'),
    saveSchedule: (schedule: BackupSchedule) => request<BackupScheduleState>('PUT', 'backups/schedule', { body: schedule }),

    /** A link the browser downloads by itself: the session cookie authenticates it (the key only for another origin). */
    downloadUrl: (path: string) => resolveAssetUrl(target(), path.replace(/^\/+/, '')),
  };
}

export type ArchiveApi = ReturnType<typeof archiveApi>;

/** Multipart POST of `files` plus the `config` JSON field, reporting upload progress (0–1). */
function upload<T>(t: ApiTarget, path: string, files: File[], config: ImportConfig, onUpload?: (fraction: number) => void): Promise<T> {
  const form = new FormData();
  form.append('config', JSON.stringify(config));
  for (const file of files) form.append('files', file, file.name);
  return new Promise<T>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', resolveUrl(t, path));
    if (t.apiKey) xhr.setRequestHeader('X-API-Key', t.apiKey);
    xhr.upload.onprogress = (e) => e.lengthComputable && onUpload?.(e.loaded / e.total);
    xhr.onerror = () => reject(new ApiError(0, 'network_error', `Cannot reach the server at ${t.baseUrl}`));
    xhr.onload = () => {
      let body: unknown = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        /* not JSON: reported below */
      }
      if (xhr.status >= 200 && xhr.status < 300) return resolve(body as T);
      const problem = body as Problem | null;
      reject(new ApiError(xhr.status, problem?.code ?? 'http_error', problem?.title ?? `HTTP ${xhr.status}`, problem ?? undefined));
    };
    xhr.send(form);
  });
}
