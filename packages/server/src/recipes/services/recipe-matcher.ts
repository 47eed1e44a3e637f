import type { Logger } from 'pino';
import type { JobQueue } from '../../jobs/job-queue.ts';
import { JOB_KINDS } from '../../jobs/job-catalogue.ts';
import type { Clock } from '../../lib/clock.ts';
import { buildMatchIndex, type MatchIndex } from '../../lib/recipes/lora-match.ts';
import type { CatalogueEntry, RecipeRepository } from '../repositories/recipe.repository.ts';
import { fingerprintOf } from './recipe-mapping.ts';

/** An index older than this is rebuilt even without a library event (another process may have scanned). */
const INDEX_TTL_MS = 10_000;
const REMATCH_BATCH = 5_000;
/** One on-demand hash job covers at most this many files; the next import asks for more. */
const MAX_HASH_ON_DEMAND = 10_000;

/**
 * Matches recipe LoRAs to the catalogue and keeps recipes matched as the library changes: the index over every present
 * adapter is built once and reused for a few seconds (an import of many images matches them all against one index),
 * and a finished scan, hash or archive import re-matches the recipes that still miss LoRAs.
 */
export class RecipeMatcher {
  private index: { built: number; value: MatchIndex<CatalogueEntry> } | null = null;
  private building: Promise<MatchIndex<CatalogueEntry>> | null = null;
  private hashRequested = 0;

  constructor(
    private readonly recipes: RecipeRepository,
    private readonly queue: JobQueue,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** Forget the index: the next match sees the catalogue as it is now. */
  invalidate(): void {
    this.index = null;
  }

  async current(): Promise<MatchIndex<CatalogueEntry>> {
    const now = this.clock.now().getTime();
    if (this.index && now - this.index.built < INDEX_TTL_MS) return this.index.value;
    this.building ??= this.recipes
      .catalogue()
      .then((rows) => {
        const value = buildMatchIndex(rows);
        this.index = { built: this.clock.now().getTime(), value };
        return value;
      })
      .finally(() => {
        this.building = null;
      });
    return this.building;
  }

  /**
   * A LoRA came with a hash nothing matched while some files are not hashed yet: queue the library hash job (at most
   * once a minute), whose completion re-matches. Hash matching then finds files whose names differ.
   */
  async hashWhenUseful(unmatchedWithHash: number): Promise<void> {
    if (unmatchedWithHash === 0) return;
    const now = this.clock.now().getTime();
    if (now - this.hashRequested < 60_000) return;
    // Named ids: files registered through the API (not scanned) have no pending hash status a plain hash job would see.
    const ids = await this.recipes.unhashedAdapterIds(MAX_HASH_ON_DEMAND);
    if (ids.length === 0) return;
    this.hashRequested = now;
    await this.queue.enqueue(JOB_KINDS.libraryHash, { adapter_ids: ids });
  }

  /** Match every recipe LoRA that has no adapter yet; recount and re-fingerprint the recipes that changed. */
  async rematch(): Promise<{ recipes: number; matched: number }> {
    this.invalidate();
    const now = this.clock.now().toISOString();
    // Counts left stale by a deleted adapter (its rows were set to null by the foreign key).
    const stale = await this.recipes.staleCounts();
    if (stale.length > 0) await this.recipes.recount(stale, now);
    const rows = await this.recipes.unmatchedLoras(REMATCH_BATCH);
    if (rows.length === 0) return { recipes: 0, matched: 0 };
    const index = await this.current();
    const matches = rows.flatMap((row) => {
      const found = index.match(row);
      return found ? [{ recipe_id: row.recipe_id, position: row.position, adapter_id: found.adapter.id, match_kind: found.kind }] : [];
    });
    await this.recipes.setMatches(matches, now);
    const changed = [...new Set(matches.map((m) => m.recipe_id))];
    const loras = await this.recipes.lorasFor(changed);
    for (const id of changed) await this.recipes.update(id, { fingerprint: fingerprintOf(loras.get(id) ?? []) });
    if (matches.length > 0) this.logger.info({ matched: matches.length, recipes: changed.length }, 'recipe LoRAs matched to new library files');
    return { recipes: changed.length, matched: matches.length };
  }
}
