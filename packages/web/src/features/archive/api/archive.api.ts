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
} from '@lora-manager/contract';
import type { ApiClient } from '../../../api/client.ts';

const id = (value: string) => encodeURIComponent(value);

/** The multipart body of an import: the `config` JSON field and the archives. */
function importForm(files: File[], config: ImportConfig): FormData {
  const form = new FormData();
  form.append('config', JSON.stringify(config));
  for (const file of files) form.append('files', file, file.name);
  return form;
}

/**
 * Import/export and backup endpoints, all through the shared client: JSON calls, the archive upload (with progress)
 * and downloads, which are plain links the browser streams to disk.
 */
export function archiveApi(api: ApiClient) {
  return {
    estimate: (config: ExportConfig) => api.post<ExportEstimate>('export/estimate', config),
    startExport: (config: ExportConfig) => api.post<{ job: Job }>('export/jobs', config),
    exports: () => api.get<ExportFile[]>('exports'),
    deleteExport: (exportId: string) => api.delete(`exports/${id(exportId)}`),
    job: (jobId: string) => api.get<{ job: Job }>(`jobs/${id(jobId)}`),
    /** Jobs still going, of every kind (the screens pick theirs up again after a page change or reload). */
    runningJobs: () => api.get<{ items: Job[]; total: number }>('jobs', { status: 'pending,running,retrying', limit: 100 }),
    cancelJob: (jobId: string) => api.post<{ job: Job }>(`jobs/${id(jobId)}/cancel`),

    /** Checks the archives and reports conflicts without changing anything (mode dry-run). */
    analyse: (files: File[], config: ImportConfig, onUpload?: (fraction: number) => void) =>
      api.upload<ImportReport>('import', importForm(files, { ...config, mode: 'dry-run', validate: true }), onUpload),
    startImport: (files: File[], config: ImportConfig, onUpload?: (fraction: number) => void) =>
      api.upload<{ job: Job }>('import/jobs', importForm(files, config), onUpload),

    backups: () => api.get<Backup[]>('backups'),
    createBackup: (body: BackupCreate) => api.post<{ job: Job }>('backups/jobs', body),
    restoreBackup: (backupId: string, config: ImportConfig) => api.post<{ job: Job }>(`backups/${id(backupId)}/restore/jobs`, config),
    deleteBackup: (backupId: string) => api.delete(`backups/${id(backupId)}`),
    schedule: () => api.get<BackupScheduleState>('backups/schedule'),
    saveSchedule: (schedule: BackupSchedule) => api.put<BackupScheduleState>('backups/schedule', schedule),

    /** A link the browser downloads by itself: the session cookie authenticates it (the key only for another origin). */
    downloadUrl: (path: string) => api.assetUrl(path.replace(/^\/+/, '')),
  };
}

export type ArchiveApi = ReturnType<typeof archiveApi>;
