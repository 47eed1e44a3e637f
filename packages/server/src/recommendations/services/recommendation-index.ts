import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Clock } from '../../lib/clock.ts';
import { RecommendEngine } from '../../lib/recommend/engine.ts';
import { extractTerms, type TermFeatures } from '../../lib/recommend/features.ts';
import { readStoredFeatures, writeStoredFeatures } from '../../lib/recommend/stored-features.ts';
import type { FeatureRepository, FeatureWrite } from '../repositories/feature.repository.ts';

/** Feature rows parsed at a time while loading: a page's rows and their parsed JSON are garbage soon after. */
const PAGE = 1000;
/** Pages (and catch-up batches) between two releases of SQLite's page cache. */
const RELEASE_EVERY = 10;
/**
 * Adapters whose features are computed and written at a time. Small on purpose: at 2,000 a batch's objects outlived
 * two scavenges and were promoted, and old space grew by about 150 MB during a catch-up of 100,000 adapters.
 */
const STALE_BATCH = 100;

/**
 * Keeps the stored features current and this process's in-memory engine in step with them.
 *
 * Writers (any process: a scan in a worker, a PATCH in an API process) call `refresh(ids)` after their change is
 * committed; it recomputes those adapters' features and stores them under a new value of the `features` counter.
 * Readers call `engine()`, which compares the counter with what this process loaded and reads only the newer rows,
 * so every process is fresh without a rebuild. The first read also catches up adapters that have no features yet
 * (a catalogue from before this feature) or whose features are older than the adapter.
 */
export class RecommendationIndex {
  private readonly index = new RecommendEngine();
  private loadedSeq = -1;
  private caughtUp = false;
  private queue: Promise<unknown> = Promise.resolve();
  /** Calls that found the index current (stats: cache_hit_rate). */
  hits = 0;
  reads = 0;

  constructor(
    private readonly features: FeatureRepository,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** One at a time: loading and writing interleaved from concurrent requests would apply rows out of order. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The engine, current with the database. */
  engine(): Promise<RecommendEngine> {
    return this.serial(async () => {
      if (!this.caughtUp) {
        this.caughtUp = true;
        await this.catchUpUnlocked(false);
      }
      this.reads++;
      const version = await this.features.version();
      if (version === this.loadedSeq) this.hits++;
      else await this.loadSince(this.loadedSeq < 0 ? 0 : this.loadedSeq, version);
      return this.index;
    });
  }

  get loaded(): boolean {
    return this.loadedSeq >= 0;
  }

  get size(): number {
    return this.index.size;
  }

  get vectorBytes(): number {
    return this.index.vectorBytes;
  }

  private async loadSince(from: number, version: number): Promise<void> {
    if (from === 0) {
      let after: string | null = null;
      for (let page = 1; ; page++) {
        const rows = await this.features.all(after, PAGE);
        for (const r of rows) this.apply(r.adapter_id, r.features!);
        if (rows.length < PAGE) break;
        after = rows[rows.length - 1].adapter_id;
        // SQLite reads synchronously: without a turn of the event loop between pages, a server loading 100,000
        // adapters would answer nothing else for seconds.
        await nextTurn();
        // The rows read fill SQLite's page cache; emptied now and then, it never holds more than a few pages' worth.
        if (page % RELEASE_EVERY === 0) await this.features.releaseCache();
      }
      await this.features.releaseCache();
      // The arrays grew in steps while loading; the spare room goes back before anything is asked.
      this.index.trim();
    } else {
      let after: { seq: number; id: string } | null = null;
      for (;;) {
        const rows = await this.features.changedSince(from, after, PAGE);
        for (const r of rows) {
          if (r.features === null) this.index.remove(r.adapter_id);
          else this.apply(r.adapter_id, r.features);
        }
        if (rows.length < PAGE) break;
        const last = rows[rows.length - 1];
        after = { seq: Number(last.seq), id: last.adapter_id };
      }
    }
    this.loadedSeq = version;
  }

  private apply(id: string, json: string): void {
    const { facts, semantic, artistic } = readStoredFeatures(json);
    this.index.upsertTerms(id, facts, semantic, artistic);
  }

  /**
   * Recompute and store the features of these adapters (added, changed, deleted or gone missing). Called after the
   * change is committed; costs one read of the adapters and one write, whatever their number.
   */
  refresh(ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return Promise.resolve(0);
    return this.serial(() =>
      this.refreshUnlocked(ids).catch((error: unknown) => {
        // The change is committed but its features are not: the next read sweeps for stale features.
        this.caughtUp = false;
        throw error;
      }),
    );
  }

  private async refreshUnlocked(ids: readonly string[]): Promise<number> {
    const unique = [...new Set(ids)];
    const sources = await this.features.sources(unique);
    const rows: FeatureWrite[] = [];
    const computed = new Map<string, TermFeatures | null>();
    for (const id of unique) {
      const source = sources.get(id);
      if (!source || source.missing) {
        rows.push({ adapterId: id, features: null, sourceUpdatedAt: source?.updatedAt ?? null });
        computed.set(id, null);
        continue;
      }
      const features = extractTerms(source.facts);
      rows.push({ adapterId: id, features: writeStoredFeatures(features), sourceUpdatedAt: source.updatedAt });
      computed.set(id, features);
    }
    const seq = await this.features.write(rows, this.clock.now().toISOString());
    // Nobody else wrote in between: apply here without reading the rows back. Otherwise the next read catches up.
    if (this.loadedSeq >= 0 && seq === this.loadedSeq + 1) {
      for (const [id, f] of computed) {
        if (f) this.index.upsertTerms(id, f.facts, f.semantic, f.artistic);
        else this.index.remove(id);
      }
      this.loadedSeq = seq;
    }
    return unique.length;
  }

  /** Bring stale features up to date (all of them with `force`); returns how many adapters were recomputed. */
  catchUp(force: boolean): Promise<number> {
    return this.serial(() => this.catchUpUnlocked(force));
  }

  private async catchUpUnlocked(force: boolean): Promise<number> {
    const started = Date.now();
    let total = 0;
    // A catch-up over the whole catalogue reads every adapter and writes every feature row: the page cache is
    // emptied as it goes (see loadSince), and the event loop turns between batches.
    const batch = async (ids: readonly string[]) => {
      total += await this.refreshUnlocked(ids);
      await nextTurn();
      if (total % (STALE_BATCH * RELEASE_EVERY) < ids.length) await this.features.releaseCache();
    };
    if (force) {
      const all = await this.features.allAdapterIds();
      for (let i = 0; i < all.length; i += STALE_BATCH) await batch(all.slice(i, i + STALE_BATCH));
    } else {
      let after: string | null = null;
      do {
        const { ids, last } = await this.features.stale(after, STALE_BATCH);
        if (ids.length > 0) await batch(ids);
        after = last;
      } while (after !== null);
    }
    if (total > 0) await this.features.releaseCache();
    if (total > 0) this.logger.info({ adapters: total, ms: Date.now() - started }, 'recommendation features brought up to date');
    return total;
  }

  /** Forget what is loaded: the next read loads every stored feature row again. */
  reset(): Promise<void> {
    return this.serial(async () => {
      for (const id of [...this.index.ids()]) this.index.remove(id);
      this.loadedSeq = -1;
    });
  }
}
