export interface PageResult<T> {
  items: T[];
  /** How many items match the query in all (the server's `filtered`). */
  filtered: number;
}

export type PageFetcher<T> = (page: number, perPage: number, signal: AbortSignal) => Promise<PageResult<T>>;

export interface PageCacheOptions {
  pageSize?: number;
  /** Pages kept in memory; the ones farthest from what is on screen are dropped first. */
  maxPages?: number;
  /** Page requests in flight at once. */
  concurrency?: number;
  onChange?: () => void;
  onError?: (error: unknown) => void;
}

/**
 * A sparse, position-addressed cache over a paginated list. The view asks for an index range (what is on screen);
 * the cache fetches exactly the pages that cover it, whatever their position, so jumping to the middle of a
 * 10,000-item list loads the middle page instead of everything before it.
 */
export class PageCache<T> {
  readonly pageSize: number;
  private readonly maxPages: number;
  private readonly concurrency: number;
  private pages = new Map<number, T[]>();
  private inFlight = new Map<number, AbortController>();
  private wanted: number[] = [];
  private focus = 0;
  private generation = 0;
  /** null until the first page answers. */
  total: number | null = null;
  error: unknown = null;

  constructor(
    private readonly fetcher: PageFetcher<T>,
    private readonly options: PageCacheOptions = {},
  ) {
    this.pageSize = options.pageSize ?? 100;
    this.maxPages = options.maxPages ?? 40;
    this.concurrency = options.concurrency ?? 3;
  }

  get(index: number): T | undefined {
    const page = this.pages.get(Math.floor(index / this.pageSize));
    return page?.[index % this.pageSize];
  }

  pageOf(index: number): number {
    return Math.floor(index / this.pageSize);
  }

  hasPage(page: number): boolean {
    return this.pages.has(page);
  }

  get loadedPages(): number[] {
    return [...this.pages.keys()].sort((a, b) => a - b);
  }

  get loading(): boolean {
    return this.inFlight.size > 0;
  }

  /** Make sure items [start, end) are loaded or loading; pages wanted earlier but now off screen are not fetched. */
  ensureRange(start: number, end: number): void {
    const last = this.total === null ? this.pageOf(Math.max(start, end - 1)) : Math.min(this.pageOf(Math.max(0, end - 1)), this.pageOf(Math.max(0, this.total - 1)));
    const first = this.pageOf(Math.max(0, start));
    this.focus = first;
    this.wanted = [];
    for (let p = first; p <= last; p += 1) if (!this.pages.has(p)) this.wanted.push(p);
    // Requests for pages that scrolled away are cancelled so a long scrollbar drag does not queue up stale work.
    for (const [page, controller] of this.inFlight) {
      if (page < first - 1 || page > last + 1) {
        controller.abort();
        this.inFlight.delete(page);
      }
    }
    this.pump();
  }

  /** Forget everything (the query changed). In-flight answers of the old query are ignored. */
  reset(): void {
    this.generation += 1;
    for (const controller of this.inFlight.values()) controller.abort();
    this.inFlight.clear();
    this.pages.clear();
    this.staleFallback.clear();
    this.wanted = [];
    this.total = null;
    this.error = null;
    this.options.onChange?.();
  }

  /** Replace one item wherever it is cached (after an edit), without refetching. */
  update(match: (item: T) => boolean, replace: (item: T) => T): void {
    let changed = false;
    for (const items of this.pages.values()) {
      for (let i = 0; i < items.length; i += 1) {
        if (match(items[i])) {
          items[i] = replace(items[i]);
          changed = true;
        }
      }
    }
    if (changed) this.options.onChange?.();
  }

  /** Refetch the cached pages in place (after an edit or a scan); the old rows stay on screen until answers arrive. */
  refresh(): void {
    this.generation += 1;
    for (const controller of this.inFlight.values()) controller.abort();
    this.inFlight.clear();
    const focus = this.focus;
    this.wanted = this.loadedPages.sort((a, b) => Math.abs(a - focus) - Math.abs(b - focus));
    for (const [page, items] of this.pages) this.staleFallback.set(page, items);
    this.pages.clear();
    this.pump();
  }

  private staleFallback = new Map<number, T[]>();

  /** Stale rows shown while a refresh is in flight. */
  getWithFallback(index: number): T | undefined {
    return this.get(index) ?? this.staleFallback.get(this.pageOf(index))?.[index % this.pageSize];
  }

  private pump(): void {
    while (this.inFlight.size < this.concurrency && this.wanted.length > 0) {
      const page = this.wanted.shift() as number;
      if (this.pages.has(page) || this.inFlight.has(page)) continue;
      void this.load(page);
    }
  }

  private async load(page: number): Promise<void> {
    const generation = this.generation;
    const controller = new AbortController();
    this.inFlight.set(page, controller);
    try {
      const result = await this.fetcher(page, this.pageSize, controller.signal);
      if (generation !== this.generation || controller.signal.aborted) return;
      this.pages.set(page, result.items);
      this.staleFallback.delete(page);
      this.total = result.filtered;
      this.error = null;
      this.evict();
    } catch (error) {
      if (generation !== this.generation || controller.signal.aborted) return;
      this.error = error;
      this.options.onError?.(error);
    } finally {
      if (this.inFlight.get(page) === controller) this.inFlight.delete(page);
      if (generation === this.generation) {
        this.options.onChange?.();
        this.pump();
      }
    }
  }

  private evict(): void {
    if (this.pages.size <= this.maxPages) return;
    const byDistance = [...this.pages.keys()].sort((a, b) => Math.abs(b - this.focus) - Math.abs(a - this.focus));
    for (const page of byDistance.slice(0, this.pages.size - this.maxPages)) this.pages.delete(page);
  }
}
