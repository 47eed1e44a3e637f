import { TERMINAL_JOB_STATUSES, type Adapter } from '@lora-manager/contract';
import type { Kysely, Transaction } from 'kysely';
import type { DialectHelpers } from '../../db/dialect.ts';
import type {
  RecipeLoraTable,
  RecipeTable,
  AdapterTagTable,
  ArchiveImportTable,
  BackupTable,
  DB,
  DeliveryAdapterTable,
  DeliveryJobTable,
  GenerationImageTable,
  JobTable,
  SettingTable,
  TagOrigin,
} from '../../db/tables.ts';
import { tagKey } from '../../lib/tags.ts';
import { AdapterRepository } from '../../library/repositories/adapter.repository.ts';
import {
  adapterIdsBySha256,
  adapterSizeTotals,
  adapterUserData,
  resultSizeTotals,
  resultUserData,
  setResultUserData,
  type AdapterSizeTotals,
  type AdapterUserData,
  type ResultSizeTotals,
  type ResultUserData,
  type ResultUserDataChanges,
} from './archive-summary.queries.ts';

export interface AdapterSelection {
  ids?: readonly string[];
  tagKeys?: readonly string[];
  tagMode?: 'any' | 'all';
  createdFrom?: string | null;
  createdTo?: string | null;
}

export type TagRow = Pick<AdapterTagTable, 'tag' | 'origin' | 'position'>;

export interface ExistingAdapterKey {
  id: string;
  name: string;
  version: string | null;
  updated_at: string;
  file_path: string;
}

type Db = Kysely<DB> | Transaction<DB>;

/** A generation result as stored: its delivery row, its job row (status, result), its images and the LoRAs it used. */
export interface ResultRows {
  delivery: DeliveryJobTable;
  job: JobTable;
  images: GenerationImageTable[];
  adapters: DeliveryAdapterTable[];
}

// Every column of each table, checked by the compiler against tables.ts, so an archive row is written column by
// column and nothing else in it reaches the SQL.
const DELIVERY_COLUMNS = Object.keys({
  id: 1, kind: 1, mode: 1, backend: 1, prompt: 1, prompt_key: 1, negative_prompt: 1, params: 1, width: 1, height: 1, steps: 1,
  cfg_scale: 1, sampler_name: 1, seed: 1, image_count: 1, generation_info: 1, rating: 1, is_favorite: 1, rating_updated_at: 1,
  favorite_updated_at: 1, created_at: 1, recipe_id: 1,
} satisfies Record<keyof DeliveryJobTable, 1>) as Array<keyof DeliveryJobTable>;
const JOB_COLUMNS = Object.keys({
  id: 1, kind: 1, status: 1, payload: 1, result: 1, error: 1, progress: 1, progress_detail: 1, attempts: 1, max_attempts: 1,
  queue_group: 1, run_after: 1, heartbeat_at: 1, created_at: 1, started_at: 1, finished_at: 1, updated_at: 1,
} satisfies Record<keyof JobTable, 1>) as Array<keyof JobTable>;
const IMAGE_COLUMNS = Object.keys({
  job_id: 1, idx: 1, file: 1, thumbnail: 1, content_type: 1, width: 1, height: 1, bytes: 1, seed: 1, created_at: 1,
} satisfies Record<keyof GenerationImageTable, 1>) as Array<keyof GenerationImageTable>;
const DELIVERY_ADAPTER_COLUMNS = Object.keys({ job_id: 1, position: 1, adapter_id: 1, name: 1, weight: 1 } satisfies Record<
  keyof DeliveryAdapterTable,
  1
>) as Array<keyof DeliveryAdapterTable>;

const RECIPE_COLUMNS = Object.keys({
  id: 1, name: 1, name_key: 1, search_text: 1, prompt: 1, negative_prompt: 1, params: 1, extra: 1, source: 1, base_model: 1,
  preview_file: 1, preview_type: 1, favorite: 1, rating: 1, nsfw_level: 1, notes: 1, tags: 1, fingerprint: 1, lora_count: 1,
  missing_count: 1, source_result_id: 1, created_at: 1, updated_at: 1,
} satisfies Record<keyof RecipeTable, 1>) as Array<keyof RecipeTable>;
const RECIPE_LORA_COLUMNS = Object.keys({
  recipe_id: 1, position: 1, name: 1, weight: 1, clip_weight: 1, hash: 1, adapter_id: 1, match_kind: 1, civitai_model_id: 1, civitai_version_id: 1,
  civitai_name: 1, civitai_checked_at: 1,
} satisfies Record<keyof RecipeLoraTable, 1>) as Array<keyof RecipeLoraTable>;

