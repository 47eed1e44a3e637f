import type { Adapter, AdapterSortKey } from '@lora-manager/contract';
import { sql, type Kysely, type SelectQueryBuilder, type Transaction } from 'kysely';
import type { BulkWriter } from '../db/bulk-writer.ts';
import type { DialectHelpers } from '../db/dialect.ts';
import type { AdapterSearchTable, AdapterTable, AdapterTagTable, DB } from '../db/tables.ts';
import { normaliseTags, tagKey } from '../lib/tags.ts';
import { userFieldBit, userFieldMask, userFieldsOf } from '../lib/user-fields.ts';

/** The fields callers write, in their API types (booleans, lists, objects); the repository owns the storage form. */
export type AdapterFields = Omit<Adapter, 'id' | 'tags' | 'created_at' | 'updated_at'>;
export type NewAdapter = Partial<AdapterFields> & Pick<Adapter, 'name' | 'file_path'> & {
  id: string;
  created_at: string;
  updated_at: string;
};

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
}

export interface AdapterListOptions extends AdapterFilter {
  sort: AdapterSortKey;
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
};

const BOOLEAN_FIELDS = ['active', 'supports_generation', 'missing', 'favorite'] as const;
const LIST_FIELDS = ['trained_words', 'triggers'] as const;
const OBJECT_FIELDS = ['stats', 'extra'] as const;

type AdapterDb = Kysely<DB> | Transaction<DB>;

/** Above this many matches a page is found by walking the sort index rather than sorting the matches. */
const BROAD_MATCH = 2000;

/** The tag keys an adapter must match: one group of alternatives ("any"), or each key on its own ("all"). */
function tagGroups(f: AdapterFilter): string[][] {
  const keys = f.tagKeys ?? [];
  return f.tagMode === 'all' ? keys.map((k) => [k]) : [keys];
}

function hasColumnFilters(f: AdapterFilter): boolean {
  return Boolean(f.activeOnly || f.favoritesOnly || f.missing !== undefined || f.baseModel || f.networkType || f.minRating !== undefined);
}

export class AdapterRepository {
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
  transaction<T>(fn: (repo: AdapterRepository) => Promise<T>): Promise<T> {
    if (this.db.isTransaction) return fn(this);
    return (this.db as Kysely<DB>).transaction().execute((trx) => fn(new AdapterRepository(trx, this.dialect)));
  }

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

  async existsWithNameVersion(name: string, version: string | null): Promise<boolean> {
    let q = this.db.selectFrom('adapter').select('id').where('name', '=', name);
    q = version === null ? q.where('version', 'is', null) : q.where('version', '=', version);
    return (await q.limit(1).executeTakeFirst()) !== undefined;
  }

  /** Insert one adapter; `userFields` are the fields its creator set (a scan then leaves them alone). */
  async insert(input: NewAdapter, tags: readonly string[] = [], userFields: readonly string[] = []): Promise<void> {
    const clean = normaliseTags(tags);
    const row = { ...defaults(), ...toRow(input), id: input.id, created_at: input.created_at, updated_at: input.updated_at, user_field_mask: userFieldMask(userFields) } as AdapterTable;
    await this.db.insertInto('adapter').values(row).execute();
    await this.writeTags(input.id, clean.map((tag, position) => ({ tag, origin: 'user' as const, position })));
    await this.db.insertInto('adapter_search').values({ adapter_id: input.id, text: searchText(row, clean) }).execute();
  }

  /**
   * Insert many adapters in a few multi-row statements (a library scan adds thousands at once). `sourceTags` are
   * tags a file or CivitAI supplied.
   */
  async insertMany(items: ReadonlyArray<{ adapter: NewAdapter; sourceTags: readonly string[] }>): Promise<void> {
    if (items.length === 0) return;
    const bulk = this.db.isTransaction ? this.dialect.bulk : undefined;
    if (bulk) return insertManyBulk(bulk, items);
    const rows = items.map(({ adapter }) => ({ ...defaults(), ...toRow(adapter), id: adapter.id, created_at: adapter.created_at, updated_at: adapter.updated_at }) as AdapterTable);
    const tagRows: AdapterTagTable[] = [];
    const search: AdapterSearchTable[] = [];
    items.forEach(({ adapter, sourceTags }, i) => {
      const clean = normaliseTags(sourceTags);
      clean.forEach((tag, position) => tagRows.push({ adapter_id: adapter.id, tag, tag_key: tagKey(tag), origin: 'source', position }));
      search.push({ adapter_id: adapter.id, text: searchText(rows[i], clean) });
    });
    // About 60 columns a row: 200 rows stay well inside SQLite's and PostgreSQL's bound-parameter limits.
    for (const chunk of chunks(rows, 200)) await this.db.insertInto('adapter').values(chunk).execute();
    for (const chunk of chunks(tagRows, 1000)) await this.db.insertInto('adapter_tag').values(chunk).execute();
    for (const chunk of chunks(search, 1000)) await this.db.insertInto('adapter_search').values(chunk).execute();
  }

