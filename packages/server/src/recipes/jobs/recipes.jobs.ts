import { JOB_KINDS } from '../../jobs/job-catalogue.ts';
import type { JobQueue } from '../../jobs/job-queue.ts';
import type { RecipeCivitaiService } from '../services/recipe-civitai.service.ts';

/** Recipe jobs: CivitAI lookups of missing LoRAs, one at a time, retried slowly (CivitAI rate-limits). */
export function registerRecipeJobs(queue: JobQueue, civitai: RecipeCivitaiService): void {
  queue.register(JOB_KINDS.recipesCivitai, async (payload, ctx) => civitai.lookUp(payload.recipe_ids ?? null, ctx.signal), {
    concurrency: 1,
    maxAttempts: 3,
    backoffMs: 60_000,
  });
}
