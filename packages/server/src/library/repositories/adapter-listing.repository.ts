import type { Adapter, AdapterSortKey } from '@lora-manager/contract';
import { sql, type Kysely, type SelectQueryBuilder, type Transaction } from 'kysely';
import { escapeLike, type DialectHelpers } from '../../db/dialect.ts';
import type { AdapterTable, DB } from '../../db/tables.ts';
import { chunks, toAdapter } from './adapter-rows.ts';

/** One value of a filterable column and how many adapters have it. */
export interface FacetCount {
  value: string;
  count: number;
}

export interface AdapterFilter {
  search?: string;
  activeOnly?: boolean;
  tagKeys?: string[];
  tagMode?: 'any' | 'all';
  favoritesOnly?: boolean;
  missing?: boolean;
  baseModel?: string;
  networkType?: string;
  minRating?: number;
  /** true: only adapters no finished generation used; false: only used ones. */
  neverUsed?: boolean;
}

export interface AdapterListOptions extends AdapterFilter {
  /** `relevance` ranks a search's matches (see relevanceRank); without a search it sorts by name. */
  sort: AdapterSortKey | 'relevance';
  order: 'asc' | 'desc';
  limit: number;
  offset: number;
}

/** Sort key → column. `file_size` is the original's `primary_file_size_kb` (the scanner fills it from disk). */
const SORT_COLUMNS: Record<AdapterSortKey, keyof AdapterTable> = {
  name: 'name_key',
  created_at: 'created_at',
  updated_at: 'updated_at',
  file_size: 'primary_file_size_kb',
  rating: 'rating',
  weight: 'weight',
  ordinal: 'ordinal',
  base_model: 'base_model',
  nsfw_level: 'nsfw_level',
  published_at: 'published_at',
  last_ingested_at: 'last_ingested_at',
  use_count: 'use_count',
  last_used_at: 'last_used_at',
};

export type AdapterDb = Kysely<DB> | Transaction<DB>;

/** Above this many matches a page is found by walking the sort index rather than sorting the matches. */
const BROAD_MATCH = 2000;

/**
 * How well an adapter matches a search term, lower is better: the whole name, the start of the name, inside the
 * name, a trigger word, a tag, anything else the search text holds (the description). `term` is lower-cased.
 */
function relevanceRank(term: string, broad: boolean) {
  const like = escapeLike(term);
  const contains = `%${like}%`;
  // Tens of thousands of matches (a one-letter term): rank by the name alone, which costs a third of the full
  // ranking's extra time there; the best matches (exact and prefix names) still come first.
  if (broad) {
    return sql<number>`case when name_key = ${term} then 0 when name_key like ${`${like}%`} escape '\\' then 1 when name_key like ${contains} escape '\\' then 2 else 3 end`;
  }
  return sql<number>`case
    when name_key = ${term} then 0
    when name_key like ${`${like}%`} escape '\\' then 1
    when name_key like ${contains} escape '\\' then 2
    when lower(coalesce(triggers, '') || coalesce(trained_words, '') || coalesce(activation_text, '')) like ${contains} escape '\\' then 3
    when exists (select 1 from adapter_tag t where t.adapter_id = adapter.id and t.origin != 'removed' and t.tag_key like ${contains} escape '\\') then 4
    else 5 end`;
}

/** The tag keys an adapter must match: one group of alternatives ("any"), or each key on its own ("all"). */
function tagGroups(f: AdapterFilter): string[][] {
  const keys = f.tagKeys ?? [];
  return f.tagMode === 'all' ? keys.map((k) => [k]) : [keys];
}

function hasColumnFilters(f: AdapterFilter): boolean {
  return Boolean(f.activeOnly || f.favoritesOnly || f.missing !== undefined || f.baseModel || f.networkType || f.minRating !== undefined || f.neverUsed !== undefined);
}

/**
 * Reading the catalogue: lookups by id, the filtered and sorted page, the active list, tag counts and facets.
 * AdapterRepository (the writes) delegates its reads here, so services keep one repository.
 */
export class AdapterListingRepository {
  /** Counts of the whole catalogue and of single tags, valid while the database's change stamp is unchanged. */
  private counts: { stamp: string; values: Map<string, number> } | null = null;