  /** Different changes to many adapters (one statement each, in the caller's transaction), then their search text. */
  async updateMany(updates: ReadonlyArray<{ id: string; changes: Partial<AdapterFields> & { updated_at: string; name?: string } }>): Promise<void> {
    for (const { id, changes } of updates) {
      const values = toRow(changes);
      if (Object.keys(values).length === 0) continue;
      await this.db.updateTable('adapter').set(values).where('id', '=', id).execute();
    }
    await this.refreshSearchText(updates.map((u) => u.id));
  }

  /**
   * A scan's or CivitAI's changes to many adapters (one statement each, in the caller's transaction). A field the user
   * set (its bit in user_field_mask) keeps its value: the test is in the UPDATE itself, so an edit committed after
   * the caller read the row, even mid-scan, still wins, on SQLite and PostgreSQL alike (PostgreSQL re-evaluates it on
   * the row version it waited for).
   */
  async updateFromSources(updates: ReadonlyArray<{ id: string; changes: Partial<AdapterFields> & { updated_at: string; name?: string } }>): Promise<void> {
    for (const { id, changes } of updates) {
      const values = toRow(changes) as Record<string, unknown>;
      for (const column of Object.keys(values)) {
        const bit = userFieldBit(column === 'name_key' ? 'name' : column);
        if (bit !== undefined) values[column] = sql`case when (user_field_mask & ${bit}) = 0 then ${values[column]} else ${sql.ref(column)} end`;
      }
      if (Object.keys(values).length === 0) continue;
      await this.db.updateTable('adapter').set(values).where('id', '=', id).execute();
    }
    await this.refreshSearchText(updates.map((u) => u.id));
  }

  /** Which of these file paths some adapter already has (an indexed lookup per 500 paths). */
  async cataloguedPaths(paths: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (const chunk of chunks(paths, 500)) {
      for (const r of await this.db.selectFrom('adapter').select('file_path').where('file_path', 'in', chunk).execute()) out.add(r.file_path);
    }
    return out;
  }

  /** The fields a user set on each of these adapters (ids without any are left out), in name order. */
  async userFields(ids: readonly string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    for (const chunk of chunks(ids, 500)) {
      const rows = await this.db.selectFrom('adapter').select(['id', 'user_field_mask']).where('id', 'in', chunk).where('user_field_mask', '!=', 0).execute();
      for (const r of rows) out.set(r.id, [...userFieldsOf(r.user_field_mask)].sort());
    }
    return out;
  }

  /** Library facts of every catalogued file: what a rescan compares the disk against. */
  async libraryIndex(): Promise<
    Array<Pick<AdapterTable, 'id' | 'file_path' | 'file_size' | 'file_mtime' | 'missing' | 'library_root' | 'relative_path' | 'hash_status' | 'sha256' | 'user_field_mask'>>
  > {
    const rows = await this.db
      .selectFrom('adapter')
      .select(['id', 'file_path', 'file_size', 'file_mtime', 'missing', 'library_root', 'relative_path', 'hash_status', 'sha256', 'user_field_mask'])
      .execute();
    return rows.map((r) => ({ ...r, file_size: r.file_size === null ? null : Number(r.file_size), user_field_mask: Number(r.user_field_mask) }));
  }

  async setMissing(ids: readonly string[], missing: boolean, updatedAt: string): Promise<void> {
    for (const chunk of chunks(ids, 500)) {
      await this.db.updateTable('adapter').set({ missing: missing ? 1 : 0, updated_at: updatedAt }).where('id', 'in', chunk).execute();
    }
  }

