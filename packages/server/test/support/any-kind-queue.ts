import type { AnyKindJobQueue, JobQueue } from '../../src/jobs/job-queue.ts';

/**
 * The container's queue, taking kinds that are not in the job catalogue: tests register their own (`test.echo`,
 * `contract.flaky`). Both adapters implement AnyKindJobQueue; the app only ever sees the typed JobQueue.
 */
export function anyKind(queue: JobQueue): AnyKindJobQueue {
  return queue as unknown as AnyKindJobQueue;
}
