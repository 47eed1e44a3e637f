import type { Adapter } from '@lora-manager/contract';
import { sql, type Kysely } from 'kysely';
import type { DialectHelpers } from '../../db/dialect.ts';
import type { AdapterSearchTable, AdapterTable, AdapterTagTable, DB } from '../../db/tables.ts';
import { normaliseTags, tagKey } from '../../lib/tags.ts';
import { userFieldBit, userFieldMask, userFieldsOf } from '../../lib/user-fields.ts';
import { AdapterListingRepository, type AdapterDb, type AdapterListOptions, type FacetCount } from './adapter-listing.repository.ts';
import { chunks, defaults, insertManyBulk, searchText, toRow, type AdapterFields, type NewAdapter } from './adapter-rows.ts';

export type { AdapterFields, NewAdapter } from './adapter-rows.ts';
export type { AdapterFilter, AdapterListOptions, FacetCount } from './adapter-listing.repository.ts';

/** The catalogue's writes (inserts, edits, tags, flags, deletes); its reads are delegated to AdapterListingRepository. */
export class AdapterRepository {
  private readonly listing: AdapterListingRepository;

  constructor(
    private readonly db: AdapterDb,
    private readonly dialect: DialectHelpers,
  ) {
    this.listing = new AdapterListingRepository(db, dialect);
  }

  transaction<T>(fn: (repo: AdapterRepository) => Promise<T>): Promise<T> {
    if (this.db.isTransaction) return fn(this);
    return (this.db as Kysely<DB>).transaction().execute((trx) => fn(new AdapterRepository(trx, this.dialect)));
  }

  findById(id: string): Promise<Adapter | undefined> {
    return this.listing.findById(id);
  }

  /** Adapters with these ids, in the order given; unknown ids are left out. */
  findByIds(ids: readonly string[]): Promise<Adapter[]> {
    return this.listing.findByIds(ids);
  }

  count(): Promise<number> {
    return this.listing.count();
  }

  list(options: AdapterListOptions): Promise<{ items: Adapter[]; filtered: number }> {
    return this.listing.list(options);
  }

  listActive(): Promise<Adapter[]> {
    return this.listing.listActive();
  }

  tagCounts(): Promise<Array<{ tag: string; count: number }>> {
    return this.listing.tagCounts();
  }

  facets(): Promise<{ base_models: FacetCount[]; network_types: FacetCount[]; missing: number }> {
    return this.listing.facets();
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
      const tags = await this.listing.tagsFor(chunk);
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

  /** The user's NSFW level on many adapters: the field becomes theirs (a scan or CivitAI never changes it again). */
  async setNsfwLevel(ids: readonly string[], level: number, updatedAt: string): Promise<string[]> {
    const found: string[] = [];
    const mask = userFieldMask(['nsfw_level']);
    for (const chunk of chunks(ids, 500)) {
      const rows = await this.db
        .updateTable('adapter')
        .set({ nsfw_level: level, updated_at: updatedAt, user_field_mask: sql`user_field_mask | ${mask}` })
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

  private async visibleTags(id: string): Promise<string[]> {
    return (await this.listing.tagsFor([id])).get(id) ?? [];
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
