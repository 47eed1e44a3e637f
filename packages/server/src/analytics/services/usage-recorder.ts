import type { Logger } from 'pino';
import type { Clock } from '../../lib/clock.ts';
import { foldFinished } from '../../lib/usage-rollup.ts';
import { toIso } from '../../lib/time.ts';
import type { UsageRepository } from '../repositories/usage.repository.ts';

/** The parts of a generation attempt the recorder needs to tell a final outcome from one that will be retried. */
export interface AttemptInfo {
  jobId: string;
  attempt: number;
  maxAttempts: number;
  signal: AbortSignal;
}

/** Errors that end a job at once whatever attempts remain (the queue's PermanentJobError). */
export type IsPermanent = (error: unknown) => boolean;

/**
 * Records what every finished generation used and how it ended, into the analytics roll-ups and the adapters' usage
 * totals. Runs in the process that ran the job, once per outcome: a retry in between records nothing, a cancel or a
 * shutdown records nothing (the job is not finished, or was not a success or a failure). Recording never fails the
 * generation: an error is logged and the image stays made.
 */
export class UsageRecorder {
  constructor(
    private readonly usage: UsageRepository,
    private readonly clock: Clock,
    private readonly isPermanent: IsPermanent,
    private readonly logger: Logger,
  ) {}

  /** Run one attempt and record its outcome when it is the job's last. */
  async track<T>(attempt: AttemptInfo, run: () => Promise<T>): Promise<T> {
    let value: T;
    try {
      value = await run();
    } catch (error) {
      const final = !attempt.signal.aborted && (this.isPermanent(error) || attempt.attempt >= attempt.maxAttempts);
      if (final) await this.record(attempt.jobId, 'failed', error instanceof Error ? error.message : String(error));
      throw error;
    }
    await this.record(attempt.jobId, 'succeeded', null);
    return value;
  }

  /** A result was rated or (un)favourited: the per-LoRA averages follow. */
  async resultFeedbackChanged(jobId: string): Promise<void> {
    await this.usage.refreshResultFeedback(jobId);
  }

  /** Fill the roll-ups from the existing jobs when this database has never had them (first start after 0008). */
  async ensureRollups(): Promise<boolean> {
    return this.usage.ensureBuilt(toIso(this.clock.now()));
  }

  /** Recompute every roll-up from the jobs (after an archive import brought in history). */
  async rebuild(): Promise<void> {
    await this.usage.rebuild(toIso(this.clock.now()));
  }

  private async record(jobId: string, status: 'succeeded' | 'failed', message: string | null): Promise<void> {
    try {
      const finished = await this.usage.finishedGeneration(jobId, status, toIso(this.clock.now()), message);
      if (finished) await this.usage.apply(foldFinished([finished]));
    } catch (error) {
      this.logger.warn({ err: error, job_id: jobId }, 'recording LoRA usage failed; analytics will miss this generation');
    }
  }
}
