import fs from 'node:fs/promises';
import type { BackupCreate, ExportConfig, ImportConfig, ImportReport, Job } from '@lora-manager/contract';
import { JOB_KINDS, type ArchiveUpload, type JobPayload, type JobResult } from '../../jobs/job-catalogue.ts';
import { PermanentJobError, type JobQueue } from '../../jobs/job-queue.ts';
import type { ArchiveExportService, RunOptions } from './archive-export.service.ts';
import type { ArchiveImportService } from './archive-import.service.ts';
import type { BackupService } from './backup.service.ts';
import type { ExportFiles } from './export-files.ts';

/**
 * Export, import, backup and restore as background jobs. Each start checks what it can now (bad options, a missing
 * or hostile backup) so the caller gets the reason at once instead of a failed job, then queues the work; each run
 * does one job's work.
 */
export class ArchiveJobService {
  constructor(
    private readonly exporter: ArchiveExportService,
    private readonly exportFiles: ExportFiles,
    private readonly importer: ArchiveImportService,
    private readonly backups: BackupService,
    private readonly queue: JobQueue,
  ) {}

  async startExport(config: ExportConfig): Promise<Job> {
    this.exporter.options(config);
    return this.queue.enqueue(JOB_KINDS.archiveExport, { config });
  }

  /** The uploads must already be checked as zips; the job deletes them when it is done. */
  async startImport(uploads: ArchiveUpload[], config: ImportConfig): Promise<Job> {
    return this.queue.enqueue(JOB_KINDS.archiveImport, { uploads, config });
  }

  async startBackup(request: BackupCreate): Promise<Job> {
    this.backups.parseType(request.backup_type);
    return this.queue.enqueue(JOB_KINDS.backupCreate, { ...request });
  }

  async startRestore(backupId: string, config: ImportConfig): Promise<Job> {
    await this.importer.restorableBackup(backupId);
    return this.queue.enqueue(JOB_KINDS.backupRestore, { backup_id: backupId, config });
  }

  /** The export file takes the job's id, so the job's result and the download name the same file. */
  async runExport(jobId: string, payload: JobPayload<'archive.export'>, run: RunOptions): Promise<JobResult<'archive.export'>> {
    return this.exportFiles.create(jobId, payload.config, run);
  }

  /** `keepUploads` says the run was stopped by a shutdown: it runs again at the next start and needs its upload then. */
  async runImport(payload: JobPayload<'archive.import'>, run: RunOptions & { keepUploads: () => boolean }): Promise<JobResult<'archive.import'>> {
    try {
      return succeededOrThrow(await this.importer.importFiles(payload.uploads, this.importer.options(payload.config), run));
    } finally {
      if (!run.keepUploads()) await Promise.all(payload.uploads.map((u) => fs.rm(u.path, { force: true })));
    }
  }

  async runBackup(payload: JobPayload<'backup.create'>, run: RunOptions): Promise<JobResult<'backup.create'>> {
    return this.backups.create(payload, 'manual', run);
  }

  async runScheduledBackup(run: RunOptions): Promise<JobResult<'backup.scheduled'>> {
    return (await this.backups.runScheduled(run)) ?? { skipped: 'not due' };
  }

  async runRestore(payload: JobPayload<'backup.restore'>, run: RunOptions): Promise<JobResult<'backup.restore'>> {
    return succeededOrThrow(await this.importer.restoreBackup(payload.backup_id, payload.config, run));
  }
}

/** An import that did not go through fails the job (no retry: the archive will not change), report kept as result. */
function succeededOrThrow(report: ImportReport): ImportReport {
  if (report.success) return report;
  const reasons = report.results.filter((r) => r.status !== 'imported' && r.status !== 'validated').map((r) => `${r.file}: ${r.detail ?? r.code ?? r.status}`);
  throw new PermanentJobError(reasons.join('; ') || 'the import did not go through', report);
}