  constructor(
    private readonly db: AdapterDb,
    private readonly dialect: DialectHelpers,
  ) {}

  /**
   * `compute()`, or its value from the last call with the same key if nothing was written since. Exact, never stale:
   * the stamp moves with every write by this process or another. Without a stamp (PostgreSQL) it always computes.
   */
  private async cachedCount(key: string, compute: () => Promise<number>): Promise<number> {
    if (!this.dialect.changeStamp || this.db.isTransaction) return compute();
    const stamp = await this.dialect.changeStamp(this.db);
    if (this.counts?.stamp !== stamp) this.counts = { stamp, values: new Map() };
    const entry = this.counts;
    const known = entry.values.get(key);
    if (known !== undefined) return known;
    const value = await compute();
    entry.values.set(key, value);
    return value;
  }

  /** Run `fn` in one transaction with a repository bound to it. */

  async findById(id: string): Promise<Adapter | undefined> {
    const [adapter] = await this.findByIds([id]);
    return adapter;
  }

  /** Adapters with these ids, in the order given; unknown ids are left out. */
  async findByIds(ids: readonly string[]): Promise<Adapter[]> {
    if (ids.length === 0) return [];
    const rows: AdapterTable[] = [];
    for (const chunk of chunks(ids, 500)) {
      rows.push(...(await this.db.selectFrom('adapter').selectAll().where('id', 'in', chunk).execute()));
    }
    const byId = new Map(rows.map((r) => [r.id, r]));
    const tags = await this.tagsFor(rows.map((r) => r.id));
    return ids.flatMap((id) => {
      const row = byId.get(id);
      return row ? [toAdapter(row, tags.get(id) ?? [])] : [];
    });
  }

  async count(): Promise<number> {
    return this.cachedCount('all', async () => {
      const row = await this.db.selectFrom('adapter').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      return Number(row.n);
    });
  }

  /**
   * One page of adapters plus the filtered count, all in SQL. The page is found on ids first (the sort indexes cover
   * key, name_key and id, so deep offsets walk an index, not rows) and only its rows are read whole.
   */
  async list(options: AdapterListOptions): Promise<{ items: Adapter[]; filtered: number }> {
    const term = options.search?.trim().toLowerCase();
    const relevance = options.sort === 'relevance' && !!term;
    const sort: AdapterSortKey = options.sort === 'relevance' ? 'name' : options.sort;
    // Ties break on name then id in the same direction as the key, so one index serves both directions.
    const dir = relevance ? 'asc' : options.order;
    const column = SORT_COLUMNS[sort];
    const nulls = this.dialect.name === 'postgres' ? (dir === 'desc' ? ' nulls last' : ' nulls first') : '';
    const ordered = <O extends { id: string }>(q: SelectQueryBuilder<DB, 'adapter', O>, broad = false) => {
      // Best match first; a search's matches are few enough (the search table narrowed them) to rank them all.
      if (relevance) return q.orderBy(relevanceRank(term, broad)).orderBy('name_key', 'asc').orderBy('id', 'asc').limit(options.limit).offset(options.offset);
      let page = q.orderBy(sql.raw(`${column} ${dir}${nulls}`));
      if (column !== 'name_key') page = page.orderBy('name_key', dir);
      return page.orderBy('id', dir).limit(options.limit).offset(options.offset);
    };

    // A tag filter that cannot match many adapters: the page and the count in one query (a window count over the
    // few matches) instead of evaluating the filter twice.
    // In "all" mode the matches are usually far fewer than the smallest tag has, so a looser bound still pays.
    const bound = options.search?.trim() ? null : await this.tagMatchBound(options);
    if (bound !== null && bound <= (options.tagMode === 'all' ? 5 * BROAD_MATCH : BROAD_MATCH)) {
      const rows = await ordered(this.filtered(options, false).select(['id', sql<number>`count(*) over ()`.as('total')])).execute();
      if (rows.length > 0) return { items: await this.findByIds(rows.map((r) => r.id)), filtered: Number(rows[0].total) };
      // An empty page says nothing about the count (no matches, or a page past the end): counted below.
    }

    const filtered = await this.countFiltered(options);
    if (filtered === 0 || options.offset >= filtered) return { items: [], filtered };
    // A broad match is fastest found by walking the sort index and testing membership; a narrow one by sorting the
    // few matching rows. SQLite always drives from the id list unless told otherwise, hence the choice here.
    const ids = await ordered(this.filtered(options, !relevance && filtered > BROAD_MATCH).select('id'), filtered > BROAD_MATCH).execute();
    return { items: await this.findByIds(ids.map((r) => r.id)), filtered };
  }

