import { sql, type Kysely, type Transaction } from 'kysely';
import { escapeLike } from '../../db/dialect.ts';
import type { DB, RecipeLoraTable, RecipeTable } from '../../db/tables.ts';

type Db = Kysely<DB> | Transaction<DB>;

export interface RecipeFilter {
  search?: string;
  tagKey?: string;
  adapterId?: string;
  loraName?: string;
  baseModel?: string;
  missing?: boolean;
  favoritesOnly?: boolean;
  sort: 'newest' | 'oldest' | 'name' | 'name_desc' | 'rating' | 'updated';
  limit: number;
  offset: number;
}

/** A recipe LoRA row with the matched adapter's name and base model (null while missing). */
export type RecipeLoraRow = RecipeLoraTable & { adapter_name: string | null; adapter_base_model: string | null };

/** The adapter facts matching needs, for every catalogued file that is present. */
export interface CatalogueEntry {
  id: string;
  name: string;
  file_path: string;
  sha256: string | null;
  autov2: string | null;
  autov3: string | null;
  base_model: string | null;
  /** kohya's `ss_output_name`, from the stored training metadata. */
  alias: string | null;
}

function toCatalogueEntry({ training, ...row }: Omit<CatalogueEntry, 'alias'> & { training: string | null }): CatalogueEntry {
  return { ...row, alias: outputNameOf(training) };
}

/** `outputName` of a stored TrainingInfo (lib/training-metadata.ts); null when absent or unreadable. */
function outputNameOf(training: string | null): string | null {
  if (!training) return null;
  try {
    const value: unknown = (JSON.parse(training) as { outputName?: unknown }).outputName;
    return typeof value === 'string' && value.trim() !== '' ? value : null;
  } catch {
    return null;
  }
}

/** Recipes, their LoRAs and tag index. */
export class RecipeRepository {
  constructor(private readonly db: Db) {}

  transaction<T>(fn: (repo: RecipeRepository) => Promise<T>): Promise<T> {
    if (this.db.isTransaction) return fn(this);
    return (this.db as Kysely<DB>).transaction().execute((trx) => fn(new RecipeRepository(trx)));
  }

  async insert(recipe: RecipeTable, loras: readonly RecipeLoraTable[], tagKeys: readonly string[]): Promise<void> {
    await this.transaction(async (repo) => {
      await repo.db.insertInto('recipe').values(recipe).execute();
      await repo.writeChildren(recipe.id, loras, tagKeys);
    });
  }

  /** Change columns; `loras` / `tagKeys`, when given, replace the recipe's lists. */
  async update(id: string, changes: Partial<RecipeTable>, loras?: readonly RecipeLoraTable[], tagKeys?: readonly string[]): Promise<boolean> {
    return this.transaction(async (repo) => {
      const result = await repo.db.updateTable('recipe').set(changes).where('id', '=', id).executeTakeFirst();
      if (result.numUpdatedRows === 0n) return false;
      if (loras) await repo.db.deleteFrom('recipe_lora').where('recipe_id', '=', id).execute();
      if (tagKeys) await repo.db.deleteFrom('recipe_tag').where('recipe_id', '=', id).execute();
      await repo.writeChildren(id, loras ?? [], tagKeys ?? []);
      return true;
    });
  }

  private async writeChildren(id: string, loras: readonly RecipeLoraTable[], tagKeys: readonly string[]): Promise<void> {
    if (loras.length > 0) await this.db.insertInto('recipe_lora').values(loras.map((l) => ({ ...l, recipe_id: id }))).execute();
    const keys = [...new Set(tagKeys)];
    if (keys.length > 0) await this.db.insertInto('recipe_tag').values(keys.map((tag_key) => ({ recipe_id: id, tag_key }))).execute();
  }