/** A recipe as an archive carries it (recipes.json): its row, its LoRA rows and its tag keys. */
export interface ArchivedRecipe {
  recipe: RecipeTable;
  loras: RecipeLoraTable[];
  tag_keys: string[];
}

function pick<T>(row: Record<string, unknown>, columns: ReadonlyArray<keyof T>): T {
  return Object.fromEntries(columns.map((c) => [c, row[c as string] ?? null])) as T;
}

/** Everything one import writes, bound to one transaction. */
export interface ArchiveUnitOfWork {
  adapters: AdapterRepository;
  archive: ArchiveRepository;
}

/** SQL for export selection, exact tag rows, settings, backups and committed imports. */
export class ArchiveRepository {
  constructor(
    private readonly db: Db,
    private readonly dialect: DialectHelpers,
  ) {}

  /** Run `fn` in one transaction with both repositories bound to it. */
  transaction<T>(fn: (uow: ArchiveUnitOfWork) => Promise<T>): Promise<T> {
    return (this.db as Kysely<DB>)
      .transaction()
      .execute((trx) => fn({ adapters: new AdapterRepository(trx, this.dialect), archive: new ArchiveRepository(trx, this.dialect) }));
  }

  /** Ids of the adapters a selection names, by name then id. Filters combine with AND. */
  async selectAdapterIds(selection: AdapterSelection): Promise<string[]> {
    let q = this.db.selectFrom('adapter').select('id');
    if (selection.ids) {
      if (selection.ids.length === 0) return [];
      const wanted = [...new Set(selection.ids)];
      // Large selections go in chunks; the rest of the filter is applied per chunk.
      if (wanted.length > 500) {
        const out: string[] = [];
        for (let i = 0; i < wanted.length; i += 500) out.push(...(await this.selectAdapterIds({ ...selection, ids: wanted.slice(i, i + 500) })));
        return out;
      }
      q = q.where('id', 'in', wanted);
    }
    if (selection.createdFrom) q = q.where('created_at', '>=', selection.createdFrom);
    if (selection.createdTo) q = q.where('created_at', '<=', selection.createdTo);
    const keys = selection.tagKeys ?? [];
    if (keys.length > 0) {
      const tagged = this.db.selectFrom('adapter_tag').select('adapter_id').where('tag_key', 'in', [...keys]).where('origin', '!=', 'removed');
      q =
        selection.tagMode === 'all' && keys.length > 1
          ? q.where('id', 'in', tagged.groupBy('adapter_id').having((eb) => eb.fn.count('tag_key').distinct(), '=', keys.length))
          : q.where('id', 'in', tagged);
    }
    return (await q.orderBy('name_key').orderBy('id').execute()).map((r) => r.id);
  }

  /** What the catalogue knows about the size of these adapters' files, without touching the disk (export estimates). */
  adapterSizeTotals(ids: readonly string[]): Promise<AdapterSizeTotals> {
    return adapterSizeTotals(this.db, ids);
  }

  /** Finished generations in the range and the bytes of their images, as recorded (export estimates). */
  resultSizeTotals(range: { from?: string | null; to?: string | null }): Promise<ResultSizeTotals> {
    return resultSizeTotals(this.db, range);
  }

  async allAdapterIds(): Promise<string[]> {
    return (await this.db.selectFrom('adapter').select('id').execute()).map((r) => r.id);
  }