  /**
   * At most how many adapters the tag filter can match, from the tag index alone (a key's rows are counted, not
   * read): the smallest key's count in "all" mode, the sum in "any" mode. Null without a tag filter.
   */
  private async tagMatchBound(f: AdapterFilter): Promise<number | null> {
    const keys = f.tagKeys ?? [];
    if (keys.length === 0) return null;
    const counts = await Promise.all(
      keys.map((key) =>
        this.cachedCount(`tag:${key}`, async () => {
          const row = await this.db
            .selectFrom('adapter_tag')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('tag_key', '=', key)
            .where('origin', '!=', 'removed')
            .executeTakeFirstOrThrow();
          return Number(row.n);
        }),
      ),
    );
    return f.tagMode === 'all' ? Math.min(...counts) : counts.reduce((a, b) => a + b, 0);
  }

  /** Ids of the active adapters in composition order: ordinal (null as 0), then name. */
  async listActive(): Promise<Adapter[]> {
    const rows = await this.db
      .selectFrom('adapter')
      .selectAll()
      .where('active', '=', 1)
      .orderBy(sql`coalesce(ordinal, 0)`)
      .orderBy('name')
      .execute();
    const tags = await this.tagsFor(rows.map((r) => r.id));
    return rows.map((r) => toAdapter(r, tags.get(r.id) ?? []));
  }

  /** Every distinct visible tag spelling with how many adapters carry it. */
  async tagCounts(): Promise<Array<{ tag: string; count: number }>> {
    const rows = await this.db
      .selectFrom('adapter_tag')
      .select(['tag', (eb) => eb.fn.countAll<number>().as('n')])
      .where('origin', '!=', 'removed')
      .groupBy('tag')
      .execute();
    return rows.map((r) => ({ tag: r.tag, count: Number(r.n) }));
  }

  /** Distinct base models and network types with how many adapters have each, and how many files are missing. */
  async facets(): Promise<{ base_models: FacetCount[]; network_types: FacetCount[]; missing: number }> {
    const countBy = async (column: 'base_model' | 'network_type') => {
      const rows = await this.db
        .selectFrom('adapter')
        .select([column, (eb) => eb.fn.countAll<number>().as('n')])
        .where(column, 'is not', null)
        .groupBy(column)
        .orderBy('n', 'desc')
        .orderBy(column)
        .execute();
      return rows.map((r) => ({ value: r[column] as string, count: Number(r.n) }));
    };
    const [base_models, network_types, missing] = await Promise.all([
      countBy('base_model'),
      countBy('network_type'),
      this.db.selectFrom('adapter').select((eb) => eb.fn.countAll<number>().as('n')).where('missing', '=', 1).executeTakeFirstOrThrow(),
    ]);
    return { base_models, network_types, missing: Number(missing.n) };
  }

  /** Count matches, from the narrow search and tag tables alone when no adapter column is filtered. */
  private async countFiltered(f: AdapterFilter): Promise<number> {
    const search = this.searchIds(f);
    const tags = this.tagIds(f);
    if (!hasColumnFilters(f) && !search && !tags) return this.count();
    let q;
    if (hasColumnFilters(f)) {
      q = this.filtered(f, false).select((eb) => eb.fn.countAll<number>().as('n'));
    } else if (search) {
      // The search's matches, each probed for its tags.
      q = this.db.selectFrom(search.as('m')).select((eb) => eb.fn.countAll<number>().as('n'));
      if (tags) for (const group of tagGroups(f)) q = q.where(({ exists }) => exists(this.tagProbe(group, 'm.adapter_id')));
    } else {
      q = this.db.selectFrom(tags!.as('m')).select((eb) => eb.fn.countAll<number>().as('n'));
    }
    return Number((await q.executeTakeFirstOrThrow()).n);
  }