  async findById(id: string): Promise<RecipeTable | undefined> {
    return this.db.selectFrom('recipe').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async findByIds(ids: readonly string[]): Promise<RecipeTable[]> {
    if (ids.length === 0) return [];
    return this.db.selectFrom('recipe').selectAll().where('id', 'in', [...ids]).execute();
  }

  async lorasFor(ids: readonly string[]): Promise<Map<string, RecipeLoraRow[]>> {
    const map = new Map<string, RecipeLoraRow[]>();
    if (ids.length === 0) return map;
    const rows = await this.db
      .selectFrom('recipe_lora as l')
      .leftJoin('adapter as a', 'a.id', 'l.adapter_id')
      .selectAll('l')
      .select(['a.name as adapter_name', 'a.base_model as adapter_base_model'])
      .where('l.recipe_id', 'in', [...ids])
      .orderBy('l.recipe_id')
      .orderBy('l.position')
      .execute();
    for (const row of rows) map.set(row.recipe_id, [...(map.get(row.recipe_id) ?? []), row]);
    return map;
  }

  async list(filter: RecipeFilter): Promise<{ rows: RecipeTable[]; total: number }> {
    let q = this.db.selectFrom('recipe as r');
    if (filter.search) q = q.where(sql<boolean>`r.search_text like ${`%${escapeLike(filter.search.toLowerCase())}%`} escape ${'\\'}`);
    if (filter.tagKey) {
      const key = filter.tagKey;
      q = q.where((eb) => eb.exists(eb.selectFrom('recipe_tag as t').select('t.recipe_id').whereRef('t.recipe_id', '=', 'r.id').where('t.tag_key', '=', key)));
    }
    if (filter.adapterId) {
      const adapterId = filter.adapterId;
      q = q.where((eb) => eb.exists(eb.selectFrom('recipe_lora as l').select('l.recipe_id').whereRef('l.recipe_id', '=', 'r.id').where('l.adapter_id', '=', adapterId)));
    }
    if (filter.loraName) {
      const name = filter.loraName.toLowerCase();
      q = q.where((eb) =>
        eb.exists(eb.selectFrom('recipe_lora as l').select('l.recipe_id').whereRef('l.recipe_id', '=', 'r.id').where(sql<boolean>`lower(l.name) = ${name}`)),
      );
    }
    if (filter.baseModel) q = q.where('r.base_model', '=', filter.baseModel);
    if (filter.missing === true) q = q.where('r.missing_count', '>', 0);
    if (filter.missing === false) q = q.where('r.missing_count', '=', 0);
    if (filter.favoritesOnly) q = q.where('r.favorite', '=', 1);
    const count = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();

    let page = q.selectAll('r');
    switch (filter.sort) {
      case 'name':
      case 'name_desc':
        page = page.orderBy('r.name_key', filter.sort === 'name' ? 'asc' : 'desc');
        break;
      case 'rating':
        page = page.orderBy(sql`coalesce(r.rating, -1)`, 'desc');
        break;
      case 'updated':
        page = page.orderBy('r.updated_at', 'desc');
        break;
    }
    const oldest = filter.sort === 'oldest';
    const rows = await page
      .orderBy('r.created_at', oldest ? 'asc' : 'desc')
      .orderBy('r.id', oldest ? 'asc' : 'desc')
      .limit(filter.limit)
      .offset(filter.offset)
      .execute();
    return { rows, total: Number(count.n) };
  }

  async delete(ids: readonly string[]): Promise<RecipeTable[]> {
    if (ids.length === 0) return [];
    return this.transaction(async (repo) => {
      const rows = await repo.findByIds(ids);
      if (rows.length > 0) await repo.db.deleteFrom('recipe').where('id', 'in', rows.map((r) => r.id)).execute();
      return rows;
    });
  }

  async idsWithFingerprint(fingerprint: string): Promise<string[]> {
    const rows = await this.db.selectFrom('recipe').select('id').where('fingerprint', '=', fingerprint).orderBy('created_at').execute();
    return rows.map((r) => r.id);
  }

  async idsWithFingerprints(fingerprints: readonly string[]): Promise<Map<string, string[]>> {
    const map = new Map<string, string[]>();
    if (fingerprints.length === 0) return map;
    const rows = await this.db.selectFrom('recipe').select(['id', 'fingerprint']).where('fingerprint', 'in', [...new Set(fingerprints)]).orderBy('created_at').execute();
    for (const r of rows) map.set(r.fingerprint, [...(map.get(r.fingerprint) ?? []), r.id]);
    return map;
  }

  /** Fingerprints shared by more than one recipe (only recipes with LoRAs: an empty combination is no duplicate). */
  async duplicateGroups(): Promise<Array<{ fingerprint: string; ids: string[] }>> {
    const shared = this.db.selectFrom('recipe').select('fingerprint').where('lora_count', '>', 0).groupBy('fingerprint').having((eb) => eb.fn.countAll(), '>', 1);
    const rows = await this.db.selectFrom('recipe').select(['id', 'fingerprint']).where('fingerprint', 'in', shared).orderBy('fingerprint').orderBy('created_at').execute();
    const groups = new Map<string, string[]>();
    for (const r of rows) groups.set(r.fingerprint, [...(groups.get(r.fingerprint) ?? []), r.id]);
    return [...groups].map(([fingerprint, ids]) => ({ fingerprint, ids }));
  }

  /** LoRA rows without an adapter, oldest recipes first. */
  async unmatchedLoras(limit: number): Promise<Array<Pick<RecipeLoraTable, 'recipe_id' | 'position' | 'name' | 'hash'>>> {
    return this.db.selectFrom('recipe_lora').select(['recipe_id', 'position', 'name', 'hash']).where('adapter_id', 'is', null).limit(limit).execute();
  }

  /**
   * Missing LoRAs with a hash CivitAI has not been asked about (of these recipes, or of all), at most `limit`. A LoRA
   * whose source already named its CivitAI model needs no lookup.
   */
  async lorasForCivitai(recipeIds: readonly string[] | null, limit: number): Promise<Array<Pick<RecipeLoraTable, 'recipe_id' | 'position' | 'hash'>>> {
    let query = this.db
      .selectFrom('recipe_lora')
      .select(['recipe_id', 'position', 'hash'])
      .where('adapter_id', 'is', null)
      .where('hash', 'is not', null)
      .where('civitai_checked_at', 'is', null)
      .where('civitai_model_id', 'is', null);
    if (recipeIds) {
      if (recipeIds.length === 0) return [];
      query = query.where('recipe_id', 'in', [...recipeIds]);
    }
    return query.orderBy('recipe_id').orderBy('position').limit(limit).execute();
  }

  /** What CivitAI said of these LoRAs (found or not), in one transaction. */
  async setCivitaiFacts(
    facts: ReadonlyArray<{ recipe_id: string; position: number; civitai_model_id: number | null; civitai_version_id: number | null; civitai_name: string | null }>,
    checkedAt: string,
  ): Promise<void> {
    if (facts.length === 0) return;
    await this.transaction(async (repo) => {
      for (const f of facts) {
        const found = f.civitai_model_id !== null;
        await repo.db
          .updateTable('recipe_lora')
          .set({
            civitai_checked_at: checkedAt,
            ...(found ? { civitai_model_id: f.civitai_model_id, civitai_version_id: f.civitai_version_id, civitai_name: f.civitai_name } : {}),
          })
          .where('recipe_id', '=', f.recipe_id)
          .where('position', '=', f.position)
          .execute();
      }
    });
  }

  /** Record matches, then recount the recipes' missing LoRAs and base model, in one transaction. */
  async setMatches(matches: ReadonlyArray<{ recipe_id: string; position: number; adapter_id: string; match_kind: string }>, now: string): Promise<void> {
    if (matches.length === 0) return;
    await this.transaction(async (repo) => {
      for (const m of matches) {
        await repo.db
          .updateTable('recipe_lora')
          .set({ adapter_id: m.adapter_id, match_kind: m.match_kind })
          .where('recipe_id', '=', m.recipe_id)
          .where('position', '=', m.position)
          .execute();
      }
      await repo.recount([...new Set(matches.map((m) => m.recipe_id))], now);
    });
  }

  /** missing_count from the LoRA rows; base_model from the first matched adapter when the recipe has none. */
  async recount(ids: readonly string[], now: string): Promise<void> {
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      await this.db
        .updateTable('recipe')
        .set({
          missing_count: sql<number>`(select count(*) from recipe_lora l where l.recipe_id = recipe.id and l.adapter_id is null)`,
          base_model: sql<string | null>`coalesce(recipe.base_model, (select a.base_model from recipe_lora l join adapter a on a.id = l.adapter_id where l.recipe_id = recipe.id and a.base_model is not null order by l.position limit 1))`,
          updated_at: now,
        })
        .where('id', 'in', chunk)
        .execute();
    }
  }