  /**
   * Add tags a file or CivitAI supplied, as `source` tags after the existing ones. A tag the adapter already has, in
   * any origin, is left alone: a user's own tag stays the user's, and one the user removed stays removed.
   */
  async addSourceTags(entries: ReadonlyArray<{ id: string; tags: readonly string[] }>): Promise<void> {
    const wanted = entries.filter((e) => e.tags.length > 0);
    if (wanted.length === 0) return;
    const existing = new Map<string, { keys: Set<string>; next: number }>();
    for (const chunk of chunks(wanted.map((e) => e.id), 500)) {
      const rows = await this.db.selectFrom('adapter_tag').select(['adapter_id', 'tag_key', 'position']).where('adapter_id', 'in', chunk).execute();
      for (const r of rows) {
        const entry = existing.get(r.adapter_id) ?? { keys: new Set<string>(), next: 0 };
        entry.keys.add(r.tag_key);
        entry.next = Math.max(entry.next, r.position + 1);
        existing.set(r.adapter_id, entry);
      }
    }
    const rows: AdapterTagTable[] = [];
    const changed: string[] = [];
    for (const { id, tags } of wanted) {
      const entry = existing.get(id) ?? { keys: new Set<string>(), next: 0 };
      let added = false;
      for (const tag of normaliseTags(tags)) {
        const key = tagKey(tag);
        if (entry.keys.has(key)) continue;
        entry.keys.add(key);
        rows.push({ adapter_id: id, tag, tag_key: key, origin: 'source', position: entry.next++ });
        added = true;
      }
      if (added) changed.push(id);
    }
    for (const chunk of chunks(rows, 1000)) await this.db.insertInto('adapter_tag').values(chunk).execute();
    await this.refreshSearchText(changed);
  }

  /** Rebuild the search text of these adapters from their rows and visible tags. */
  async refreshSearchText(ids: readonly string[]): Promise<void> {
    const unique = [...new Set(ids)];
    for (const chunk of chunks(unique, 500)) {
      const rows = await this.db
        .selectFrom('adapter')
        .select(['id', 'name', 'description', 'trained_words', 'triggers'])
        .where('id', 'in', chunk)
        .execute();
      const tags = await this.tagsFor(chunk);
      await this.db.deleteFrom('adapter_search').where('adapter_id', 'in', chunk).execute();
      if (rows.length > 0) {
        await this.db
          .insertInto('adapter_search')
          .values(rows.map((r) => ({ adapter_id: r.id, text: searchText(r, tags.get(r.id) ?? []) })))
          .execute();
      }
    }
  }

  async idsWithHashStatus(statuses: readonly string[]): Promise<string[]> {
    const rows = await this.db.selectFrom('adapter').select('id').where('hash_status', 'in', [...statuses]).where('missing', '=', 0).orderBy('file_path').execute();
    return rows.map((r) => r.id);
  }

  /** Hashed, present adapters CivitAI was never asked about or could not be reached for (and, if asked, the not-found). */
  async idsForCivitai(retryNotFound: boolean): Promise<string[]> {
    const statuses = retryNotFound ? ['unreachable', 'not_found'] : ['unreachable'];
    const rows = await this.db
      .selectFrom('adapter')
      .select('id')
      .where('missing', '=', 0)
      .where((eb) => eb.or([eb('sha256', 'is not', null), eb('autov3', 'is not', null)]))
      .where((eb) => eb.or([eb('civitai_status', 'is', null), eb('civitai_status', 'in', statuses)]))
      .orderBy('file_path')
      .execute();
    return rows.map((r) => r.id);
  }

  async countByRoot(): Promise<Map<string, number>> {
    const rows = await this.db
      .selectFrom('adapter')
      .select(['library_root', (eb) => eb.fn.countAll<number>().as('n')])
      .where('library_root', 'is not', null)
      .groupBy('library_root')
      .execute();
    return new Map(rows.map((r) => [r.library_root as string, Number(r.n)]));
  }