  /** Does the adapter whose id is in `idColumn` carry one of `keys` (a visible tag)? For EXISTS. */
  private tagProbe(keys: readonly string[], idColumn: 'adapter.id' | 'm.adapter_id') {
    return this.db
      .selectFrom('adapter_tag as t')
      .select(sql<number>`1`.as('one'))
      .where('t.adapter_id', '=', sql.ref<string>(idColumn))
      .where('t.tag_key', 'in', keys)
      .where('t.origin', '!=', 'removed');
  }

  /**
   * The adapters matching `f`. With `probeIds` the search/tag id lists are only tested per row (SQLite `+id`), so
   * the planner walks the ORDER BY index instead of sorting every match.
   */
  private filtered(f: AdapterFilter, probeIds: boolean): SelectQueryBuilder<DB, 'adapter', {}> {
    let q = this.db.selectFrom('adapter');
    const search = this.searchIds(f);
    if (search) q = q.where(probeIds && this.dialect.name === 'sqlite' ? sql<string>`+id` : sql<string>`id`, 'in', search);
    const keys = f.tagKeys ?? [];
    if (keys.length > 0 && (probeIds || search)) {
      // Each row is tested with a primary-key probe of its tags when the rows come from elsewhere (the sort index
      // being walked, or the few ids a search matched): far cheaper than building the list of every tagged id.
      for (const group of tagGroups(f)) q = q.where(({ exists }) => exists(this.tagProbe(group, 'adapter.id')));
    } else if (keys.length > 0) {
      q = q.where('id', 'in', this.tagIds(f)!);
    }
    if (f.activeOnly) q = q.where('active', '=', 1);
    if (f.favoritesOnly) q = q.where('favorite', '=', 1);
    if (f.missing !== undefined) q = q.where('missing', '=', f.missing ? 1 : 0);
    if (f.baseModel) q = q.where(sql<boolean>`lower(base_model) = ${f.baseModel.toLowerCase()}`);
    if (f.networkType) q = q.where(sql<boolean>`lower(network_type) = ${f.networkType.toLowerCase()}`);
    if (f.minRating !== undefined) q = q.where('rating', '>=', f.minRating);
    if (f.neverUsed !== undefined) q = q.where('use_count', f.neverUsed ? '=' : '>', 0);
    return q;
  }

  /** The ids the search term matches, from the narrow search table. */
  private searchIds(f: AdapterFilter) {
    const term = f.search?.trim().toLowerCase();
    return term ? this.db.selectFrom('adapter_search').select('adapter_id').where(this.dialect.searchMatches(term)) : null;
  }

  /** The ids the tag filter matches, from the tag index. */
  private tagIds(f: AdapterFilter) {
    const keys = f.tagKeys ?? [];
    if (keys.length === 0) return null;
    // Grouping rather than DISTINCT: the same ids, built faster by SQLite from the (tag_key, origin, adapter_id) index.
    const tagged = this.db.selectFrom('adapter_tag').select('adapter_id').where('tag_key', 'in', keys).where('origin', '!=', 'removed').groupBy('adapter_id');
    return f.tagMode === 'all' && keys.length > 1 ? tagged.having((eb) => eb.fn.count('tag_key').distinct(), '=', keys.length) : tagged;
  }

  /** The visible tags of these adapters, in their order. */
  async tagsFor(ids: readonly string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    for (const chunk of chunks(ids, 500)) {
      const rows = await this.db
        .selectFrom('adapter_tag')
        .select(['adapter_id', 'tag'])
        .where('adapter_id', 'in', chunk)
        .where('origin', '!=', 'removed')
        .orderBy('adapter_id')
        .orderBy('position')
        .execute();
      for (const r of rows) {
        const list = out.get(r.adapter_id);
        if (list) list.push(r.tag);
        else out.set(r.adapter_id, [r.tag]);
      }
    }
    return out;
  }
}
