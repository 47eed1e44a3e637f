import { sql, type Kysely } from 'kysely';
import type { DialectName } from '../../db/dialect.ts';
import type { DB, RecommendationFeatureTable } from '../../db/tables.ts';
import type { AdapterFacts } from '../../lib/recommend/features.ts';
import { familyOf } from '../../lib/recommend/family.ts';
import { parseJsonList } from '../../lib/json-list.ts';

export interface FeatureSource {
  facts: AdapterFacts;
  updatedAt: string;
  /** A catalogued adapter whose file is gone: kept out of the index until it comes back. */
  missing: boolean;
}

export interface FeatureWrite {
  adapterId: string;
  /** JSON of AdapterFeatures; null writes a tombstone (the adapter is gone or missing). */
  features: string | null;
  sourceUpdatedAt: string | null;
}

const CHUNK = 500;

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Stored recommendation features and the counter that tells every process its in-memory index is behind. */
export class FeatureRepository {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly dialect: DialectName,
  ) {}

  /** What feature extraction reads for each adapter: the row, its visible tags, its kohya tag frequency and family. */
  async sources(ids: readonly string[]): Promise<Map<string, FeatureSource>> {
    const out = new Map<string, FeatureSource>();
    for (const chunk of chunks([...new Set(ids)], CHUNK)) {
      const [rows, tags, meta] = await Promise.all([
        this.db
          .selectFrom('adapter')
          .select([
            'id',
            'name',
            'description',
            'author_username',
            'triggers',
            'trained_words',
            'activation_text',
            'base_model',
            'network_type',
            'rank',
            'file_size',
            'primary_file_size_kb',
            'archetype',
            'rating',
            'favorite',
            'nsfw_level',
            'sd_version',
            'missing',
            'updated_at',
          ])
          .where('id', 'in', chunk)
          .execute(),
        this.db.selectFrom('adapter_tag').select(['adapter_id', 'tag']).where('adapter_id', 'in', chunk).where('origin', '!=', 'removed').orderBy('adapter_id').orderBy('position').execute(),
        this.db.selectFrom('adapter_metadata').select(['adapter_id', 'tag_frequency', 'base_family']).where('adapter_id', 'in', chunk).execute(),
      ]);
      const tagsOf = new Map<string, string[]>();
      for (const t of tags) (tagsOf.get(t.adapter_id) ?? tagsOf.set(t.adapter_id, []).get(t.adapter_id)!).push(t.tag);
      const metaOf = new Map(meta.map((m) => [m.adapter_id, m]));
      for (const r of rows) {
        const m = metaOf.get(r.id);
        out.set(r.id, {
          updatedAt: r.updated_at,
          missing: r.missing === 1,
          facts: {
            id: r.id,
            name: r.name,
            description: r.description,
            author: r.author_username,
            triggers: parseJsonList(r.triggers),
            trainedWords: parseJsonList(r.trained_words),
            activationText: r.activation_text,
            tagFrequency: parseTagFrequency(m?.tag_frequency ?? null),
            tags: tagsOf.get(r.id) ?? [],
            baseModel: r.base_model ?? r.sd_version,
            baseFamily: m?.base_family ?? familyOf(r.base_model ?? r.sd_version),
            networkType: r.network_type,
            rank: r.rank,
            fileSize: r.file_size ?? (r.primary_file_size_kb === null ? null : r.primary_file_size_kb * 1024),
            archetype: r.archetype,
            rating: r.rating,
            favorite: r.favorite === 1,
            nsfwLevel: r.nsfw_level,
          },
        });
      }
    }
    return out;
  }

  /**
   * Write features under a new value of the `features` counter, in one transaction: on PostgreSQL the counter's row
   * lock orders concurrent writers by commit, so a reader that saw counter N has every row with seq ≤ N.
   */
  async write(rows: readonly FeatureWrite[], now: string): Promise<number> {
    if (rows.length === 0) return this.version();
    return this.db.transaction().execute(async (trx) => {
      const bumped = await trx
        .updateTable('recommendation_state')
        .set({ value: sql`value + 1` })
        .where('key', '=', 'features')
        .returning('value')
        .executeTakeFirstOrThrow();
      const seq = Number(bumped.value);
      for (const chunk of chunks(rows, CHUNK)) {
        const values: RecommendationFeatureTable[] = chunk.map((r) => ({
          adapter_id: r.adapterId,
          features: r.features,
          source_updated_at: r.sourceUpdatedAt,
          seq,
          deleted: r.features === null ? 1 : 0,
          computed_at: now,
        }));
        await trx
          .insertInto('recommendation_feature')
          .values(values)
          .onConflict((oc) =>
            oc.column('adapter_id').doUpdateSet((eb) => ({
              features: eb.ref('excluded.features'),
              source_updated_at: eb.ref('excluded.source_updated_at'),
              seq: eb.ref('excluded.seq'),
              deleted: eb.ref('excluded.deleted'),
              computed_at: eb.ref('excluded.computed_at'),
            })),
          )
          .execute();
      }
      return seq;
    });
  }

  async version(): Promise<number> {
    const row = await this.db.selectFrom('recommendation_state').select('value').where('key', '=', 'features').executeTakeFirst();
    return Number(row?.value ?? 0);
  }

  /** Every live feature row, a page at a time in id order (the primary key: no sort of the whole table). */
  async all(afterId: string | null, limit: number): Promise<Array<Pick<RecommendationFeatureTable, 'adapter_id' | 'features' | 'seq'>>> {
    let q = this.db.selectFrom('recommendation_feature').select(['adapter_id', 'features', 'seq']).where('deleted', '=', 0);
    if (afterId !== null) q = q.where('adapter_id', '>', afterId);
    return q.orderBy('adapter_id').limit(limit).execute();
  }

  /**
   * Hands back the memory of SQLite's page cache (up to 64 MB a connection): a load of every feature row fills it
   * with pages nothing reads again, and the process's RSS would keep them. PostgreSQL caches in its own server.
   */
  async releaseCache(): Promise<void> {
    if (this.dialect === 'sqlite') await sql`pragma shrink_memory`.execute(this.db);
  }

  /** Rows written after `seq`, tombstones included, in write order, a page at a time (keyset on seq and id). */
  async changedSince(seq: number, after: { seq: number; id: string } | null, limit: number): Promise<Array<Pick<RecommendationFeatureTable, 'adapter_id' | 'features' | 'seq'>>> {
    let q = this.db.selectFrom('recommendation_feature').select(['adapter_id', 'features', 'seq']).where('seq', '>', seq);
    if (after) q = q.where((eb) => eb.or([eb('seq', '>', after.seq), eb.and([eb('seq', '=', after.seq), eb('adapter_id', '>', after.id)])]));
    return q.orderBy('seq').orderBy('adapter_id').limit(limit).execute();
  }

  /**
   * Adapters whose stored features are missing or older than the adapter, and feature rows whose adapter is gone:
   * what a catalogue written before features existed, or by a path that did not report its change, needs.
   */
  async stale(afterId: string | null, limit: number): Promise<{ ids: string[]; last: string | null }> {
    // Walked in id order from `afterId`, so a catch-up over the whole catalogue reads each row once.
    let changed = this.db
      .selectFrom('adapter as a')
      .leftJoin('recommendation_feature as f', 'f.adapter_id', 'a.id')
      .select('a.id')
      .where((eb) => eb.or([eb('f.adapter_id', 'is', null), eb('f.source_updated_at', 'is', null), eb('f.source_updated_at', '<>', eb.ref('a.updated_at'))]));
    if (afterId !== null) changed = changed.where('a.id', '>', afterId);
    const rows = await changed.orderBy('a.id').limit(limit).execute();
    const ids = rows.map((r) => r.id);
    if (rows.length === limit) return { ids, last: ids[ids.length - 1] };
    const orphans = await this.db
      .selectFrom('recommendation_feature as f')
      .leftJoin('adapter as a', 'a.id', 'f.adapter_id')
      .select('f.adapter_id')
      .where('f.deleted', '=', 0)
      .where('a.id', 'is', null)
      .limit(100_000)
      .execute();
    return { ids: [...ids, ...orphans.map((r) => r.adapter_id)], last: null };
  }

  async counts(): Promise<{ adapters: number; withFeatures: number; lastComputed: string | null }> {
    const [a, f] = await Promise.all([
      this.db.selectFrom('adapter').select((eb) => eb.fn.countAll<number>().as('n')).where('missing', '=', 0).executeTakeFirstOrThrow(),
      this.db
        .selectFrom('recommendation_feature as f')
        .innerJoin('adapter as a', 'a.id', 'f.adapter_id')
        .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.max('f.computed_at').as('last')])
        .where('f.deleted', '=', 0)
        .executeTakeFirstOrThrow(),
    ]);
    return { adapters: Number(a.n), withFeatures: Number(f.n), lastComputed: (f.last as string | null) ?? null };
  }

  async get(adapterId: string): Promise<RecommendationFeatureTable | undefined> {
    return this.db.selectFrom('recommendation_feature').selectAll().where('adapter_id', '=', adapterId).executeTakeFirst();
  }

  async adapterExists(id: string): Promise<{ updatedAt: string } | undefined> {
    const row = await this.db.selectFrom('adapter').select('updated_at').where('id', '=', id).executeTakeFirst();
    return row ? { updatedAt: row.updated_at } : undefined;
  }

  async allAdapterIds(): Promise<string[]> {
    return (await this.db.selectFrom('adapter').select('id').execute()).map((r) => r.id);
  }
}

/** kohya `ss_tag_frequency` as stored by the scan: [{tag, count}] most frequent first. */
function parseTagFrequency(text: string | null): Array<{ tag: string; count: number }> {
  if (!text) return [];
  try {
    const value: unknown = JSON.parse(text);
    if (!Array.isArray(value)) return [];
    return value
      .filter((e): e is { tag: string; count: number } => typeof e?.tag === 'string' && typeof e?.count === 'number')
      .sort((a, b) => b.count - a.count);
  } catch {
    return [];
  }
}
