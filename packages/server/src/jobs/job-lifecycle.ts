import { randomUUID } from 'node:crypto';
import type { Job, JobEvent, JobProgress } from '@lora-manager/contract';
import type { Logger } from 'pino';
import { BadRequestError, NotFoundError } from '../errors.ts';
import type { EventBus } from '../events/event-bus.ts';
import type { Clock } from '../lib/clock.ts';
import { whileDatabaseReturns } from '../lib/transient-errors.ts';
import type { JobRepository } from '../repositories/job.repository.ts';
import { PermanentJobError, type EnqueueOptions, type JobContext, type JobHandler, type JobKindOptions } from './job-queue.ts';

/** The abort reason a queue uses when its process shuts down: the job goes back to waiting, it is not cancelled. */
export const SHUTDOWN = Symbol('shutdown');

/** Wait before the retry that follows failed attempt `attempt` (1-based): backoffMs, doubling each time. */
export function retryDelayMs(options: JobKindOptions, attempt: number): number {
  return (options.backoffMs ?? 1000) * 2 ** (attempt - 1);
}

/** The abort reason when this runner lost the job: another worker took it over after its heartbeat went stale. */
export const LOST = Symbol('lost');

/** How long a runner waits for the database to come back before giving a finished job's outcome up (to recovery). */
const FINAL_WRITE_PATIENCE_MS = 60_000;

/** A cancel request travelling to whichever process runs the job. */
export interface JobControlMessage {
  type: 'cancel';
  job_id: string;
}

/**
 * What every queue adapter does the same way: publish job events, run a claimed job with its context, and decide
 * between succeeded, retrying and failed. Adapters only differ in how a job id reaches a runner.
 */
export class JobLifecycle {
  constructor(
    private readonly jobs: JobRepository,
    private readonly events: EventBus,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  now(): string {
    return this.clock.now().toISOString();
  }

  /**
   * Write a new pending job row and announce it. `defaultMaxAttempts` comes from the kind's registration; `outbox`
   * writes the row's outbox entry with it (the scaled queue).
   */
  async create(kind: string, payload: Record<string, unknown>, options: EnqueueOptions, defaultMaxAttempts = 1, outbox = false): Promise<Job> {
    const job = await this.jobs.create({
      outbox,
      id: options.id ?? randomUUID(),
      kind,
      payload,
      maxAttempts: options.maxAttempts ?? defaultMaxAttempts,
      group: options.group ?? null,
      now: this.now(),
    });
    await this.publish(job, 'queued');
    return job;
  }

  async publish(job: Job, change: JobEvent['change']): Promise<void> {
    const event: JobEvent = { job, change };
    await this.events.publish('jobs', event);
  }

  /** Mark a job cancelled and tell every process; 404 when unknown, 400 when already finished. */
  async cancel(id: string): Promise<Job> {
    const cancelled = await this.jobs.cancel(id, this.now());
    if (!cancelled) {
      if (!(await this.jobs.findById(id))) throw new NotFoundError('job_not_found', 'Job not found');
      throw new BadRequestError('job_not_cancellable', 'Job cannot be cancelled in its current state');
    }
    await this.publish(cancelled, 'cancelled');
    const control: JobControlMessage = { type: 'cancel', job_id: id };
    await this.events.publish('job-control', control);
    return cancelled;
  }

  /**
   * Run a job this process has claimed (status running). Never throws. Returns the row as this run left it, or
   * undefined when something else (a cancel) had already finished it.
   */
  async run(job: Job, handler: JobHandler, options: JobKindOptions, signal: AbortSignal): Promise<Job | undefined> {
    const log = this.logger.child({ job_id: job.id, kind: job.kind, attempt: job.attempts });
    await this.publish(job, 'started');
    const context: JobContext = {
      job,
      attempt: job.attempts,
      signal,
      logger: log,
      progress: async (update: JobProgress) => {
        const saved = await this.jobs.saveProgress(job.id, update, this.now(), job.attempts);
        if (saved) await this.publish(saved, 'progress');
      },
    };
    try {
      const result = await handler(job.payload, context);
      if (signal.aborted) return await this.afterAbort(job, signal);
      const done = await this.finalWrite(() => this.jobs.finish(job.id, 'succeeded', { result }, this.now(), job.attempts), log);
      if (done) await this.publish(done, 'succeeded');
      return done;
    } catch (error) {
      if (signal.aborted) return await this.afterAbort(job, signal);
      const message = error instanceof Error ? error.message : String(error);
      const permanent = error instanceof PermanentJobError;
      if (permanent || job.attempts >= job.max_attempts) {
        log.warn({ err: error }, 'job failed');
        const failed = await this.finalWrite(
          () => this.jobs.finish(job.id, 'failed', { error: message, result: permanent ? error.result : undefined }, this.now(), job.attempts),
          log,
        );
        if (failed) await this.publish(failed, 'failed');
        return failed;
      }
      const delay = retryDelayMs(options, job.attempts);
      log.info({ err: error, retry_in_ms: delay }, 'job will be retried');
      const runAfter = new Date(this.clock.now().getTime() + delay).toISOString();
      const retrying = await this.finalWrite(() => this.jobs.retryLater(job.id, message, runAfter, this.now(), job.attempts), log);
      if (retrying) await this.publish(retrying, 'retrying');
      return retrying;
    }
  }

  /**
   * Jobs a dead process left running: back to waiting, or failed when out of attempts. Returns the jobs this call
   * recovered (the BullMQ adapter hands the waiting ones to a worker again).
   */
  async recoverOrphans(staleBefore?: string): Promise<Job[]> {
    const orphans = await this.jobs.findOrphans(staleBefore);
    const recoveredJobs: Job[] = [];
    for (const orphan of orphans) {
      const recovered = await this.jobs.recover(orphan, this.now());
      if (!recovered) continue;
      recoveredJobs.push(recovered);
      await this.publish(recovered, recovered.status === 'failed' ? 'failed' : 'retrying');
    }
    if (recoveredJobs.length > 0) this.logger.warn({ count: recoveredJobs.length }, 'recovered jobs left running by a stopped process');
    return recoveredJobs;
  }

  /**
   * The write that records a run's outcome waits out a database outage (a PostgreSQL restart) instead of losing
   * the work: the write is fenced by attempt, so a late one never overwrites a later attempt.
   */
  private async finalWrite(write: () => Promise<Job | undefined>, log: Logger): Promise<Job | undefined> {
    let warned = false;
    return whileDatabaseReturns(write, {
      forMs: FINAL_WRITE_PATIENCE_MS,
      onWait: (error) => {
        if (!warned) log.warn({ err: error }, 'database unavailable: waiting to record the job outcome');
        warned = true;
      },
    });
  }

  /** A cancelled job needs nothing more; one stopped by shutdown waits for the next start. */
  private async afterAbort(job: Job, signal: AbortSignal): Promise<Job | undefined> {
    if (signal.reason !== SHUTDOWN) return undefined;
    const current = await this.jobs.findById(job.id);
    if (current?.status !== 'running') return undefined;
    const recovered = await this.jobs.recover(current, this.now());
    if (recovered) await this.publish(recovered, recovered.status === 'failed' ? 'failed' : 'retrying');
    return recovered;
  }
}
