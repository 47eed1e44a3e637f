import type { GenerationRunner } from '../services/generation-runner.ts';
import type { JobKindHandler } from '../../jobs/job-queue.ts';

/** The generation job: the request lives on its delivery row, so the runner needs only the job's id and controls. */
export function generationHandler(runner: GenerationRunner): JobKindHandler<'generation'> {
  return async (_payload, ctx) =>
    runner.run({ jobId: ctx.job.id, attempt: ctx.attempt, maxAttempts: ctx.job.max_attempts, signal: ctx.signal, progress: (p) => ctx.progress(p), logger: ctx.logger });
}
