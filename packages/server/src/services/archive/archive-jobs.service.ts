import type { BackupCreate, ExportConfig, ImportConfig, Job } from '@lora-manager/contract';
import { JOB_KINDS, type ArchiveUpload } from '../../jobs/job-catalogue.ts';
import type { JobQueue } from '../../jobs/job-queue.ts';
import type { ArchiveExportService } from './archive-export.service.ts';
import type { ArchiveImportService } from './archive-import.service.ts';
import type { BackupService } from './backup.service.ts';

/**
 * Export, import, backup and restore as background jobs. Each start checks what it can now (bad options, a missing
 * or hostile backup) so the caller gets the reason at once instead of a failed job, then queues the work.
 */
export class ArchiveJobService {
  constructor(
    private readonly exporter: ArchiveExportService,
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
}
