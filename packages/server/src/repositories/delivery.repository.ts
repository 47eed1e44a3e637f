import { sql, type Kysely } from 'kysely';
import { escapeLike } from '../db/dialect.ts';
import type { DB, DeliveryAdapterTable, DeliveryJobTable, GenerationImageTable, JobTable } from '../db/tables.ts';

/** A delivery row with the status, progress and result of its `job` row (the one truth for status). */
export type DeliveryWithJob = DeliveryJobTable &
  Pick<JobTable, 'status' | 'result' | 'error' | 'progress' | 'progress_detail' | 'attempts' | 'max_attempts' | 'started_at' | 'finished_at'>;

export interface ResultFilter {
  statuses: string[];
  search?: string;
  minRating?: number;
  favoritesOnly?: boolean;
  width?: number;
  height?: number;
  /** Inclusive lower bound (ISO). */
  from?: string;
  /** Exclusive upper bound (ISO). */
  before?: string;
  adapterId?: string;
  sort: 'newest' | 'oldest' | 'prompt' | 'prompt_desc' | 'rating' | 'rating_asc';
  limit: number;
  offset: number;
}

const ACTIVE = ['pending', 'running', 'retrying'];

/** Deliveries, generations, their images and the adapters they used. */
export class DeliveryRepository {
  constructor(private readonly db: Kysely<DB>) {}

