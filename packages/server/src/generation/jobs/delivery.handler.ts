import type { DeliveryRunner } from '../services/delivery-runner.ts';
import type { JobKindHandler } from '../../jobs/job-queue.ts';

/** The delivery job: the request lives on its delivery row, so the runner needs only the job's id and controls. */
export function deliveryHandler(runner: DeliveryRunner): JobKindHandler<'delivery'> {
  return async (_payload, ctx) => runner.run({ jobId: ctx.job.id, attempt: ctx.attempt, maxAttempts: ctx.job.max_attempts, signal: ctx.signal });
}
