import type { Logger } from 'pino';
import type { AdaptersChanged } from '../../events/adapter-changes.ts';
import type { Config } from '../../config.ts';
import type { JobQueue } from '../../jobs/job-queue.ts';
import type { Clock } from '../../lib/clock.ts';
import type { AdapterRepository } from '../../library/repositories/adapter.repository.ts';
import type { ArchiveRepository } from '../repositories/archive.repository.ts';
import type { SettingRepository } from '../../repositories/setting.repository.ts';
import type { LibraryRootsService } from '../../library/services/library-roots.service.ts';
import { ArchiveExportService } from './archive-export.service.ts';
import { ArchiveImportService } from './archive-import.service.ts';
import { ArchiveJobService } from './archive-jobs.service.ts';
import { BackupScheduler } from './backup-scheduler.ts';
import { BackupService } from './backup.service.ts';
import { ExportFiles } from './export-files.ts';
import { StagingArea } from './staging.ts';

export interface ArchiveDeps {
  config: Pick<Config, 'dataDir' | 'outputDir' | 'archive'>;
  repositories: { adapters: AdapterRepository; archive: ArchiveRepository; settings: SettingRepository };
  queue: JobQueue;
  libraryRoots: LibraryRootsService;
  clock: Clock;
  logger: Logger;
  /** Called after an import brought in generation history. */
  onHistoryImported?: () => Promise<void>;
  /** Told which adapters an import changed (recommendation features follow them). */
  onAdaptersChanged?: AdaptersChanged;
}

export interface ArchiveServices {
  archiveExport: ArchiveExportService;
  archiveImport: ArchiveImportService;
  backups: BackupService;
  exportFiles: ExportFiles;
  staging: StagingArea;
  /** Export, import, backup and restore as queued jobs. */
  archiveJobs: ArchiveJobService;
  /** Started by `serve` only. */
  backupScheduler: BackupScheduler;
}

/** Export, import, backups and the staging area that makes imports all-or-nothing. */
export function createArchive(deps: ArchiveDeps): ArchiveServices {
  const { config, repositories, queue, libraryRoots, clock, logger } = deps;
  const roots = () => libraryRoots.list();
  const archiveExport = new ArchiveExportService({
    adapters: repositories.adapters,
    archive: repositories.archive,
    roots: libraryRoots,
    dataDir: config.dataDir,
    outputDir: config.outputDir,
    clock,
    logger,
  });
  const backups = new BackupService({
    archive: repositories.archive,
    exporter: archiveExport,
    settings: repositories.settings,
    dataDir: config.dataDir,
    defaults: config.archive,
    clock,
    logger,
  });
  const exportFiles = new ExportFiles(archiveExport, config.dataDir, clock);
  // Imported images go to OUTPUT_DIR, which may be on a disk of its own: staging considers it a root too.
  const staging = new StagingArea(config.dataDir, async () => [...(await roots()), config.outputDir], async (id) => (await repositories.archive.findImport(id)) !== undefined, logger);
  const archiveImport = new ArchiveImportService({
    archive: repositories.archive,
    roots,
    staging,
    backups,
    dataDir: config.dataDir,
    outputDir: config.outputDir,
    limits: config.archive,
    clock,
    logger,
    onHistoryImported: deps.onHistoryImported,
    onAdaptersChanged: deps.onAdaptersChanged,
  });
  return {
    archiveExport,
    archiveImport,
    backups,
    exportFiles,
    staging,
    archiveJobs: new ArchiveJobService(archiveExport, exportFiles, archiveImport, backups, queue),
    backupScheduler: new BackupScheduler(backups, exportFiles, queue, clock, logger.child({ component: 'backups' })),
  };
}
