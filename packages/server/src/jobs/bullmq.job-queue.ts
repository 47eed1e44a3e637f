import { createHash } from 'node:crypto';
import type { Job } from '@lora-manager/contract';
import { Queue, Worker, type Job as BullJob } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { EventBus } from '../events/event-bus.ts';
import type { JobRepository } from '../repositories/job.repository.ts';
import { whileDatabaseReturns } from '../lib/transient-errors.ts';
import { LOST, SHUTDOWN, retryDelayMs, type JobControlMessage, type JobLifecycle } from './job-lifecycle.ts';
import type { AnyKindJobQueue, EnqueueOptions, JobHandler, JobKindOptions, JobQueue } from './job-queue.ts';
import { RedisHandOff, redisCommand } from './redis-hand-off.ts';

/** How long a worker waits for the database to claim a job it was handed, before leaving it to the sweep. */
const CLAIM_PATIENCE_MS = 30_000;

interface Registration {
  handler: JobHandler;
  options: JobKindOptions;
}

/** Tells every worker process that a group queue exists, so each starts a worker for it. */
interface GroupAnnouncement {
  type: 'group';
  group: string;
}

interface RunningJob {
  controller: AbortController;
  attempt: number;
}

export interface BullMqJobQueueOptions {
  /** Shared by every Queue; Workers duplicate it for their blocking reads. The caller quits it (stack.md G9). */
  connection: Redis;
  /** Namespace of every key (REDIS_PREFIX). */
  prefix: string;
  /** A worker silent this long is taken for dead: its jobs go back to waiting (QUEUE_STALL_TIMEOUT_MS). */
  stallTimeoutMs: number;
}

/** A readable, unique BullMQ queue name for a group ("sdnext:http://gpu:7860" → "group.sdnext_http___gpu_7860.1a2b3c4d"). */
function groupQueueName(group: string): string {
  const readable = group.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 40);
  return `group.${readable}.${createHash('sha256').update(group).digest('hex').slice(0, 8)}`;
}

/** Wait for every promise to settle, or `ms`; true when they all settled in time. */
async function settledWithin(promises: Array<Promise<unknown>>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const settled = await Promise.race([Promise.allSettled(promises).then(() => true), deadline]);
  clearTimeout(timer);
  return settled;
}

function kindQueueName(kind: string): string {
  return `kind.${kind.replace(/:/g, '_')}`;
}

/**
 * One BullMQ job per attempt: the same attempt is never added twice (BullMQ ignores a known id), and a retry is a new
 * id so it can be added while the failed attempt's BullMQ job is still active.
 */
function bullJobId(job: Job): string {
  return `${encodeURIComponent(job.id)}.a${job.attempts}`;
}

/**
 * The scaled queue. The `job` row stays the truth, exactly as in the embedded queue (JobLifecycle does the claiming,
 * running, retry decisions and events); BullMQ only carries job ids from the process that enqueues to the
 * `lora-manager worker` processes, holds back retries until their backoff is over, and notices dead workers.
 *
 * - Every kind has a BullMQ queue, worked with the kind's concurrency in each process.
 * - Every group has its own queue with a global concurrency of 1: one job at a time per group across all workers, in
 *   order. Groups are announced on the job-control channel and kept in a Redis set for workers that start later.
 * - A running job's row gets a heartbeat; a sweep in every worker process sends rows whose heartbeat went stale
 *   (their process died) back to waiting, and re-sends waiting rows whose BullMQ job was lost.
 * - Redis may go away at any time: nothing waits on it (RedisHandOff). A job accepted meanwhile waits in the
 *   database outbox and is handed over when Redis is back; a flushed Redis is rebuilt from the database.
 */
export class BullMqJobQueue implements JobQueue, AnyKindJobQueue {
  private readonly registrations = new Map<string, Registration>();
  private readonly queues = new Map<string, Queue>();
  private readonly workers = new Map<string, Worker>();
  private readonly running = new Map<string, RunningJob>();
  private readonly announcedGroups = new Set<string>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly unsubscribe: () => void;
  private started = false;
  private closing = false;
  private sweeping: Promise<void> | null = null;
  private readonly handOff: RedisHandOff;
  private readonly lastWarned = new Map<string, number>();

  constructor(
    private readonly jobs: JobRepository,
    private readonly lifecycle: JobLifecycle,
    private readonly events: EventBus,
    private readonly logger: Logger,
    private readonly options: BullMqJobQueueOptions,
  ) {
    this.unsubscribe = events.subscribe('job-control', (message) => {
      const control = message as JobControlMessage | GroupAnnouncement;
      if (control.type === 'cancel') this.running.get(control.job_id)?.controller.abort('cancelled');
      if (control.type === 'group' && this.started && !this.closing) this.startGroupWorker(control.group);
    });
    this.handOff = new RedisHandOff({
      jobs,
      connection: options.connection,
      prefix: options.prefix,
      logger,
      kinds: () => [...this.registrations.keys()],
      dispatch: (job, delayMs) => this.dispatch(job, delayMs),
      onFlushed: () => this.announcedGroups.clear(),
      now: () => new Date(lifecycle.now()),
    });
    // Every process relays, `serve` included: it is the one that accepts jobs while Redis is away.
    this.handOff.start();
  }

