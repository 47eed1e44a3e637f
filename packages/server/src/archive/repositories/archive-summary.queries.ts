import { TERMINAL_JOB_STATUSES } from '@lora-manager/contract';
import type { Kysely, Transaction } from 'kysely';
import type { DB } from '../../db/tables.ts';

type Db = Kysely<DB> | Transaction<DB>;

/** Read-mostly queries of the archive: recorded sizes for export estimates, and the user data of user-data.json. */

/** Sums over adapter rows; `*Count` say how many rows had the value. */
export interface AdapterSizeTotals {
  adapters: number;
  primaryBytes: number;
  primaryCount: number;
  jsonBytes: number;
  jsonCount: number;
  previewCount: number;
}

export interface AdapterUserData {
  id: string;
  name: string;
  version: string | null;
  sha256: string | null;
  favorite: boolean;
  rating: number | null;
  notes: string | null;
}

export interface ResultSizeTotals {
  results: number;
  images: number;
  imageBytes: number;
}

export interface ResultUserDataChanges {
  rating?: number | null;
  favorite?: boolean;
  rating_updated_at?: string | null;
  favorite_updated_at?: string | null;
}

export interface ResultUserData {
  id: string;
  rating: number | null;
  favorite: boolean;
  rating_updated_at: string | null;
  favorite_updated_at: string | null;
}

/** What the catalogue knows about the size of these adapters' files, without touching the disk (export estimates). */
export async function adapterSizeTotals(db: Db, ids: readonly string[]): Promise<AdapterSizeTotals> {
  const totals: AdapterSizeTotals = { adapters: 0, primaryBytes: 0, primaryCount: 0, jsonBytes: 0, jsonCount: 0, previewCount: 0 };
  for (let i = 0; i < ids.length; i += 500) {
    const row = await db
      .selectFrom('adapter')
      .select((eb) => [
        eb.fn.countAll<number | string>().as('adapters'),
        eb.fn.sum<number | string | null>(eb.fn.coalesce('file_size', eb('primary_file_size_kb', '*', 1024))).as('primary_bytes'),
        eb.fn.count<number | string>(eb.fn.coalesce('file_size', 'primary_file_size_kb')).as('primary_count'),
        eb.fn.sum<number | string | null>('json_file_size').as('json_bytes'),
        eb.fn.count<number | string>('json_file_path').as('json_count'),
        eb.fn.count<number | string>('preview_path').as('preview_count'),
      ])
      .where('id', 'in', ids.slice(i, i + 500))
      .executeTakeFirstOrThrow();
    totals.adapters += Number(row.adapters);
    totals.primaryBytes += Number(row.primary_bytes ?? 0);
    totals.primaryCount += Number(row.primary_count);
    totals.jsonBytes += Number(row.json_bytes ?? 0);
    totals.jsonCount += Number(row.json_count);
    totals.previewCount += Number(row.preview_count);
  }
  return totals;
}

/** Finished generations in the range and the bytes of their images, as recorded (export estimates). */
export async function resultSizeTotals(db: Db, range: { from?: string | null; to?: string | null }): Promise<ResultSizeTotals> {
  let q = db
    .selectFrom('delivery_job as d')
    .innerJoin('job as j', 'j.id', 'd.id')
    .leftJoin('generation_image as g', 'g.job_id', 'd.id')
    .select((eb) => [
      eb.fn.count<number | string>('d.id').distinct().as('results'),
      eb.fn.count<number | string>('g.file').as('images'),
      eb.fn.sum<number | string | null>('g.bytes').as('image_bytes'),
    ])
    .where('d.kind', '=', 'generation')
    .where('j.status', 'in', [...TERMINAL_JOB_STATUSES]);
  if (range.from) q = q.where('d.created_at', '>=', range.from);
  if (range.to) q = q.where('d.created_at', '<=', range.to);
  const row = await q.executeTakeFirstOrThrow();
  return { results: Number(row.results), images: Number(row.images), imageBytes: Number(row.image_bytes ?? 0) };
}

/** These adapters' user fields, only of those with something set, in the given order. */
export async function adapterUserData(db: Db, ids: readonly string[]): Promise<AdapterUserData[]> {
  const out: AdapterUserData[] = [];
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await db
      .selectFrom('adapter')
      .select(['id', 'name', 'version', 'sha256', 'favorite', 'rating', 'notes'])
      .where('id', 'in', ids.slice(i, i + 500))
      .where((eb) => eb.or([eb('favorite', '=', 1), eb('rating', 'is not', null), eb.and([eb('notes', 'is not', null), eb('notes', '!=', '')])]))
      .orderBy('name_key')
      .orderBy('id')
      .execute();
    out.push(...rows.map((r) => ({ ...r, favorite: r.favorite === 1 })));
  }
  return out;
}

/** These results' rating and favourite, only of those with something set. */
export async function resultUserData(db: Db, ids: readonly string[]): Promise<ResultUserData[]> {
  const out: ResultUserData[] = [];
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await db
      .selectFrom('delivery_job')
      .select(['id', 'rating', 'is_favorite', 'rating_updated_at', 'favorite_updated_at'])
      .where('id', 'in', ids.slice(i, i + 500))
      .where((eb) => eb.or([eb('is_favorite', '=', 1), eb('rating', 'is not', null)]))
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    out.push(...rows.map(({ is_favorite, ...r }) => ({ ...r, favorite: is_favorite === 1 })));
  }
  return out;
}

export async function setResultUserData(db: Db, id: string, changes: ResultUserDataChanges): Promise<void> {
  const { favorite, ...rest } = changes;
  await db
    .updateTable('delivery_job')
    .set({ ...rest, ...(favorite === undefined ? {} : { is_favorite: favorite ? 1 : 0 }) })
    .where('id', '=', id)
    .execute();
}

/** Adapter ids by (lower-case) SHA-256 of their file; the first by id where several share one. */
export async function adapterIdsBySha256(db: Db, hashes: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const wanted = [...new Set(hashes.map((h) => h.toLowerCase()))];
  for (let i = 0; i < wanted.length; i += 500) {
    const rows = await db.selectFrom('adapter').select(['id', 'sha256']).where('sha256', 'in', wanted.slice(i, i + 500)).orderBy('id').execute();
    for (const r of rows) if (r.sha256 && !out.has(r.sha256.toLowerCase())) out.set(r.sha256.toLowerCase(), r.id);
  }
  return out;
}

