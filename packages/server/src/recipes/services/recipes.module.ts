import type { JobEvent } from '@lora-manager/contract';
import type { Logger } from 'pino';
import type { Config } from '../../config.ts';
import type { EventBus } from '../../events/event-bus.ts';
import type { JobQueue } from '../../jobs/job-queue.ts';
import { JOB_KINDS } from '../../jobs/job-catalogue.ts';
import type { Clock } from '../../lib/clock.ts';
import type { AdapterRepository } from '../../library/repositories/adapter.repository.ts';
import type { CivitaiClient } from '../../library/services/civitai.client.ts';
import { RecipeRepository } from '../repositories/recipe.repository.ts';
import type { AppDatabase } from '../../db/database.ts';
import { RecipeCivitaiService } from './recipe-civitai.service.ts';
import { RecipeMatcher } from './recipe-matcher.ts';
import { RecipePreviewStore } from './recipe-preview.store.ts';
import { RecipeUseService, type RecipeGenerator } from './recipe-use.service.ts';
import type { RecipeResultSource } from './recipe-from-result.ts';
import { RecipeService } from './recipe.service.ts';

/** Library jobs after which a missing recipe LoRA may have arrived (new files, new hashes, restored adapters). */
const LIBRARY_CHANGES = new Set<string>([JOB_KINDS.libraryScan, JOB_KINDS.libraryHash, JOB_KINDS.archiveImport, JOB_KINDS.backupRestore]);
/** Several library jobs ending together cause one re-match. */
const REMATCH_DELAY_MS = 250;

export interface RecipesDeps {
  config: Pick<Config, 'dataDir'>;
  database: AppDatabase;
  repositories: { adapters: AdapterRepository };
  queue: JobQueue;
  events: EventBus;
  /** The history: a result's prompt, parameters, LoRAs and first image. */
  results: RecipeResultSource;
  generator: RecipeGenerator;
  civitai: { client: CivitaiClient; settings: () => Promise<{ civitaiEnabled: boolean; civitaiApiKey: string | null }> };
  clock: Clock;
  logger: Logger;
}

export interface RecipesCapability {
  services: { recipes: RecipeService; recipeUse: RecipeUseService; recipeMatcher: RecipeMatcher; recipeCivitai: RecipeCivitaiService };
  repository: RecipeRepository;
  /** Stop listening for library changes and let a running re-match finish. */
  stop(): Promise<void>;
}

/** Recipes: saved LoRA combinations, their import from images and texts, and their use in Compose and Generate. */
export function createRecipes(deps: RecipesDeps): RecipesCapability {
  const logger = deps.logger.child({ component: 'recipes' });
  const repository = new RecipeRepository(deps.database.db);
  const previews = new RecipePreviewStore(deps.config.dataDir);
  const matcher = new RecipeMatcher(repository, deps.queue, deps.clock, logger);
  const recipeCivitai = new RecipeCivitaiService({ recipes: repository, client: deps.civitai.client, queue: deps.queue, settings: deps.civitai.settings, clock: deps.clock });
  const recipes = new RecipeService({
    recipes: repository,
    matcher,
    previews,
    results: deps.results,
    civitaiEnabled: async () => (await deps.civitai.settings()).civitaiEnabled,
    // A lookup that cannot be queued must not fail the import that is already saved.
    onImported: (ids) => recipeCivitai.requestFor(ids).catch((error: unknown) => logger.warn({ err: error }, 'CivitAI lookup of missing recipe LoRAs not queued')),
    clock: deps.clock,
  });
  const recipeUse = new RecipeUseService({
    recipes: repository,
    recipeService: recipes,
    adapters: deps.repositories.adapters,
    previews,
    generator: deps.generator,
    defaultBackend: 'sdnext',
    clock: deps.clock,
  });

  let timer: NodeJS.Timeout | null = null;
  let running: Promise<unknown> = Promise.resolve();
  const unsubscribe = deps.events.subscribe('jobs', (message) => {
    const event = message as JobEvent;
    if (event?.change !== 'succeeded' || !LIBRARY_CHANGES.has(event.job?.kind)) return;
    matcher.invalidate();
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      running = running
        .then(() => matcher.rematch())
        .catch((error: unknown) => logger.warn({ err: error }, 're-matching recipe LoRAs failed; the next library change retries'));
    }, REMATCH_DELAY_MS);
    timer.unref();
  });

  return {
    services: { recipes, recipeUse, recipeMatcher: matcher, recipeCivitai },
    repository,
    async stop() {
      unsubscribe();
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