  /** Totals for the library status: adapters, missing ones, and hash states. */
  async libraryCounts(): Promise<{ total: number; missing: number; hash: { pending: number; hashing: number; done: number; error: number } }> {
    const rows = await this.db
      .selectFrom('adapter')
      .select(['missing', 'hash_status', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy(['missing', 'hash_status'])
      .execute();
    const out = { total: 0, missing: 0, hash: { pending: 0, hashing: 0, done: 0, error: 0 } };
    for (const r of rows) {
      const n = Number(r.n);
      out.total += n;
      if (r.missing === 1) out.missing += n;
      const status = r.hash_status as keyof typeof out.hash | null;
      if (status && status in out.hash) out.hash[status] += n;
    }
    return out;
  }

  async findBySha256(sha256: string): Promise<Adapter[]> {
    const rows = await this.db.selectFrom('adapter').select('id').where('sha256', '=', sha256).execute();
    return this.findByIds(rows.map((r) => r.id));
  }

  async hasUserTags(id: string): Promise<boolean> {
    const row = await this.db.selectFrom('adapter_tag').select('tag_key').where('adapter_id', '=', id).where('origin', '=', 'user').limit(1).executeTakeFirst();
    return row !== undefined;
  }

  /** Adapters grouped by equal SHA-256, largest groups first. */
  async duplicateHashes(): Promise<Array<{ sha256: string; ids: string[] }>> {
    const groups = await this.db
      .selectFrom('adapter')
      .select(['sha256', (eb) => eb.fn.countAll<number>().as('n')])
      .where('sha256', 'is not', null)
      .groupBy('sha256')
      .having((eb) => eb.fn.countAll(), '>', 1)
      .execute();
    if (groups.length === 0) return [];
    const hashes = groups.map((g) => g.sha256 as string);
    const members: Array<{ id: string; sha256: string | null }> = [];
    for (const chunk of chunks(hashes, 500)) {
      members.push(...(await this.db.selectFrom('adapter').select(['id', 'sha256']).where('sha256', 'in', chunk).orderBy('file_path').execute()));
    }
    const byHash = new Map<string, string[]>();
    for (const m of members) byHash.set(m.sha256!, [...(byHash.get(m.sha256!) ?? []), m.id]);
    return [...byHash].map(([sha256, ids]) => ({ sha256, ids })).sort((a, b) => b.ids.length - a.ids.length || (a.sha256 < b.sha256 ? -1 : 1));
  }

  /**
   * Change fields of one adapter; `userTags`, when given, becomes the adapter's visible tag list. `userFields` become
   * the user's (added to the mask in the same statement, so no scan can write between the edit and its claim). Only
   * the changed columns are written: a full row read before would put back what a scan committed meanwhile.
   */
  async update(id: string, changes: Partial<AdapterFields> & { updated_at?: string }, userTags?: readonly string[], userFields: readonly string[] = []): Promise<boolean> {
    const values = toRow(changes) as Record<string, unknown>;
    const mask = userFieldMask(userFields);
    if (mask !== 0) values.user_field_mask = sql`user_field_mask | ${mask}`;
    if (Object.keys(values).length > 0) {
      const result = await this.db.updateTable('adapter').set(values).where('id', '=', id).executeTakeFirst();
      if (result.numUpdatedRows === 0n) return false;
    }
    const row = await this.db.selectFrom('adapter').select(['name', 'description', 'trained_words', 'triggers']).where('id', '=', id).executeTakeFirst();
    if (!row) return false;
    if (userTags !== undefined) await this.setUserTags(id, userTags);
    await this.writeSearchText(id, searchText(row, await this.visibleTags(id)));
    return true;
  }

  /** Set one column to one value on many adapters. Returns the ids that exist. */
  async setFlag(ids: readonly string[], field: 'active' | 'favorite', value: boolean, updatedAt: string): Promise<string[]> {
    const found: string[] = [];
    for (const chunk of chunks(ids, 500)) {
      const rows = await this.db
        .updateTable('adapter')
        .set({ [field]: value ? 1 : 0, updated_at: updatedAt })
        .where('id', 'in', chunk)
        .returning('id')
        .execute();
      found.push(...rows.map((r) => r.id));
    }
    return found;
  }

  async setActive(id: string, active: boolean, ordinal: number | undefined, updatedAt: string): Promise<boolean> {
    const values: Partial<AdapterTable> = { active: active ? 1 : 0, updated_at: updatedAt };
    if (ordinal !== undefined) values.ordinal = ordinal;
    const result = await this.db.updateTable('adapter').set(values).where('id', '=', id).executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async deleteByIds(ids: readonly string[]): Promise<string[]> {
    const deleted: string[] = [];
    for (const chunk of chunks(ids, 500)) {
      // The FTS5 search table has no foreign key to cascade from.
      await this.db.deleteFrom('adapter_search').where('adapter_id', 'in', chunk).execute();
      const rows = await this.db.deleteFrom('adapter').where('id', 'in', chunk).returning('id').execute();
      deleted.push(...rows.map((r) => r.id));
    }
    return deleted;
  }

  /** Add tags the user chose to each adapter (a source tag the user had removed comes back). */
  async addTags(ids: readonly string[], tags: readonly string[], updatedAt: string): Promise<string[]> {
    return this.editTags(ids, updatedAt, (current) => [...current.map((t) => t.tag), ...tags]);
  }

  async removeTags(ids: readonly string[], tags: readonly string[], updatedAt: string): Promise<string[]> {
    const drop = new Set(tags.map(tagKey));
    return this.editTags(ids, updatedAt, (current) => current.map((t) => t.tag).filter((t) => !drop.has(tagKey(t))));
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
    // Ties break on name then id in the same direction as the key, so one index serves both directions.
    const dir = options.order;
    const column = SORT_COLUMNS[options.sort];
    const nulls = this.dialect.name === 'postgres' ? (dir === 'desc' ? ' nulls last' : ' nulls first') : '';
    const ordered = <O extends { id: string }>(q: SelectQueryBuilder<DB, 'adapter', O>) => {
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
    const ids = await ordered(this.filtered(options, filtered > BROAD_MATCH).select('id')).execute();
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

  private async tagsFor(ids: readonly string[]): Promise<Map<string, string[]>> {
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

  private async visibleTags(id: string): Promise<string[]> {
    return (await this.tagsFor([id])).get(id) ?? [];
  }

  private async writeSearchText(id: string, text: string): Promise<void> {
    await this.db.deleteFrom('adapter_search').where('adapter_id', '=', id).execute();
    await this.db.insertInto('adapter_search').values({ adapter_id: id, text }).execute();
  }

  private async tagRows(id: string): Promise<Pick<AdapterTagTable, 'tag' | 'tag_key' | 'origin' | 'position'>[]> {
    return this.db
      .selectFrom('adapter_tag')
      .select(['tag', 'tag_key', 'origin', 'position'])
      .where('adapter_id', '=', id)
      .orderBy('position')
      .execute();
  }

  /**
   * Make `tags` the visible list. Source tags the list drops are remembered as `removed` so a rescan does not
   * bring them back; a tag that was a source tag stays one.
   */
  private async setUserTags(id: string, tags: readonly string[]): Promise<void> {
    const existing = new Map((await this.tagRows(id)).map((r) => [r.tag_key, r]));
    const wanted = normaliseTags(tags);
    const wantedKeys = new Set(wanted.map(tagKey));
    const next: Array<Pick<AdapterTagTable, 'tag' | 'origin' | 'position'>> = wanted.map((tag, position) => {
      const origin = existing.get(tagKey(tag))?.origin;
      return { tag, position, origin: origin === 'source' || origin === 'removed' ? 'source' : 'user' };
    });
    for (const [key, row] of existing) {
      if (!wantedKeys.has(key) && row.origin !== 'user') next.push({ tag: row.tag, origin: 'removed', position: next.length });
    }
    await this.db.deleteFrom('adapter_tag').where('adapter_id', '=', id).execute();
    await this.writeTags(id, next);
  }

  private async editTags(
    ids: readonly string[],
    updatedAt: string,
    edit: (visible: Array<{ tag: string }>) => string[],
  ): Promise<string[]> {
    const found: string[] = [];
    for (const id of ids) {
      const visible = (await this.tagRows(id)).filter((r) => r.origin !== 'removed');
      if (!(await this.update(id, { updated_at: updatedAt }, edit(visible)))) continue;
      found.push(id);
    }
    return found;
  }

  private async writeTags(id: string, tags: Array<Pick<AdapterTagTable, 'tag' | 'origin' | 'position'>>): Promise<void> {
    if (tags.length === 0) return;
    await this.db
      .insertInto('adapter_tag')
      .values(tags.map((t) => ({ adapter_id: id, tag: t.tag, tag_key: tagKey(t.tag), origin: t.origin, position: t.position })))
      .execute();
  }
}

/**
 * `insertMany` on SQLite: each row's values are built straight into one array in column order and run through
 * prepared statements kept for the scan, without the per-row objects (defaults, storage form) the general path
 * spreads. Stores exactly what that path stores.
 */
function insertManyBulk(bulk: BulkWriter, items: ReadonlyArray<{ adapter: NewAdapter; sourceTags: readonly string[] }>): void {
  const insertAdapter = bulk.inserter('adapter', ADAPTER_COLUMNS);
  const insertTag = bulk.inserter('adapter_tag', ['adapter_id', 'tag', 'tag_key', 'origin', 'position']);
  const insertSearch = bulk.inserter('adapter_search', ['adapter_id', 'text']);
  const values = new Array<unknown>(ADAPTER_COLUMNS.length);
  const tag: unknown[] = [null, null, null, 'source', 0];
  const search: unknown[] = [null, null];
  for (const { adapter, sourceTags } of items) {
    storedAdapter(adapter, values);
    insertAdapter(values);
    const clean = normaliseTags(sourceTags);
    tag[0] = adapter.id;
    for (let position = 0; position < clean.length; position++) {
      tag[1] = clean[position];
      tag[2] = tagKey(clean[position]);
      tag[4] = position;
      insertTag(tag);
    }
    search[0] = adapter.id;
    search[1] = joinSearchText(values[NAME] as string, values[DESCRIPTION] as string | null, clean, stringsOf(adapter.trained_words), stringsOf(adapter.triggers));
    insertSearch(search);
  }
}

/** Every adapter column: the key columns, then those `defaults()` fills. */
const ADAPTER_COLUMNS: readonly string[] = ['id', 'name', 'name_key', 'file_path', 'created_at', 'updated_at', ...Object.keys(defaults())];
const ADAPTER_DEFAULTS: readonly unknown[] = ADAPTER_COLUMNS.map((c) => (defaults() as Record<string, unknown>)[c] ?? null);
const COLUMN_INDEX = new Map(ADAPTER_COLUMNS.map((c, i) => [c, i]));
const NAME = ADAPTER_COLUMNS.indexOf('name');
const NAME_KEY = ADAPTER_COLUMNS.indexOf('name_key');
const DESCRIPTION = ADAPTER_COLUMNS.indexOf('description');

/**
 * A new adapter's stored row into `values`, in ADAPTER_COLUMNS order: what `{ ...defaults(), ...toRow(adapter) }`
 * holds, without building those objects. Only the keys the adapter has are visited (a scanned file sets about half).
 */
function storedAdapter(adapter: NewAdapter, values: unknown[]): void {
  for (let i = 0; i < ADAPTER_DEFAULTS.length; i++) values[i] = ADAPTER_DEFAULTS[i];
  const fields = adapter as unknown as Record<string, unknown>;
  for (const key in fields) {
    const value = fields[key];
    if (value === undefined) continue;
    const i = COLUMN_INDEX.get(key);
    if (i !== undefined) values[i] = storedValue(key, value);
  }
  if (typeof adapter.name === 'string') values[NAME_KEY] = adapter.name.toLowerCase();
}

/** Columns whose API value is stored in another form: booleans as 0/1, lists and objects as JSON. */
const STORAGE_FORM = new Map<string, (value: unknown) => unknown>([
  ...BOOLEAN_FIELDS.map((k) => [k, (v: unknown) => (v ? 1 : 0)] as const),
  ...LIST_FIELDS.map((k) => [k, (v: unknown) => JSON.stringify(v ?? [])] as const),
  ...OBJECT_FIELDS.map((k) => [k, (v: unknown) => (v === null ? null : JSON.stringify(v))] as const),
]);

/** A field's value as its column stores it (`toRow` and the bulk insert). */
function storedValue(key: string, value: unknown): unknown {
  const form = STORAGE_FORM.get(key);
  return form ? form(value) : value;
}

function* chunks<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

function defaults(): Omit<AdapterTable, 'id' | 'name' | 'name_key' | 'file_path' | 'created_at' | 'updated_at'> {
  return {
    version: null,
    canonical_version_name: null,
    description: null,
    author_username: null,
    visibility: 'Public',
    published_at: null,
    trained_words: '[]',
    triggers: '[]',
    weight: 1,
    active: 0,
    ordinal: null,
    archetype: null,
    archetype_confidence: null,
    primary_file_name: null,
    primary_file_size_kb: null,
    primary_file_sha256: null,
    primary_file_download_url: null,
    primary_file_local_path: null,
    supports_generation: 0,
    sd_version: null,
    nsfw_level: 0,
    activation_text: null,
    stats: null,
    extra: null,
    json_file_path: null,
    json_file_mtime: null,
    json_file_size: null,
    last_ingested_at: null,
    library_root: null,
    relative_path: null,
    file_size: null,
    file_mtime: null,
    sha256: null,
    autov1: null,
    autov2: null,
    autov3: null,
    hash_status: null,
    base_model: null,
    network_type: null,
    rank: null,
    alpha: null,
    resolution: null,
    preview_path: null,
    negative_text: null,
    preferred_weight: null,
    civitai_model_id: null,
    civitai_version_id: null,
    civitai_status: null,
    missing: 0,
    favorite: 0,
    rating: null,
    notes: null,
    user_field_mask: 0,
  };
}

/** API-typed fields → storage form. Only keys present in `fields` are returned. */
function toRow(fields: Partial<AdapterFields> & { updated_at?: string; name?: string }): Partial<AdapterTable> {
  const row: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined) row[key] = storedValue(key, value);
  }
  if (typeof fields.name === 'string') row.name_key = fields.name.toLowerCase();
  return row as Partial<AdapterTable>;
}

/**
 * A row as the API's Adapter. Spelled out field by field rather than spread: every adapter then has one object shape
 * with fast properties, and copying 58 columns by spread cost about 30 µs a row (most of a page's time).
 */
function toAdapter(row: AdapterTable, tags: string[]): Adapter {
  return {
    id: row.id,
    name: row.name,
    version: row.version,
    canonical_version_name: row.canonical_version_name,
    description: row.description,
    author_username: row.author_username,
    visibility: row.visibility,
    published_at: row.published_at,
    trained_words: parseList(row.trained_words),
    triggers: parseList(row.triggers),
    file_path: row.file_path,
    weight: Number(row.weight),
    active: row.active === 1,
    ordinal: row.ordinal,
    archetype: row.archetype,
    archetype_confidence: row.archetype_confidence,
    primary_file_name: row.primary_file_name,
    primary_file_size_kb: numberOrNull(row.primary_file_size_kb),
    primary_file_sha256: row.primary_file_sha256,
    primary_file_download_url: row.primary_file_download_url,
    primary_file_local_path: row.primary_file_local_path,
    supports_generation: row.supports_generation === 1,
    sd_version: row.sd_version,
    nsfw_level: row.nsfw_level,
    activation_text: row.activation_text,
    stats: parseObject(row.stats),
    extra: parseObject(row.extra),
    json_file_path: row.json_file_path,
    json_file_mtime: row.json_file_mtime,
    json_file_size: numberOrNull(row.json_file_size),
    last_ingested_at: row.last_ingested_at,
    created_at: row.created_at,
    updated_at: row.updated_at,
    library_root: row.library_root,
    relative_path: row.relative_path,
    file_size: numberOrNull(row.file_size),
    file_mtime: row.file_mtime,
    sha256: row.sha256,
    autov1: row.autov1,
    autov2: row.autov2,
    autov3: row.autov3,
    hash_status: row.hash_status,
    base_model: row.base_model,
    network_type: row.network_type,
    rank: row.rank,
    alpha: row.alpha,
    resolution: row.resolution,
    preview_path: row.preview_path,
    negative_text: row.negative_text,
    preferred_weight: row.preferred_weight,
    civitai_model_id: numberOrNull(row.civitai_model_id),
    civitai_version_id: numberOrNull(row.civitai_version_id),
    civitai_status: row.civitai_status,
    missing: row.missing === 1,
    favorite: row.favorite === 1,
    rating: row.rating,
    notes: row.notes,
    tags,
  };
}

function numberOrNull(value: number | null): number | null {
  return value === null ? null : Number(value);
}

function searchText(row: Pick<AdapterTable, 'name' | 'description' | 'trained_words' | 'triggers'>, tags: readonly string[]): string {
  return joinSearchText(row.name, row.description, tags, parseList(row.trained_words), parseList(row.triggers));
}

function joinSearchText(name: string, description: string | null, tags: readonly string[], trainedWords: readonly string[], triggers: readonly string[]): string {
  return [name, description ?? '', ...tags, ...trainedWords, ...triggers].join('\n').toLowerCase();
}

/** The strings of a list field as storing and reading it back yields them (`parseList` of its JSON). */
function stringsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function parseList(text: string | null): string[] {
  if (!text) return [];
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  } catch {
    return [];
  }
}

function parseObject(text: string | null): Record<string, unknown> | null {
  if (!text) return null;
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
