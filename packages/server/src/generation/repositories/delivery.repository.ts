import { sql, type Kysely } from 'kysely';
import { escapeLike } from '../../db/dialect.ts';
import type { DB, DeliveryAdapterTable, DeliveryJobTable } from '../../db/tables.ts';
import { ACTIVE_JOB_STATUSES } from '../../lib/job-statuses.ts';
import { selectDeliveryWithJob, type DeliveryWithJob } from './delivery-with-job.query.ts';

export type { DeliveryWithJob } from './delivery-with-job.query.ts';

/** What a caller decides about a new delivery or generation; `newRow` fills in the rest. */
export type NewDelivery = Pick<DeliveryJobTable, 'id' | 'kind' | 'mode' | 'prompt' | 'params' | 'created_at'> &
  Partial<Pick<DeliveryJobTable, 'backend' | 'negative_prompt' | 'width' | 'height' | 'steps' | 'cfg_scale' | 'sampler_name' | 'seed' | 'recipe_id'>>;

/** Deliveries and generations as queued work: their rows, the adapters they used, and the active list. */
export class DeliveryRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** A whole `delivery_job` row: no images, rating or favourite yet; `prompt_key` is the prompt lower-cased for search. */
  newRow(fields: NewDelivery): DeliveryJobTable {
    return {
      backend: null,
      negative_prompt: null,
      width: null,
      height: null,
      steps: null,
      cfg_scale: null,
      sampler_name: null,
      seed: null,
      ...fields,
      prompt_key: fields.prompt.toLowerCase(),
      image_count: 0,
      generation_info: null,
      rating: null,
      is_favorite: 0,
      rating_updated_at: null,
      favorite_updated_at: null,
    };
  }

  async insert(fields: NewDelivery, adapters: readonly DeliveryAdapterTable[]): Promise<void> {
    const row = this.newRow(fields);
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

  async findById(id: string): Promise<DeliveryWithJob | undefined> {
    return selectDeliveryWithJob(this.db).where('d.id', '=', id).executeTakeFirst();
  }

  async findByIds(ids: readonly string[]): Promise<DeliveryWithJob[]> {
    if (ids.length === 0) return [];
    const rows = await selectDeliveryWithJob(this.db).where('d.id', 'in', [...ids]).execute();
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.flatMap((id) => byId.get(id) ?? []);
  }

  /** Pending, running and retrying jobs, most recently started or created first (the original's order). */
  async listActive(limit: number): Promise<DeliveryWithJob[]> {
    return selectDeliveryWithJob(this.db)
      .where('j.status', 'in', [...ACTIVE_JOB_STATUSES])
      .orderBy(sql`coalesce(j.started_at, j.created_at)`, 'desc')
      .orderBy('j.created_at', 'desc')
      .orderBy('d.id', 'desc')
      .limit(limit)
      .execute();
  }

  async adaptersFor(ids: readonly string[]): Promise<Map<string, DeliveryAdapterTable[]>> {
    const map = new Map<string, DeliveryAdapterTable[]>();
    if (ids.length === 0) return map;
    const rows = await this.db.selectFrom('delivery_adapter').selectAll().where('job_id', 'in', [...ids]).orderBy('job_id').orderBy('position').execute();
    for (const row of rows) map.set(row.job_id, [...(map.get(row.job_id) ?? []), row]);
    return map;
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
