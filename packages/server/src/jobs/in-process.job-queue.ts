import type { Job } from '@lora-manager/contract';
import type { Logger } from 'pino';
import type { EventBus } from '../events/event-bus.ts';
import type { JobRepository } from '../repositories/job.repository.ts';
import { SHUTDOWN, type JobControlMessage, type JobLifecycle } from './job-lifecycle.ts';
import type { AnyKindJobQueue, EnqueueOptions, JobHandler, JobKindOptions, JobQueue } from './job-queue.ts';

interface Registration {
  handler: JobHandler;
  options: JobKindOptions;
}

interface RunningJob {
  kind: string;
  group: string | null;
  controller: AbortController;
  done: Promise<void>;
}

/**
 * The embedded queue: handlers run in this process, and the job table is the queue. Nothing lives only in memory,
 * so a restart loses nothing: `start` sends jobs a previous process left running back to waiting, and every
 * pending job is picked up again.
 */
export class InProcessJobQueue implements JobQueue, AnyKindJobQueue {
  private readonly registrations = new Map<string, Registration>();
  private readonly running = new Map<string, RunningJob>();
  private started = false;
  private closing = false;
  private pumping = false;
  private pumpAgain = false;
  private wakeTimer: NodeJS.Timeout | undefined;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly jobs: JobRepository,
    private readonly lifecycle: JobLifecycle,
    events: EventBus,
    private readonly logger: Logger,
  ) {
    this.unsubscribe = events.subscribe('job-control', (message) => {
      const control = message as JobControlMessage;
      if (control.type === 'cancel') this.running.get(control.job_id)?.controller.abort('cancelled');
    });
  }

  register<P>(kind: string, handler: JobHandler<P>, options: JobKindOptions = {}): void {
    this.registrations.set(kind, { handler, options });
  }

  async enqueue(kind: string, payload: Record<string, unknown>, options: EnqueueOptions = {}): Promise<Job> {
    const job = await this.lifecycle.create(kind, payload, options, this.registrations.get(kind)?.options.maxAttempts);
    this.schedulePump();
    return job;
  }

  async cancel(id: string): Promise<Job> {
    // The lifecycle publishes on job-control; our own subscription aborts the handler if it runs here.
    return this.lifecycle.cancel(id);
  }

  async start(): Promise<void> {
    if (this.started) return;
    await this.lifecycle.recoverOrphans();
    this.started = true;
    this.schedulePump();
  }

  async drain(): Promise<void> {
    const kinds = [...this.registrations.keys()];
    while (!this.closing && (this.running.size > 0 || (await this.jobs.countActive(kinds)) > 0)) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Stop taking jobs; running ones are told to stop and go back to waiting for the next start. */
  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.wakeTimer);
    this.unsubscribe();
    for (const job of this.running.values()) job.controller.abort(SHUTDOWN);
    const settled = Promise.allSettled([...this.running.values()].map((r) => r.done));
    await Promise.race([settled, new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
  }

  private schedulePump(): void {
    if (!this.started || this.closing) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    void this.pump().catch((error: unknown) => this.logger.error({ err: error }, 'job queue pump failed'));
  }

  /** Start every job that may run now, within each kind's concurrency and one per group. */
  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        for (const [kind, registration] of this.registrations) {
          if (this.closing) return;
          let free = (registration.options.concurrency ?? 1) - this.countRunning(kind);
          if (free <= 0) continue;
          const busy = this.busyGroups();
          const candidates = await this.jobs.nextRunnable(kind, this.lifecycle.now(), [...busy], free + 8);
          for (const candidate of candidates) {
            if (free <= 0 || this.closing) break;
            if (candidate.group && busy.has(candidate.group)) continue;
            const job = await this.jobs.claim(candidate.id, this.lifecycle.now());
            if (!job) continue;
            if (job.queue_group) busy.add(job.queue_group);
            this.launch(job, kind, registration);
            free -= 1;
          }
        }
      } while (this.pumpAgain && !this.closing);
    } finally {
      this.pumping = false;
    }
    await this.scheduleWakeUp();
  }

  private launch(job: Job, kind: string, registration: Registration): void {
    const controller = new AbortController();
    const done = this.lifecycle
      .run(job, registration.handler, registration.options, controller.signal)
      .then(() => undefined)
      .catch((error: unknown) => this.logger.error({ err: error, job_id: job.id }, 'job runner failed'))
      .finally(() => {
        this.running.delete(job.id);
        this.schedulePump();
      });
    this.running.set(job.id, { kind, group: job.queue_group, controller, done });
  }

  /** Sleep until the earliest retry is due (jobs enqueued meanwhile wake the pump themselves). */
  private async scheduleWakeUp(): Promise<void> {
    clearTimeout(this.wakeTimer);
    if (this.closing) return;
    const next = await this.jobs.nextWakeUp([...this.registrations.keys()]);
    if (!next) return;
    const delay = Math.max(0, Date.parse(next) - Date.now());
    if (delay === 0 && this.running.size > 0) return; // a finishing job will pump again
    this.wakeTimer = setTimeout(() => this.schedulePump(), Math.max(delay, 5));
    this.wakeTimer.unref();
  }

  private countRunning(kind: string): number {
    let n = 0;
    for (const r of this.running.values()) if (r.kind === kind) n += 1;
    return n;
  }

  private busyGroups(): Set<string> {
    const groups = new Set<string>();
    for (const r of this.running.values()) if (r.group) groups.add(r.group);
    return groups;
  }
}
