import { sql, type Kysely } from 'kysely';
import { escapeLike } from '../../db/dialect.ts';
import type { DB, DeliveryJobTable, GenerationImageTable } from '../../db/tables.ts';
import { selectDeliveryWithJob, type DeliveryWithJob } from './delivery-with-job.query.ts';

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

/** Generation results: the history listing, their images, ratings, favourites and deletion. */
export class GenerationResultRepository {
  constructor(private readonly db: Kysely<DB>) {}

  async listResults(filter: ResultFilter): Promise<{ rows: DeliveryWithJob[]; total: number }> {
    let q = selectDeliveryWithJob(this.db).where('d.kind', '=', 'generation').where('j.status', 'in', filter.statuses);
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
}
