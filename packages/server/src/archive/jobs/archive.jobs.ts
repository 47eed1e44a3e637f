import type { ArchiveProgress } from '../services/archive-export.service.ts';
import type { ArchiveJobService } from '../services/archive-jobs.service.ts';
import { JOB_KINDS } from '../../jobs/job-catalogue.ts';
import { SHUTDOWN } from '../../jobs/job-lifecycle.ts';
import type { JobContext, JobQueue } from '../../jobs/job-queue.ts';

/**
 * Export, import, backup and restore as queue jobs: progress goes to the job row and the WebSocket. One archive job
 * of each kind at a time. A job stopped by a shutdown runs again at the next start (its upload is kept for that).
 */
export function registerArchiveJobs(queue: JobQueue, jobs: ArchiveJobService): void {
  const options = { concurrency: 1, maxAttempts: 2 };
  const run = (ctx: JobContext) => ({ signal: ctx.signal, onProgress: reporter(ctx) });

  queue.register(JOB_KINDS.archiveExport, async (payload, ctx) => jobs.runExport(ctx.job.id, payload, run(ctx)), options);
  queue.register(JOB_KINDS.archiveImport, async (payload, ctx) => jobs.runImport(payload, { ...run(ctx), keepUploads: () => ctx.signal.reason === SHUTDOWN }), options);
  queue.register(JOB_KINDS.backupCreate, async (payload, ctx) => jobs.runBackup(payload, run(ctx)), options);
  queue.register(JOB_KINDS.backupScheduled, async (_payload, ctx) => jobs.runScheduledBackup(run(ctx)), { concurrency: 1, maxAttempts: 1 });
  queue.register(JOB_KINDS.backupRestore, async (payload, ctx) => jobs.runRestore(payload, run(ctx)), options);
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
