import type { UsageRecorder } from '../../analytics/services/usage-recorder.ts';
import type { GenerationRunner } from '../services/generation-runner.ts';
import type { JobKindHandler } from '../../jobs/job-queue.ts';

/**
 * The generation job: the request lives on its delivery row, so the runner needs only the job's id and controls.
 * The recorder notes the outcome of the job's last attempt for analytics (LoRA usage, durations, errors).
 */
export function generationHandler(runner: GenerationRunner, usage: UsageRecorder | null = null): JobKindHandler<'generation'> {
  return async (_payload, ctx) => {
    const run = () =>
      runner.run({ jobId: ctx.job.id, attempt: ctx.attempt, maxAttempts: ctx.job.max_attempts, signal: ctx.signal, progress: (p) => ctx.progress(p), logger: ctx.logger });
    if (!usage) return run();
    return usage.track({ jobId: ctx.job.id, attempt: ctx.attempt, maxAttempts: ctx.job.max_attempts, signal: ctx.signal }, run);
  };
}