  /** Every tag row (user, source and removed ones) of these adapters, in position order. */
  async tagRows(ids: readonly string[]): Promise<Map<string, TagRow[]>> {
    const out = new Map<string, TagRow[]>();
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await this.db
        .selectFrom('adapter_tag')
        .select(['adapter_id', 'tag', 'origin', 'position'])
        .where('adapter_id', 'in', ids.slice(i, i + 500))
        .orderBy('adapter_id')
        .orderBy('position')
        .execute();
      for (const r of rows) {
        const list = out.get(r.adapter_id) ?? [];
        list.push({ tag: r.tag, origin: r.origin as TagOrigin, position: r.position });
        out.set(r.adapter_id, list);
      }
    }
    return out;
  }

  /** Make these exactly the adapter's tag rows (the visible ones must match what the search text was built from). */
  async replaceTagRows(id: string, rows: readonly TagRow[]): Promise<void> {
    await this.db.deleteFrom('adapter_tag').where('adapter_id', '=', id).execute();
    const seen = new Set<string>();
    const values = rows.flatMap((r) => {
      const key = tagKey(r.tag);
      if (!key || seen.has(key)) return [];
      seen.add(key);
      return [{ adapter_id: id, tag: r.tag, tag_key: key, origin: r.origin, position: r.position }];
    });
    if (values.length > 0) await this.db.insertInto('adapter_tag').values(values).execute();
  }

  /** Adapters that share an id or a (name, version) with the given ones. */
  async findExisting(ids: readonly string[], names: readonly string[]): Promise<ExistingAdapterKey[]> {
    const found = new Map<string, ExistingAdapterKey>();
    const columns = ['id', 'name', 'version', 'updated_at', 'file_path'] as const;
    for (let i = 0; i < ids.length; i += 500) {
      for (const r of await this.db.selectFrom('adapter').select(columns).where('id', 'in', ids.slice(i, i + 500)).execute()) found.set(r.id, r);
    }
    const uniqueNames = [...new Set(names)];
    for (let i = 0; i < uniqueNames.length; i += 500) {
      for (const r of await this.db.selectFrom('adapter').select(columns).where('name', 'in', uniqueNames.slice(i, i + 500)).execute()) {
        found.set(r.id, r);
      }
    }
    return [...found.values()];
  }

  /** The adapters as the API shows them (what an archive's adapter documents are compared with). */
  adaptersByIds(ids: readonly string[]): Promise<Adapter[]> {
    return new AdapterRepository(this.db, this.dialect).findByIds(ids);
  }

  // User data (user-data.json): ratings, favourites and notes.

  adapterUserData(ids: readonly string[]): Promise<AdapterUserData[]> {
    return adapterUserData(this.db, ids);
  }

  resultUserData(ids: readonly string[]): Promise<ResultUserData[]> {
    return resultUserData(this.db, ids);
  }

  setResultUserData(id: string, changes: ResultUserDataChanges): Promise<void> {
    return setResultUserData(this.db, id, changes);
  }

  adapterIdsBySha256(hashes: readonly string[]): Promise<Map<string, string>> {
    return adapterIdsBySha256(this.db, hashes);
  }

  async nameVersionTaken(name: string, version: string | null): Promise<boolean> {
    let q = this.db.selectFrom('adapter').select('id').where('name', '=', name);
    q = version === null ? q.where('version', 'is', null) : q.where('version', '=', version);
    return (await q.limit(1).executeTakeFirst()) !== undefined;
  }

  async idTaken(id: string): Promise<boolean> {
    return (await this.db.selectFrom('adapter').select('id').where('id', '=', id).executeTakeFirst()) !== undefined;
  }

  // Settings, read and written as stored text so an archive carries them byte for byte.

  async allRecipes(): Promise<ArchivedRecipe[]> {
    const recipes = await this.db.selectFrom('recipe').selectAll().orderBy('created_at').orderBy('id').execute();
    const loras = await this.db.selectFrom('recipe_lora').selectAll().orderBy('recipe_id').orderBy('position').execute();
    const tags = await this.db.selectFrom('recipe_tag').selectAll().execute();
    const lorasOf = new Map<string, RecipeLoraTable[]>();
    for (const l of loras) lorasOf.set(l.recipe_id, [...(lorasOf.get(l.recipe_id) ?? []), l]);
    const tagsOf = new Map<string, string[]>();
    for (const t of tags) tagsOf.set(t.recipe_id, [...(tagsOf.get(t.recipe_id) ?? []), t.tag_key]);
    return recipes.map((recipe) => ({ recipe, loras: lorasOf.get(recipe.id) ?? [], tag_keys: tagsOf.get(recipe.id) ?? [] }));
  }

  /** Recipes with a preview image: an export carries each file beside recipes.json. */
  async recipePreviews(): Promise<Array<{ id: string; preview_file: string; preview_type: string | null }>> {
    const rows = await this.db.selectFrom('recipe').select(['id', 'preview_file', 'preview_type']).where('preview_file', 'is not', null).orderBy('id').execute();
    return rows.map((r) => ({ id: r.id, preview_file: r.preview_file as string, preview_type: r.preview_type }));
  }

  async existingRecipeIds(ids: readonly string[]): Promise<Set<string>> {
    const existing = new Set<string>();
    for (let i = 0; i < ids.length; i += 500) {
      for (const r of await this.db.selectFrom('recipe').select('id').where('id', 'in', ids.slice(i, i + 500)).execute()) existing.add(r.id);
    }
    return existing;
  }

  /**
   * Add the archive's recipes this database lacks (same id: kept as it is here). Column by column; a LoRA whose
   * adapter is not here is stored unmatched, for the re-match after the import. A recipe keeps its preview only when
   * the import brought the file back (`previews`, by recipe id). Returns how many were added.
   */
  async insertMissingRecipes(
    items: ReadonlyArray<{ recipe: Record<string, unknown>; loras: Array<Record<string, unknown>>; tag_keys: string[] }>,
    previews: ReadonlyMap<string, { file: string; contentType: string | null }> = new Map(),
  ): Promise<number> {
    const existing = await this.existingRecipeIds(items.map((i) => String(i.recipe.id)));
    const adapterIds = [...new Set(items.flatMap((i) => i.loras.map((l) => l.adapter_id)).filter((x): x is string => typeof x === 'string'))];
    const adapters = new Set<string>();
    for (let i = 0; i < adapterIds.length; i += 500) {
      for (const a of await this.db.selectFrom('adapter').select('id').where('id', 'in', adapterIds.slice(i, i + 500)).execute()) adapters.add(a.id);
    }
    let added = 0;
    for (const item of items) {
      const recipe = pick<RecipeTable>(item.recipe, RECIPE_COLUMNS);
      if (existing.has(recipe.id)) continue;
      const preview = previews.get(recipe.id);
      await this.db.insertInto('recipe').values({ ...recipe, preview_file: preview?.file ?? null, preview_type: preview ? (preview.contentType ?? recipe.preview_type) : null }).execute();
      const loras = item.loras.map((l) => {
        const row = pick<RecipeLoraTable>(l, RECIPE_LORA_COLUMNS);
        const known = row.adapter_id !== null && adapters.has(row.adapter_id);
        return { ...row, recipe_id: recipe.id, adapter_id: known ? row.adapter_id : null, match_kind: known ? row.match_kind : null };
      });
      if (loras.length > 0) await this.db.insertInto('recipe_lora').values(loras).execute();
      const keys = [...new Set(item.tag_keys)];
      if (keys.length > 0) await this.db.insertInto('recipe_tag').values(keys.map((tag_key) => ({ recipe_id: recipe.id, tag_key }))).execute();
      const missing = loras.filter((l) => l.adapter_id === null).length;
      if (missing !== recipe.missing_count) await this.db.updateTable('recipe').set({ missing_count: missing }).where('id', '=', recipe.id).execute();
      added++;
    }
    return added;
  }

  async allSettings(): Promise<SettingTable[]> {
    return this.db.selectFrom('setting').selectAll().orderBy('key').execute();
  }

  async putSetting(row: SettingTable): Promise<void> {
    await this.db
      .insertInto('setting')
      .values(row)
      .onConflict((oc) => oc.column('key').doUpdateSet({ value: row.value, updated_at: row.updated_at }))
      .execute();
  }

  // Backups.

  async insertBackup(row: BackupTable): Promise<void> {
    await this.db.insertInto('backup').values(row).execute();
  }

  async updateBackup(id: string, changes: Partial<Omit<BackupTable, 'id'>>): Promise<void> {
    await this.db.updateTable('backup').set(changes).where('id', '=', id).execute();
  }

  async findBackup(id: string): Promise<BackupTable | undefined> {
    return this.db.selectFrom('backup').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async listBackups(trigger?: string): Promise<BackupTable[]> {
    let q = this.db.selectFrom('backup').selectAll();
    if (trigger) q = q.where('trigger', '=', trigger);
    return q.orderBy('created_at', 'desc').orderBy('id', 'desc').execute();
  }

  async deleteBackup(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('backup').where('id', '=', id).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  // Committed imports.

  async insertImport(row: ArchiveImportTable): Promise<void> {
    await this.db.insertInto('archive_import').values(row).execute();
  }

  async findImport(id: string): Promise<ArchiveImportTable | undefined> {
    return this.db.selectFrom('archive_import').selectAll().where('id', '=', id).executeTakeFirst();
  }

  // Generation results.

  /** Finished generations created in the range, oldest first. Running ones are left out: they are still changing. */
  async selectResultIds(range: { from?: string | null; to?: string | null }): Promise<string[]> {
    let q = this.db
      .selectFrom('delivery_job as d')
      .innerJoin('job as j', 'j.id', 'd.id')
      .select('d.id')
      .where('d.kind', '=', 'generation')
      .where('j.status', 'in', [...TERMINAL_JOB_STATUSES]);
    if (range.from) q = q.where('d.created_at', '>=', range.from);
    if (range.to) q = q.where('d.created_at', '<=', range.to);
    return (await q.orderBy('d.created_at').orderBy('d.id').execute()).map((r) => r.id);
  }

  async resultRows(ids: readonly string[]): Promise<ResultRows[]> {
    if (ids.length === 0) return [];
    const list = [...ids];
    const [deliveries, jobs, images, adapters] = await Promise.all([
      this.db.selectFrom('delivery_job').selectAll().where('id', 'in', list).execute(),
      this.db.selectFrom('job').selectAll().where('id', 'in', list).execute(),
      this.db.selectFrom('generation_image').selectAll().where('job_id', 'in', list).orderBy('job_id').orderBy('idx').execute(),
      this.db.selectFrom('delivery_adapter').selectAll().where('job_id', 'in', list).orderBy('job_id').orderBy('position').execute(),
    ]);
    const jobById = new Map(jobs.map((j) => [j.id, j]));
    const byDelivery = new Map(deliveries.map((d) => [d.id, d]));
    return list.flatMap((id) => {
      const delivery = byDelivery.get(id);
      const job = jobById.get(id);
      if (!delivery || !job) return [];
      return [{ delivery, job, images: images.filter((i) => i.job_id === id), adapters: adapters.filter((a) => a.job_id === id) }];
    });
  }

  async existingResultIds(ids: readonly string[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (let i = 0; i < ids.length; i += 500) {
      for (const r of await this.db.selectFrom('delivery_job').select('id').where('id', 'in', ids.slice(i, i + 500)).execute()) found.add(r.id);
      // A job row of another kind with the same id would collide too.
      for (const r of await this.db.selectFrom('job').select('id').where('id', 'in', ids.slice(i, i + 500)).execute()) found.add(r.id);
    }
    return found;
  }

  async existingAdapterIds(ids: readonly string[]): Promise<Set<string>> {
    const found = new Set<string>();
    const unique = [...new Set(ids)];
    for (let i = 0; i < unique.length; i += 500) {
      for (const r of await this.db.selectFrom('adapter').select('id').where('id', 'in', unique.slice(i, i + 500)).execute()) found.add(r.id);
    }
    return found;
  }

  /** Write a result's rows as the archive has them (column by column; unknown fields are dropped). */
  async insertResult(rows: { delivery: Record<string, unknown>; job: Record<string, unknown>; images: Record<string, unknown>[]; adapters: Record<string, unknown>[] }): Promise<void> {
    await this.db.insertInto('job').values(pick<JobTable>(rows.job, JOB_COLUMNS)).execute();
    await this.db.insertInto('delivery_job').values(pick<DeliveryJobTable>(rows.delivery, DELIVERY_COLUMNS)).execute();
    if (rows.images.length > 0) await this.db.insertInto('generation_image').values(rows.images.map((r) => pick<GenerationImageTable>(r, IMAGE_COLUMNS))).execute();
    if (rows.adapters.length > 0) {
      await this.db.insertInto('delivery_adapter').values(rows.adapters.map((r) => pick<DeliveryAdapterTable>(r, DELIVERY_ADAPTER_COLUMNS))).execute();
    }
  }
}
