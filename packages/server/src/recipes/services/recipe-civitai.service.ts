import type { Job } from '@lora-manager/contract';
import { ConflictError } from '../../errors.ts';
import type { Clock } from '../../lib/clock.ts';
import { JOB_KINDS, type RecipeCivitaiResult } from '../../jobs/job-catalogue.ts';
import type { JobQueue } from '../../jobs/job-queue.ts';
import type { CivitaiClient, CivitaiRecord } from '../../library/services/civitai.client.ts';
import type { RecipeRepository } from '../repositories/recipe.repository.ts';

/** Hashes asked in one job, at most; the next import or a click on "look up" asks for the rest. */
const MAX_LOOKUPS = 1000;

export interface RecipeCivitaiOptions {
  recipes: RecipeRepository;
  client: CivitaiClient;
  queue: JobQueue;
  /** The library's CivitAI settings: off until the user enables it (it sends hashes to civitai.com). */
  settings: () => Promise<{ civitaiEnabled: boolean; civitaiApiKey: string | null }>;
  clock: Clock;
}

/**
 * Names the LoRAs a recipe uses that the library lacks: their hashes are looked up on CivitAI, and what it knows (the
 * model, the version, their names) is kept with the recipe, so the recipe says "Ink Wash Painting v2.0" with a link to
 * its page. A hash CivitAI does not know is remembered as asked; while CivitAI is unreachable nothing is marked, and
 * the job is retried.
 */
export class RecipeCivitaiService {
  constructor(private readonly o: RecipeCivitaiOptions) {}

  /** Queue a lookup (the route: "look up missing LoRAs on CivitAI"); 409 civitai_disabled while CivitAI is off. */
  async start(recipeIds: readonly string[] | null): Promise<Job> {
    if (!(await this.o.settings()).civitaiEnabled) {
      throw new ConflictError('civitai_disabled', 'CivitAI lookups are off; enable them in the library settings (they send file hashes to civitai.com)');
    }
    return this.enqueue(recipeIds);
  }

  /** After an import: queue a lookup for these recipes when CivitAI is on and they miss LoRAs it has not been asked about. */
  async requestFor(recipeIds: readonly string[]): Promise<void> {
    if (recipeIds.length === 0 || !(await this.o.settings()).civitaiEnabled) return;
    if ((await this.o.recipes.lorasForCivitai(recipeIds, 1)).length === 0) return;
    await this.enqueue(recipeIds);
  }

  private enqueue(recipeIds: readonly string[] | null): Promise<Job> {
    return this.o.queue.enqueue(JOB_KINDS.recipesCivitai, { recipe_ids: recipeIds ? [...recipeIds] : null }, { maxAttempts: 3 });
  }

  /** Look up the missing LoRAs of these recipes (all recipes with null). Does nothing while CivitAI is off. */
  async lookUp(recipeIds: readonly string[] | null, signal?: AbortSignal): Promise<RecipeCivitaiResult> {
    const result: RecipeCivitaiResult = { looked_up: 0, found: 0, not_found: 0 };
    const settings = await this.o.settings();
    if (!settings.civitaiEnabled) return result;
    const loras = await this.o.recipes.lorasForCivitai(recipeIds, MAX_LOOKUPS);
    if (loras.length === 0) return result;
    const hashes = [...new Set(loras.map((l) => (l.hash as string).toUpperCase()))];
    // Unreachable (CivitaiUnreachableError) fails the job, which the queue retries later; nothing is marked as asked.
    const versions = await this.o.client.versionsByHash(hashes, { apiKey: settings.civitaiApiKey, signal });
    const facts = loras.map((l) => {
      const version = versions.get((l.hash as string).toUpperCase());
      return { recipe_id: l.recipe_id, position: l.position, ...versionFacts(version) };
    });
    await this.o.recipes.setCivitaiFacts(facts, this.o.clock.now().toISOString());
    const found = facts.filter((f) => f.civitai_model_id !== null).length;
    return { looked_up: loras.length, found, not_found: loras.length - found };
  }
}

/** The model and version of a by-hash record; all null when CivitAI did not know the hash (or said nothing usable). */
export function versionFacts(version: CivitaiRecord | undefined): { civitai_model_id: number | null; civitai_version_id: number | null; civitai_name: string | null } {
  const modelId = typeof version?.modelId === 'number' && Number.isSafeInteger(version.modelId) ? version.modelId : null;
  if (!version || modelId === null) return { civitai_model_id: null, civitai_version_id: null, civitai_name: null };
  const versionId = typeof version.id === 'number' && Number.isSafeInteger(version.id) ? version.id : null;
  const model = version.model as { name?: unknown } | undefined;
  const modelName = typeof model?.name === 'string' ? model.name.trim() : '';
  const versionName = typeof version.name === 'string' ? version.name.trim() : '';
  const name = [modelName, versionName].filter(Boolean).join(' ').slice(0, 300) || null;
  return { civitai_model_id: modelId, civitai_version_id: versionId, civitai_name: name };
}
