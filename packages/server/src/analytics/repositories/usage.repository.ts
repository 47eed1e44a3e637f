import { sql, type Kysely, type Transaction } from 'kysely';
import type { DB } from '../../db/tables.ts';
import { failureMessage } from '../../lib/error-signature.ts';
import { foldFinished, type FinishedGeneration, type UsageDeltas } from '../../lib/usage-rollup.ts';

type Db = Kysely<DB> | Transaction<DB>;

const PAGE = 2000;
const CHUNK = 200;
const ROLLUP_KEY = 'analytics.rollups';
/** Bump when the roll-ups' meaning changes: the next start rebuilds them from the jobs. */
const ROLLUP_VERSION = '1';

/**
 * The analytics roll-ups and per-adapter usage totals: folding a finished generation in, refreshing rating totals
 * when a result is rated, and rebuilding everything from the jobs (first start, or after an import).
 */
export class UsageRepository {
  constructor(private readonly db: Kysely<DB>) {}

  /** What a just-finished generation contributes: its delivery row and recorded LoRAs, or undefined if gone. */
  async finishedGeneration(jobId: string, status: 'succeeded' | 'failed', finishedAt: string, message: string | null): Promise<FinishedGeneration | undefined> {
    const row = await this.db
      .selectFrom('job as j')
      .innerJoin('delivery_job as d', 'd.id', 'j.id')
      .select(['j.created_at', 'j.started_at', 'd.rating', 'd.is_favorite'])
      .where('j.id', '=', jobId)
      .executeTakeFirst();
    if (!row) return undefined;
    const loras = await this.db.selectFrom('delivery_adapter').select(['adapter_id', 'name']).where('job_id', '=', jobId).orderBy('position').execute();
    return {
      status,
      created_at: row.created_at,
      started_at: row.started_at,
      finished_at: finishedAt,
      message,
      rating: row.rating,
      favorite: row.is_favorite === 1,
      loras,
    };
  }

  /** Add deltas to the roll-ups in one transaction: a handful of statements whatever the number of LoRAs. */
  async apply(deltas: UsageDeltas): Promise<void> {
    await this.db.transaction().execute((trx) => applyDeltas(trx, deltas));
  }

  /**
   * Recount rating and favourite totals of the adapters a generation used, from its results as they are now
   * (a result rated twice, or un-favourited, cannot drift).
   */
  async refreshResultFeedback(jobId: string): Promise<void> {
    const used = this.db.selectFrom('delivery_adapter').select('adapter_id').where('job_id', '=', jobId).where('adapter_id', 'is not', null);
    const jobsOf = sql`(select u.job_id from delivery_adapter u where u.adapter_id = adapter.id)`;
    await this.db
      .updateTable('adapter')
      .set({
        result_rating_sum: sql<number>`(select coalesce(sum(d.rating), 0) from delivery_job d where d.id in ${jobsOf})`,
        result_rating_count: sql<number>`(select count(d.rating) from delivery_job d where d.id in ${jobsOf})`,
        result_favorite_count: sql<number>`(select count(*) from delivery_job d where d.is_favorite = 1 and d.id in ${jobsOf})`,
      })
      .where('id', 'in', used as never)
      .execute();
  }

  /** Rebuild the roll-ups once per ROLLUP_VERSION (a fresh migration, or a new meaning). */
  async ensureBuilt(now: string): Promise<boolean> {
    const mark = await this.db.selectFrom('setting').select('value').where('key', '=', ROLLUP_KEY).executeTakeFirst();
    if (mark?.value === ROLLUP_VERSION) return false;
    await this.rebuild(now);
    return true;
  }

  /** Recompute every roll-up and usage total from the finished generation jobs, in one transaction. */
  async rebuild(now: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('generation_hourly').execute();
      await trx.deleteFrom('generation_error_hourly').execute();
      await trx.deleteFrom('lora_usage_daily').execute();
      await trx.deleteFrom('lora_usage_total').execute();
      await trx
        .updateTable('adapter')
        .set({ use_count: 0, use_succeeded: 0, use_failed: 0, last_used_at: null, result_rating_sum: 0, result_rating_count: 0, result_favorite_count: 0 })
        .where((eb) => eb.or([eb('use_count', '!=', 0), eb('result_rating_count', '!=', 0), eb('result_favorite_count', '!=', 0), eb('last_used_at', 'is not', null)]))
        .execute();
      // Adapter totals are summed over every page and written once at the end: one UPDATE per adapter, not per page.
      const adapters = new Map<string, UsageDeltas['adapters'][number]>();
      let after = '';
      for (;;) {
        const rows = await trx
          .selectFrom('job as j')
          .innerJoin('delivery_job as d', 'd.id', 'j.id')
          .select(['j.id', 'j.status', 'j.created_at', 'j.started_at', 'j.finished_at', 'j.updated_at', 'j.error', 'd.rating', 'd.is_favorite'])
          .select(sql<string | null>`case when j.status = 'failed' then j.result end`.as('result'))
          // Wrapped so no planner walks a kind/status index and sorts every job per page: the pages follow the key.
          .where(sql<string>`(j.kind || '')`, '=', 'generation')
          .where(sql<string>`(j.status || '')`, 'in', ['succeeded', 'failed'])
          .where('j.id', '>', after)
          .orderBy('j.id')
          .limit(PAGE)
          .execute();
        if (rows.length === 0) break;
        after = rows[rows.length - 1].id;
        const loras = await trx.selectFrom('delivery_adapter').select(['job_id', 'adapter_id', 'name']).where('job_id', 'in', rows.map((r) => r.id)).orderBy('position').execute();
        const byJob = new Map<string, Array<{ adapter_id: string | null; name: string }>>();
        for (const l of loras) byJob.set(l.job_id, [...(byJob.get(l.job_id) ?? []), l]);
        const deltas = foldFinished(
            rows.map((r) => ({
              status: r.status as 'succeeded' | 'failed',
              created_at: r.created_at,
              started_at: r.started_at,
              finished_at: r.finished_at ?? r.updated_at,
              message: r.status === 'failed' ? failureMessage(r.error, r.result) : null,
              rating: r.rating,
              favorite: r.is_favorite === 1,
              loras: byJob.get(r.id) ?? [],
            })),
          );
        for (const a of deltas.adapters) {
          const sum = adapters.get(a.adapter_id);
          if (!sum) {
            adapters.set(a.adapter_id, a);
            continue;
          }
          sum.uses += a.uses;
          sum.succeeded += a.succeeded;
          sum.failed += a.failed;
          sum.rating_sum += a.rating_sum;
          sum.rating_count += a.rating_count;
          sum.favorites += a.favorites;
          if (a.last_used_at > sum.last_used_at) sum.last_used_at = a.last_used_at;
        }
        await applyDeltas(trx, { ...deltas, adapters: [] });
      }
      await applyDeltas(trx, { hours: [], errors: [], loraDays: [], adapters: [...adapters.values()] });
      await trx
        .insertInto('setting')
        .values({ key: ROLLUP_KEY, value: ROLLUP_VERSION, updated_at: now })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value: ROLLUP_VERSION, updated_at: now }))
        .execute();
    });
  }
}

