import { randomUUID } from 'node:crypto';
import type { Job } from '@lora-manager/contract';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { JobRepository, WaitingJob } from '../repositories/job.repository.ts';

/** A Redis command not answered within this counts as Redis being away: nothing waits on it longer. */
export const REDIS_COMMAND_TIMEOUT_MS = 2000;
/** How often every process looks for attempts still to hand over, and for a flushed Redis. */
const RELAY_INTERVAL_MS = 1000;
const OUTBOX_PAGE = 100;
/** Waiting rows re-sent per rebuild; a larger backlog is caught by the next rebuild or the stale sweep. */
const REBUILD_LIMIT = 10_000;

/** Thrown instead of waiting when Redis is down: the caller keeps the attempt in the outbox. */
export class RedisUnavailableError extends Error {
  constructor(reason: string) {
    super(`Redis unavailable: ${reason}`);
    this.name = 'RedisUnavailableError';
  }
}

/**
 * Run a command on a connection that queues commands through a reconnect (`maxRetriesPerRequest: null`, as BullMQ
 * needs), without waiting on it: refused at once while the connection is not ready, abandoned after a timeout.
 * An abandoned command may still run once Redis is back; every command the queue sends is safe to repeat.
 */
export async function redisCommand<T>(connection: Redis, command: () => Promise<T>, timeoutMs = REDIS_COMMAND_TIMEOUT_MS): Promise<T> {
  if (connection.status !== 'ready') throw new RedisUnavailableError(`connection ${connection.status}`);
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      command(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new RedisUnavailableError(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export interface RedisHandOffOptions {
  jobs: JobRepository;
  connection: Redis;
  prefix: string;
  logger: Logger;
  /** Kinds this process knows (rebuilds re-send waiting jobs of these). */
  kinds: () => string[];
  /** Add the attempt to BullMQ (idempotent: one BullMQ id per attempt). Throws when Redis is away. */
  dispatch: (job: Job, delayMs: number) => Promise<void>;
  /** Redis lost everything it held (a flush, a restart without persistence): forget what was announced to it. */
  onFlushed: () => void;
  now: () => Date;
}

/**
 * Gets job attempts from the database (the truth) into Redis, exactly once per attempt:
 *
 * - the outbox: an attempt whose hand-off failed (Redis down, or the process died first) waits in `job_outbox` and
 *   is sent when Redis answers again, by whichever process gets there first. BullMQ ignores an id it already
 *   holds, and the row's atomic claim decides who runs it, so a duplicate send can never run a job twice.
 * - the epoch: a random key each process remembers. When it disappears, Redis was flushed or restarted empty, and
 *   every waiting job is sent again from the database.
 */
export class RedisHandOff {
  private timer: NodeJS.Timeout | undefined;
  private relaying: Promise<void> | null = null;
  private epoch: string | null = null;
  private readonly onReady = () => void this.relay();
  private outageLogged = false;

  constructor(private readonly options: RedisHandOffOptions) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.relay(), RELAY_INTERVAL_MS);
    this.timer.unref();
    this.options.connection.on('ready', this.onReady);
    void this.relay();
  }

  /** Hand one attempt to BullMQ now; if Redis is away, leave it in the outbox (writing its entry unless it has one). */
  async send(job: Job, delayMs: number, inOutbox: boolean): Promise<boolean> {
    try {
      await this.options.dispatch(job, delayMs);
    } catch (error) {
      this.noteOutage(error);
      if (!inOutbox) await this.options.jobs.addToOutbox(job.id, job.attempts, this.options.now().toISOString());
      return false;
    }
    this.outageLogged = false;
    if (inOutbox) await this.options.jobs.removeFromOutbox(job.id, job.attempts);
    return true;
  }

  /** One relay pass at a time per process; concurrent callers share it. Never throws. */
  relay(): Promise<void> {
    this.relaying ??= this.relayOnce()
      .catch((error: unknown) => this.noteOutage(error))
      .finally(() => {
        this.relaying = null;
      });
    return this.relaying;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.options.connection.off('ready', this.onReady);
    await this.relaying;
  }

  private async relayOnce(): Promise<void> {
    const { connection, jobs } = this.options;
    if (connection.status !== 'ready') return;
    await this.checkEpoch();
    for (;;) {
      const entries = await jobs.outbox(OUTBOX_PAGE);
      for (const entry of entries) {
        const waiting = await jobs.findWaiting(entry.job_id);
        // A finished, cancelled or later attempt needs no hand-off any more.
        if (waiting && waiting.job.attempts === entry.attempt) await this.options.dispatch(waiting.job, this.delayOf(waiting));
        await jobs.removeFromOutbox(entry.job_id, entry.attempt);
      }
      if (entries.length < OUTBOX_PAGE) break;
    }
    if (this.outageLogged) this.options.logger.info('Redis answers again: queued job hand-offs resumed');
    this.outageLogged = false;
  }

  /** Notice a flushed (or restarted, empty) Redis and send every waiting job again. Also runs once per process. */
  private async checkEpoch(): Promise<void> {
    const { connection } = this.options;
    const key = `${this.options.prefix}:queue-epoch`;
    let current = await redisCommand(connection, () => connection.get(key));
    if (current === null) {
      await redisCommand(connection, () => connection.set(key, randomUUID(), 'NX'));
      current = await redisCommand(connection, () => connection.get(key));
    }
    if (current === this.epoch) return;
    if (this.epoch !== null) this.options.logger.warn('Redis lost its queues (flushed or restarted empty): rebuilding them from the database');
    this.options.onFlushed();
    await this.rebuild();
    this.epoch = current;
  }

  /**
   * Send every waiting job of the kinds this process knows to Redis again (a flushed Redis; a worker starting, which
   * may find jobs an embedded-mode process left pending). Sending one BullMQ already holds changes nothing.
   */
  async rebuild(): Promise<void> {
    const waiting = await this.options.jobs.waiting(this.options.kinds(), REBUILD_LIMIT);
    for (const w of waiting) await this.options.dispatch(w.job, this.delayOf(w));
  }

  private delayOf(waiting: WaitingJob): number {
    return Math.max(0, Date.parse(waiting.runAfter) - this.options.now().getTime());
  }

  private noteOutage(error: unknown): void {
    if (this.outageLogged) return;
    this.outageLogged = true;
    this.options.logger.warn({ err: error }, 'Redis unavailable: jobs wait in the database outbox until it answers');
  }
}