  register<P>(kind: string, handler: JobHandler<P>, options: JobKindOptions = {}): void {
    this.registrations.set(kind, { handler, options });
    if (this.started) this.startWorker(kindQueueName(kind), options.concurrency ?? 1);
  }

  async enqueue(kind: string, payload: Record<string, unknown>, options: EnqueueOptions = {}): Promise<Job> {
    // The row and its outbox entry are written together: from here the job cannot be lost, whatever Redis does.
    const job = await this.lifecycle.create(kind, payload, options, this.registrations.get(kind)?.options.maxAttempts, true);
    await this.handOff.send(job, 0, true).catch((error: unknown) => this.logger.warn({ err: error, job_id: job.id }, 'job left in the outbox'));
    return job;
  }

  async cancel(id: string): Promise<Job> {
    // The lifecycle publishes on job-control; whichever process runs the job aborts it.
    const job = await this.lifecycle.cancel(id);
    const queue = this.queues.get(job.queue_group ? groupQueueName(job.queue_group) : kindQueueName(job.kind));
    // A waiting BullMQ job would only find the row cancelled and stop; removing it just saves that trip.
    if (queue) await redisCommand(this.options.connection, () => queue.remove(bullJobId(job))).catch(() => 0);
    return job;
  }

  async start(): Promise<void> {
    if (this.started || this.closing) return;
    this.started = true;
    for (const [kind, { options }] of this.registrations) this.startWorker(kindQueueName(kind), options.concurrency ?? 1);
    await this.refreshGroupWorkers().catch((error: unknown) => this.logger.warn({ err: error }, 'could not read the group list from Redis yet'));
    await this.sweep();
    // Jobs left pending by an embedded-mode process (or accepted while Redis was away) go to Redis now, not after
    // the stale sweep's delay.
    await this.handOff.rebuild().catch((error: unknown) => this.logger.warn({ err: error }, 'could not send the waiting jobs to Redis yet'));
    const { stallTimeoutMs } = this.options;
    this.every(Math.max(200, Math.floor(stallTimeoutMs / 3)), () => this.heartbeat());
    this.every(Math.max(250, Math.floor(stallTimeoutMs / 2)), () => this.sweep());
  }

  async drain(): Promise<void> {
    const kinds = [...this.registrations.keys()];
    while (!this.closing && (this.running.size > 0 || (await this.jobs.countActive(kinds)) > 0)) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Stop taking jobs; running ones are stopped and handed back to the other workers (not cancelled). */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    for (const timer of this.timers) clearInterval(timer);
    this.unsubscribe();
    await this.handOff.stop();
    for (const job of this.running.values()) job.controller.abort(SHUTDOWN);
    // Workers and queues close through Redis; a Redis that is down must not keep the process from exiting.
    const workers = [...this.workers.values()];
    const graceful = await settledWithin(workers.map((w) => w.close()), 5000);
    if (!graceful) await settledWithin(workers.map((w) => w.close(true)), 2000);
    await this.sweeping;
    await settledWithin([...this.queues.values()].map((q) => q.close()), 2000);
  }

  /** While Redis is away BullMQ reports every reconnect attempt; one line per source and 30 s is enough. */
  private warnAtMostEvery(key: string, fields: Record<string, unknown>, message: string): void {
    const now = Date.now();
    if ((this.lastWarned.get(key) ?? 0) > now - 30_000) return;
    this.lastWarned.set(key, now);
    this.logger.warn(fields, message);
  }

  private every(ms: number, task: () => Promise<void>): void {
    const timer = setInterval(() => {
      if (!this.closing) void task().catch((error: unknown) => this.logger.warn({ err: error }, 'queue maintenance failed'));
    }, ms);
    timer.unref();
    this.timers.push(timer);
  }