  async insert(row: DeliveryJobTable, adapters: readonly DeliveryAdapterTable[]): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('delivery_job').values(row).execute();
      if (adapters.length > 0) await trx.insertInto('delivery_adapter').values([...adapters]).execute();
    });
  }

  /** Remove a delivery whose job could not be queued. */
  async remove(id: string): Promise<void> {
    await this.db.deleteFrom('delivery_job').where('id', '=', id).execute();
  }

  async findRow(id: string): Promise<DeliveryJobTable | undefined> {
    return this.db.selectFrom('delivery_job').selectAll().where('id', '=', id).executeTakeFirst();
  }

  private joined() {
    return this.db
      .selectFrom('delivery_job as d')
      .innerJoin('job as j', 'j.id', 'd.id')
      .selectAll('d')
      .select(['j.status', 'j.result', 'j.error', 'j.progress', 'j.progress_detail', 'j.attempts', 'j.max_attempts', 'j.started_at', 'j.finished_at']);
  }

  async findById(id: string): Promise<DeliveryWithJob | undefined> {
    return this.joined().where('d.id', '=', id).executeTakeFirst();
  }

  async findByIds(ids: readonly string[]): Promise<DeliveryWithJob[]> {
    if (ids.length === 0) return [];
    const rows = await this.joined().where('d.id', 'in', [...ids]).execute();
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.flatMap((id) => byId.get(id) ?? []);
  }

  /** Pending, running and retrying jobs, most recently started or created first (the original's order). */
  async listActive(limit: number): Promise<DeliveryWithJob[]> {
    return this.joined()
      .where('j.status', 'in', ACTIVE)
      .orderBy(sql`coalesce(j.started_at, j.created_at)`, 'desc')
      .orderBy('j.created_at', 'desc')
      .orderBy('d.id', 'desc')
      .limit(limit)
      .execute();
  }

  async listResults(filter: ResultFilter): Promise<{ rows: DeliveryWithJob[]; total: number }> {
    let q = this.joined().where('d.kind', '=', 'generation').where('j.status', 'in', filter.statuses);
    if (filter.search) q = q.where(sql<boolean>`d.prompt_key like ${`%${escapeLike(filter.search.toLowerCase())}%`} escape ${'\\'}`);
    if (filter.minRating !== undefined) q = q.where('d.rating', '>=', filter.minRating);
    if (filter.favoritesOnly) q = q.where('d.is_favorite', '=', 1);
    if (filter.width !== undefined) q = q.where('d.width', '=', filter.width);
    if (filter.height !== undefined) q = q.where('d.height', '=', filter.height);
    if (filter.from) q = q.where('d.created_at', '>=', filter.from);
    if (filter.before) q = q.where('d.created_at', '<', filter.before);
    if (filter.adapterId) {
      const adapterId = filter.adapterId;
      q = q.where((eb) =>
        eb.exists(eb.selectFrom('delivery_adapter as a').select('a.job_id').whereRef('a.job_id', '=', 'd.id').where('a.adapter_id', '=', adapterId)),
      );
    }
    const count = await q
      .clearSelect()
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();

    const newest = filter.sort !== 'oldest';
    switch (filter.sort) {
      case 'prompt':
      case 'prompt_desc':
        q = q.orderBy('d.prompt_key', filter.sort === 'prompt' ? 'asc' : 'desc');
        break;
      case 'rating':
        q = q.orderBy(sql`coalesce(d.rating, -1)`, 'desc');
        break;
      case 'rating_asc':
        q = q.orderBy(sql`coalesce(d.rating, 99)`, 'asc');
        break;
    }
    const rows = await q
      .orderBy('d.created_at', newest ? 'desc' : 'asc')
      .orderBy('d.id', newest ? 'desc' : 'asc')
      .limit(filter.limit)
      .offset(filter.offset)
      .execute();
    return { rows, total: Number(count.n) };
  }

  async imagesFor(ids: readonly string[]): Promise<Map<string, GenerationImageTable[]>> {
    const map = new Map<string, GenerationImageTable[]>();
    if (ids.length === 0) return map;
    const rows = await this.db.selectFrom('generation_image').selectAll().where('job_id', 'in', [...ids]).orderBy('job_id').orderBy('idx').execute();
    for (const row of rows) map.set(row.job_id, [...(map.get(row.job_id) ?? []), row]);
    return map;
  }

  async image(id: string, idx: number): Promise<GenerationImageTable | undefined> {
    return this.db.selectFrom('generation_image').selectAll().where('job_id', '=', id).where('idx', '=', idx).executeTakeFirst();
  }

  async adaptersFor(ids: readonly string[]): Promise<Map<string, DeliveryAdapterTable[]>> {
    const map = new Map<string, DeliveryAdapterTable[]>();
    if (ids.length === 0) return map;
    const rows = await this.db.selectFrom('delivery_adapter').selectAll().where('job_id', 'in', [...ids]).orderBy('job_id').orderBy('position').execute();
    for (const row of rows) map.set(row.job_id, [...(map.get(row.job_id) ?? []), row]);
    return map;
  }

  /** Record a finished generation's images and facts. Replaces what an earlier, interrupted attempt left. */
  async saveGeneration(
    id: string,
    images: readonly GenerationImageTable[],
    facts: Pick<DeliveryJobTable, 'width' | 'height' | 'seed' | 'generation_info'>,
  ): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('generation_image').where('job_id', '=', id).execute();
      if (images.length > 0) await trx.insertInto('generation_image').values([...images]).execute();
      await trx
        .updateTable('delivery_job')
        .set({ ...facts, image_count: images.length })
        .where('id', '=', id)
        .execute();
    });
  }

  async setRating(id: string, rating: number | null, now: string): Promise<boolean> {
    const result = await this.db
      .updateTable('delivery_job')
      .set({ rating, rating_updated_at: rating === null ? null : now })
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async setFavorite(ids: readonly string[], favorite: boolean, now: string): Promise<number> {
    if (ids.length === 0) return 0;
    const result = await this.db
      .updateTable('delivery_job')
      .set({ is_favorite: favorite ? 1 : 0, favorite_updated_at: favorite ? now : null })
      .where('id', 'in', [...ids])
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /** Which of these ids exist as deliveries. */
  async existingIds(ids: readonly string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows = await this.db.selectFrom('delivery_job').select('id').where('id', 'in', [...ids]).execute();
    const found = new Set(rows.map((r) => r.id));
    return ids.filter((id) => found.has(id));
  }

  /**
   * Delete deliveries and their job rows (images and adapter rows cascade). The job row goes too because the
   * history is the only place a user sees a generation; a lone job row would resurface in /jobs.
   */
  async deleteWithJobs(ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    return this.db.transaction().execute(async (trx) => {
      const deleted = await trx.deleteFrom('delivery_job').where('id', 'in', [...ids]).executeTakeFirst();
      await trx.deleteFrom('job').where('id', 'in', [...ids]).execute();
      return Number(deleted.numDeletedRows);
    });
  }

  /** Catalogue ids for LoRA names found in a prompt (exact name first, then case-insensitive, then file stem). */
  async adapterIdsByNames(names: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    if (names.length === 0) return out;
    const keys = [...new Set(names.map((n) => n.toLowerCase()))];
    const rows = await this.db
      .selectFrom('adapter')
      .select(['id', 'name', 'name_key', 'file_path'])
      .where((eb) =>
        eb.or([eb('name_key', 'in', keys), ...keys.map((k) => sql<boolean>`lower(file_path) like ${`%${escapeLike(k)}.%`} escape ${'\\'}`)]),
      )
      .orderBy('created_at')
      .execute();
    for (const name of names) {
      const key = name.toLowerCase();
      const hit =
        rows.find((r) => r.name === name) ??
        rows.find((r) => r.name_key === key) ??
        rows.find((r) => stem(r.file_path).toLowerCase() === key);
      if (hit) out.set(name, hit.id);
    }
    return out;
  }
}

function stem(file: string): string {
  const base = file.split(/[\\/]/).pop() ?? file;
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(0, dot) : base;
}
