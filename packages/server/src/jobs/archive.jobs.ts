import fs from 'node:fs/promises';
import type { ImportReport } from '@lora-manager/contract';
import type { ArchiveProgress } from '../services/archive/archive-export.service.ts';
import type { ArchiveImportService } from '../services/archive/archive-import.service.ts';
import type { BackupService } from '../services/archive/backup.service.ts';
import type { ExportFiles } from '../services/archive/export-files.ts';
import { JOB_KINDS } from './job-catalogue.ts';
import { SHUTDOWN } from './job-lifecycle.ts';
import { PermanentJobError, type JobContext, type JobQueue } from './job-queue.ts';

export interface ArchiveJobServices {
  exportFiles: ExportFiles;
  archiveImport: ArchiveImportService;
  backups: BackupService;
}

/**
 * Export, import, backup and restore as queue jobs: progress goes to the job row and the WebSocket. One archive job
 * of each kind at a time. A job stopped by a shutdown runs again at the next start (its upload is kept for that).
 */
export function registerArchiveJobs(queue: JobQueue, services: ArchiveJobServices): void {
  const options = { concurrency: 1, maxAttempts: 2 };

  queue.register(
    JOB_KINDS.archiveExport,
    async (payload, ctx) => services.exportFiles.create(ctx.job.id, payload.config, { signal: ctx.signal, onProgress: reporter(ctx) }),
    options,
  );

  queue.register(
    JOB_KINDS.archiveImport,
    async (payload, ctx) => {
      try {
        const importer = services.archiveImport;
        return succeededOrThrow(await importer.importFiles(payload.uploads, importer.options(payload.config), { signal: ctx.signal, onProgress: reporter(ctx) }));
      } finally {
        if (ctx.signal.reason !== SHUTDOWN) await Promise.all(payload.uploads.map((u) => fs.rm(u.path, { force: true })));
      }
    },
    options,
  );

  queue.register(JOB_KINDS.backupCreate, async (payload, ctx) => services.backups.create(payload, 'manual', { signal: ctx.signal, onProgress: reporter(ctx) }), options);

  queue.register(JOB_KINDS.backupScheduled, async (_payload, ctx) => (await services.backups.runScheduled({ signal: ctx.signal, onProgress: reporter(ctx) })) ?? { skipped: 'not due' }, {
    concurrency: 1,
    maxAttempts: 1,
  });

  queue.register(
    JOB_KINDS.backupRestore,
    async (payload, ctx) =>
      succeededOrThrow(await services.archiveImport.restoreBackup(payload.backup_id, payload.config, { signal: ctx.signal, onProgress: reporter(ctx) })),
    options,
  );
}

/** An import that did not go through fails the job (no retry: the archive will not change), report kept as result. */
function succeededOrThrow(report: ImportReport): ImportReport {
  if (report.success) return report;
  const reasons = report.results.filter((r) => r.status !== 'imported' && r.status !== 'validated').map((r) => `${r.file}: ${r.detail ?? r.code ?? r.status}`);
  throw new PermanentJobError(reasons.join('; ') || 'the import did not go through', report);
}

/** Archive progress → job progress, at most a few writes a second, never overlapping. */
function reporter(ctx: JobContext): (p: ArchiveProgress) => void {
  let last = 0;
  let writing: Promise<void> | null = null;
  return (p) => {
    const now = Date.now();
    if (writing || (now - last < 250 && p.fraction < 1)) return;
    last = now;
    const detail = p.totalBytes > 0 ? ` (${Math.round(p.bytes / 1048576)} of ${Math.round(p.totalBytes / 1048576)} MB)` : '';
    writing = ctx
      .progress({ progress: Math.min(1, Math.max(0, p.fraction)), message: `${p.message}${detail}` })
      .catch((error: unknown) => ctx.logger.warn({ err: error }, 'could not save progress'))
      .finally(() => {
        writing = null;
      });
  };
}