  private queue(name: string): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: this.options.connection, prefix: this.options.prefix });
      queue.on('error', (error) => this.warnAtMostEvery(`queue:${name}`, { err: error, queue: name }, 'BullMQ queue error'));
      this.queues.set(name, queue);
    }
    return queue;
  }

  /** Hand a waiting job row to BullMQ. Throws at once (RedisUnavailableError) when Redis is away. */
  private async dispatch(job: Job, delayMs: number): Promise<void> {
    const { connection } = this.options;
    const queue = job.queue_group ? await this.groupQueue(job.queue_group) : this.queue(kindQueueName(job.kind));
    await redisCommand(connection, () =>
      queue.add(job.kind, { id: job.id }, { jobId: bullJobId(job), delay: delayMs, removeOnComplete: true, removeOnFail: true }),
    );
  }

  private async groupQueue(group: string): Promise<Queue> {
    const queue = this.queue(groupQueueName(group));
    if (!this.announcedGroups.has(group)) {
      const { connection } = this.options;
      await redisCommand(connection, () => queue.setGlobalConcurrency(1));
      const added = await redisCommand(connection, () => connection.sadd(this.groupsKey(), group));
      const announcement: GroupAnnouncement = { type: 'group', group };
      if (added > 0) await this.events.publish('job-control', announcement);
      this.announcedGroups.add(group);
      if (this.started) this.startGroupWorker(group);
    }
    return queue;
  }

  private groupsKey(): string {
    return `${this.options.prefix}:queue-groups`;
  }

  private async refreshGroupWorkers(): Promise<void> {
    const { connection } = this.options;
    for (const group of await redisCommand(connection, () => connection.smembers(this.groupsKey()))) this.startGroupWorker(group);
  }

  private startGroupWorker(group: string): void {
    this.startWorker(groupQueueName(group), 1);
  }

  private startWorker(name: string, concurrency: number): void {
    if (this.workers.has(name) || this.closing) return;
    const { connection, prefix, stallTimeoutMs } = this.options;
    const worker = new Worker<{ id: string }>(name, (bullJob) => this.process(bullJob), {
      connection,
      prefix,
      concurrency,
      autorun: false,
      lockDuration: stallTimeoutMs,
      stalledInterval: stallTimeoutMs,
      // Jobs from a worker that vanished come back once; the row's own attempts decide whether it runs again.
      maxStalledCount: 1,
    });
    worker.on('error', (error) => this.warnAtMostEvery(`worker:${name}`, { err: error, queue: name }, 'BullMQ worker error'));
    this.workers.set(name, worker);
    void worker.run().catch((error: unknown) => this.logger.error({ err: error, queue: name }, 'BullMQ worker stopped'));
  }

  /** The BullMQ processor: claim the row and run it through the shared lifecycle. Never throws for job errors. */
  private async process(bullJob: BullJob<{ id: string }>): Promise<void> {
    const id = bullJob.data.id;
    // The BullMQ job's name is the kind.
    const registration = this.registrations.get(bullJob.name);
    if (this.closing) return;
    if (!registration) {
      this.logger.warn({ job_id: id, kind: bullJob.name }, 'no handler registered for this kind in this worker');
      return;
    }
    // A database restart pauses the worker here instead of dropping the hand-off.
    const job = await whileDatabaseReturns(() => this.jobs.claim(id, this.lifecycle.now()), { forMs: CLAIM_PATIENCE_MS, stop: () => this.closing });
    if (!job) {
      // BullMQ re-delivers a job whose worker stopped renewing its lock. The sweep takes the row back once its
      // heartbeat is stale too, and sends it again as a new attempt. Other rows (cancelled, finished) need nothing.
      if ((await this.jobs.findById(id))?.status === 'running') await this.sweep();
      return;
    }
    const controller = new AbortController();
    this.running.set(id, { controller, attempt: job.attempts });
    let after: Job | undefined;
    try {
      after = await this.lifecycle.run(job, registration.handler, registration.options, controller.signal);
    } finally {
      this.running.delete(id);
    }
    if (after?.status === 'retrying') {
      const delay = controller.signal.reason === SHUTDOWN ? 0 : retryDelayMs(registration.options, job.attempts);
      await this.handOff.send(after, delay, false);
    }
  }

  /** Keep our rows alive, and stop runs whose row is no longer ours (cancelled, or taken over after an outage). */
  private async heartbeat(): Promise<void> {
    if (this.running.size === 0) return;
    const runs = [...this.running].map(([id, r]) => ({ id, attempt: r.attempt }));
    for (const id of await this.jobs.heartbeat(runs, this.lifecycle.now())) this.running.get(id)?.controller.abort(LOST);
  }

  /** One sweep at a time per process; concurrent callers share it. */
  private sweep(): Promise<void> {
    this.sweeping ??= this.sweepOnce().finally(() => {
      this.sweeping = null;
    });
    return this.sweeping;
  }

  private async sweepOnce(): Promise<void> {
    const staleBefore = new Date(Date.parse(this.lifecycle.now()) - this.options.stallTimeoutMs).toISOString();
    // Rows a dead worker left running: back to retrying (or failed when out of attempts), then to a worker.
    for (const job of await this.lifecycle.recoverOrphans(staleBefore)) {
      if (job.status === 'retrying') await this.handOff.send(job, 0, false);
    }
    // Rows due for a while that no BullMQ job carries (Redis was down at enqueue, or was flushed). Re-adding one
    // that BullMQ still holds is a no-op: the id is per attempt.
    for (const kind of this.registrations.keys()) {
      for (const { id } of await this.jobs.nextRunnable(kind, staleBefore, [], 50)) {
        const job = await this.jobs.findById(id);
        if (job && (job.status === 'pending' || job.status === 'retrying')) await this.handOff.send(job, 0, false);
      }
    }
    await this.refreshGroupWorkers();
    await this.handOff.relay();
  }
}
