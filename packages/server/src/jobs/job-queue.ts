import type { Job, JobProgress } from '@lora-manager/contract';
import type { Logger } from 'pino';
import type { JobKind, JobPayload, JobResult } from './job-catalogue.ts';

/** What a handler gets besides its payload. */
export interface JobContext {
  job: Job;
  /** 1 on the first run, 2 on the first retry, … */
  attempt: number;
  /** Aborted when the job is cancelled (from any process): stop work, interrupt the generation server. */
  signal: AbortSignal;
  /** Persist progress on the job row and publish it. `progress` is 0–1. */
  progress(update: JobProgress): Promise<void>;
  logger: Logger;
}

/** Does one job. The value returned is stored as the job's result; a thrown error retries or fails the job. */
export type JobHandler<P = any, R = unknown> = (payload: P, ctx: JobContext) => Promise<R>;

/** The handler of one catalogue kind: its payload in, its result out. */
export type JobKindHandler<K extends JobKind> = JobHandler<JobPayload<K>, JobResult<K>>;

export interface JobKindOptions {
  /** How many jobs of this kind run at once in one process. Default 1. */
  concurrency?: number;
  /** Runs before `failed`, the first included. Default 1 (no retry). */
  maxAttempts?: number;
  /** First retry delay; doubles each time. Default 1000 ms. */
  backoffMs?: number;
}

export interface EnqueueOptions {
  /** Use this id for the job row (e.g. the delivery id the client already holds). */
  id?: string;
  maxAttempts?: number;
  /** Jobs sharing a group run one at a time across the queue (e.g. one generation server). */
  group?: string | null;
}

/** A handler error that must not be retried (bad input, unknown mode): the job fails at once. */
export class PermanentJobError extends Error {
  constructor(
    message: string,
    readonly result?: unknown,
  ) {
    super(message);
    this.name = 'PermanentJobError';
  }
}

/**
 * The queue port. The `job` row is the truth in every adapter: the embedded adapter runs handlers in this process;
 * the BullMQ adapter hands job ids to `lora-manager worker` processes over Redis.
 */
export interface JobQueue {
  /** Kinds and payloads come from the job catalogue (jobs/job-catalogue.ts): no bare strings, no untyped payloads. */
  register<K extends JobKind>(kind: K, handler: JobKindHandler<K>, options?: JobKindOptions): void;
  enqueue<K extends JobKind>(kind: K, payload: JobPayload<K>, options?: EnqueueOptions): Promise<Job>;
  /** Cancel a pending, retrying or running job; a running one has its signal aborted wherever it runs. */
  cancel(id: string): Promise<Job>;
  /** Begin running jobs (after recovering what a previous process left). `serve` in scaled mode does not call it. */
  start(): Promise<void>;
  /** Resolves when no job is pending or running (tests and one-shot CLI commands). */
  drain(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The queue as both adapters implement it: any kind name, any payload. The app never uses it; it exists for the
 * adapter contract suite, tests and benches, which register kinds of their own (`contract.echo`, `test.flaky`).
 */
export interface AnyKindJobQueue extends Omit<JobQueue, 'register' | 'enqueue'> {
  register<P>(kind: string, handler: JobHandler<P>, options?: JobKindOptions): void;
  enqueue(kind: string, payload: Record<string, unknown>, options?: EnqueueOptions): Promise<Job>;
}