  /** Recipes whose LoRA rows point at no adapter but whose count says complete (an adapter was deleted). */
  async staleCounts(): Promise<string[]> {
    const rows = await this.db
      .selectFrom('recipe as r')
      .select('r.id')
      .where((eb) => eb('r.missing_count', '<', eb.selectFrom('recipe_lora as l').select((e) => e.fn.countAll<number>().as('n')).whereRef('l.recipe_id', '=', 'r.id').where('l.adapter_id', 'is', null)))
      .execute();
    return rows.map((r) => r.id);
  }

  /** Every present catalogued adapter with the facts matching uses (hashed ones first, so a hash wins a name tie). */
  async catalogue(): Promise<CatalogueEntry[]> {
    const rows = await this.catalogueQuery()
      .where('adapter.missing', '=', 0)
      .orderBy(sql`case when adapter.sha256 is null then 1 else 0 end`)
      .orderBy('adapter.name_key')
      .execute();
    return rows.map(toCatalogueEntry);
  }

  async catalogueByIds(ids: readonly string[]): Promise<CatalogueEntry[]> {
    if (ids.length === 0) return [];
    return (await this.catalogueQuery().where('adapter.id', 'in', [...ids]).execute()).map(toCatalogueEntry);
  }

  private catalogueQuery() {
    return this.db
      .selectFrom('adapter')
      .leftJoin('adapter_metadata', 'adapter_metadata.adapter_id', 'adapter.id')
      .select(['adapter.id', 'adapter.name', 'adapter.file_path', 'adapter.sha256', 'adapter.autov2', 'adapter.autov3', 'adapter.base_model', 'adapter_metadata.training']);
  }

  /** Present adapters that still lack a SHA-256 (hash matching cannot see them yet), at most `limit`. */
  async unhashedAdapterIds(limit: number): Promise<string[]> {
    const rows = await this.db.selectFrom('adapter').select('id').where('missing', '=', 0).where('sha256', 'is', null).limit(limit).execute();
    return rows.map((r) => r.id);
  }

  async allIds(): Promise<string[]> {
    return (await this.db.selectFrom('recipe').select('id').orderBy('created_at').execute()).map((r) => r.id);
  }
}