function* chunks<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

async function applyDeltas(trx: Db, deltas: UsageDeltas): Promise<void> {
  for (const chunk of chunks(deltas.hours, CHUNK)) {
    await trx
      .insertInto('generation_hourly')
      .values(chunk)
      .onConflict((oc) =>
        oc.column('hour').doUpdateSet((eb) => ({
          finished: eb('generation_hourly.finished', '+', eb.ref('excluded.finished')),
          succeeded: eb('generation_hourly.succeeded', '+', eb.ref('excluded.succeeded')),
          failed: eb('generation_hourly.failed', '+', eb.ref('excluded.failed')),
          duration_ms_sum: eb('generation_hourly.duration_ms_sum', '+', eb.ref('excluded.duration_ms_sum')),
          duration_count: eb('generation_hourly.duration_count', '+', eb.ref('excluded.duration_count')),
        })),
      )
      .execute();
  }
  for (const chunk of chunks(deltas.errors, CHUNK)) {
    await trx
      .insertInto('generation_error_hourly')
      .values(chunk)
      .onConflict((oc) =>
        oc.columns(['hour', 'signature']).doUpdateSet((eb) => ({
          count: eb('generation_error_hourly.count', '+', eb.ref('excluded.count')),
          // The greatest message, as the rebuild would keep it: the live path and a rebuild agree.
          example: sql<string>`case when excluded.example > generation_error_hourly.example then excluded.example else generation_error_hourly.example end`,
        })),
      )
      .execute();
  }
  for (const chunk of chunks(deltas.loraDays, CHUNK)) {
    await trx
      .insertInto('lora_usage_daily')
      .values(chunk)
      .onConflict((oc) =>
        oc.columns(['day', 'lora_key']).doUpdateSet((eb) => ({
          uses: eb('lora_usage_daily.uses', '+', eb.ref('excluded.uses')),
          succeeded: eb('lora_usage_daily.succeeded', '+', eb.ref('excluded.succeeded')),
          failed: eb('lora_usage_daily.failed', '+', eb.ref('excluded.failed')),
        })),
      )
      .execute();
  }
  const totals = new Map<string, { lora_key: string; adapter_id: string | null; name: string; uses: number }>();
  for (const d of deltas.loraDays) {
    const t = totals.get(d.lora_key);
    if (t) t.uses += d.uses;
    else totals.set(d.lora_key, { lora_key: d.lora_key, adapter_id: d.adapter_id, name: d.name, uses: d.uses });
  }
  for (const chunk of chunks([...totals.values()], CHUNK)) {
    await trx
      .insertInto('lora_usage_total')
      .values(chunk)
      .onConflict((oc) => oc.column('lora_key').doUpdateSet((eb) => ({ uses: eb('lora_usage_total.uses', '+', eb.ref('excluded.uses')) })))
      .execute();
  }
  // Adapters with the same change (every adapter of one job) share one UPDATE.
  const groups = new Map<string, { delta: UsageDeltas['adapters'][number]; ids: string[] }>();
  for (const a of deltas.adapters) {
    const key = JSON.stringify([a.uses, a.succeeded, a.failed, a.last_used_at, a.rating_sum, a.rating_count, a.favorites]);
    const g = groups.get(key);
    if (g) g.ids.push(a.adapter_id);
    else groups.set(key, { delta: a, ids: [a.adapter_id] });
  }
  for (const { delta, ids } of groups.values()) {
    for (const chunk of chunks(ids, 500)) {
      await trx
        .updateTable('adapter')
        .set((eb) => ({
          use_count: eb('use_count', '+', delta.uses),
          use_succeeded: eb('use_succeeded', '+', delta.succeeded),
          use_failed: eb('use_failed', '+', delta.failed),
          last_used_at: sql<string>`case when last_used_at is null or last_used_at < ${delta.last_used_at} then ${delta.last_used_at} else last_used_at end`,
          result_rating_sum: eb('result_rating_sum', '+', delta.rating_sum),
          result_rating_count: eb('result_rating_count', '+', delta.rating_count),
          result_favorite_count: eb('result_favorite_count', '+', delta.favorites),
        }))
        .where('id', 'in', chunk)
        .execute();
    }
  }
}
