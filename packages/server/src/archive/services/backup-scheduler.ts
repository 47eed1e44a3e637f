import type { Logger } from 'pino';
import { JOB_KINDS } from '../../jobs/job-catalogue.ts';
import type { JobQueue } from '../../jobs/job-queue.ts';
import type { Clock } from '../../lib/clock.ts';
import type { BackupService } from './backup.service.ts';
import type { ExportFiles } from './export-files.ts';

const TICK_MS = 60_000;

/**
 * Checks once a minute whether the backup schedule is due and, if so, queues the `backup.scheduled` job. The job id
 * is derived from the due time, so several server processes sharing a database queue it once.
 */
export class BackupScheduler {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly backups: BackupService,
    private readonly exportFiles: ExportFiles,
    private readonly queue: JobQueue,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), TICK_MS);
    this.timer.unref();
    void this.tick();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  async tick(): Promise<void> {
    try {
      await this.exportFiles.cleanup();
      const state = await this.backups.schedule();
      if (!state.enabled || !state.next_run_at || Date.parse(state.next_run_at) > this.clock.now().getTime()) return;
      // One job id per interval window: a second process (or a second tick) finds the id taken; a failed run is tried
      // again in the next window.
      const slot = Math.floor(this.clock.now().getTime() / (state.interval_hours * 3_600_000));
      await this.queue.enqueue(JOB_KINDS.backupScheduled, {}, { id: `backup-scheduled-${state.interval_hours}h-${slot}` }).catch(() => undefined);
    } catch (error) {
      this.logger.warn({ err: error }, 'backup schedule check failed');
    }
  }
}
