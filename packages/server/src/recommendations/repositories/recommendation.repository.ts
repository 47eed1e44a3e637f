import { sql, type Kysely } from 'kysely';
import type { DB, RecommendationFeedbackTable, RecommendationSessionTable, UserPreferenceTable } from '../../db/tables.ts';
import type { FeedbackRow, FeedbackType, Preference, PreferenceType, UsageRow } from '../../lib/recommend/signals.ts';

/** How much history the ranking learns from: the most recent generations and feedback. */
const USAGE_JOBS = 50_000;
const FEEDBACK_ROWS = 20_000;

/** Sessions, feedback and preferences, and the generation history read for co-usage. */
export class RecommendationRepository {
  constructor(private readonly db: Kysely<DB>) {}

  async insertSession(row: RecommendationSessionTable): Promise<void> {
    await this.db.insertInto('recommendation_session').values(row).execute();
  }

  async findSession(id: string): Promise<RecommendationSessionTable | undefined> {
    return this.db.selectFrom('recommendation_session').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async insertFeedback(row: RecommendationFeedbackTable): Promise<void> {
    await this.db.insertInto('recommendation_feedback').values(row).execute();
  }

  async listFeedback(limit: number, sessionId?: string): Promise<RecommendationFeedbackTable[]> {
    let q = this.db.selectFrom('recommendation_feedback').selectAll();
    if (sessionId) q = q.where('session_id', '=', sessionId);
    return q.orderBy('created_at', 'desc').orderBy('id').limit(limit).execute();
  }

  async feedbackForSignals(): Promise<FeedbackRow[]> {
    const rows = await this.db
      .selectFrom('recommendation_feedback as f')
      .leftJoin('recommendation_session as s', 's.id', 'f.session_id')
      .select(['f.recommended_lora_id', 'f.feedback_type', 's.context_key'])
      .orderBy('f.created_at', 'desc')
      .limit(FEEDBACK_ROWS)
      .execute();
    return rows.map((r) => ({ adapterId: r.recommended_lora_id, type: r.feedback_type as FeedbackType, context: r.context_key ?? null }));
  }

  /** Upsert on (type, value): confidence replaced, evidence counted. */
  async upsertPreference(input: { id: string; type: PreferenceType; value: string; confidence: number; learnedFrom: string; now: string }): Promise<UserPreferenceTable> {
    const key = input.value.trim().toLowerCase();
    await this.db
      .insertInto('user_preference')
      .values({
        id: input.id,
        preference_type: input.type,
        preference_value: input.value.trim(),
        value_key: key,
        confidence: input.confidence,
        learned_from: input.learnedFrom,
        evidence_count: 1,
        last_evidence_at: input.now,
        created_at: input.now,
        updated_at: input.now,
      })
      .onConflict((oc) =>
        oc.columns(['preference_type', 'value_key']).doUpdateSet({
          confidence: input.confidence,
          learned_from: input.learnedFrom,
          evidence_count: sql`user_preference.evidence_count + 1`,
          last_evidence_at: input.now,
          updated_at: input.now,
        }),
      )
      .execute();
    return this.db.selectFrom('user_preference').selectAll().where('preference_type', '=', input.type).where('value_key', '=', key).executeTakeFirstOrThrow();
  }

  async listPreferences(): Promise<UserPreferenceTable[]> {
    return this.db.selectFrom('user_preference').selectAll().orderBy('preference_type').orderBy('value_key').limit(10_000).execute();
  }

  async deletePreference(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('user_preference').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async preferencesForSignals(): Promise<Preference[]> {
    return (await this.listPreferences()).map((p) => ({ type: p.preference_type as PreferenceType, value: p.value_key, confidence: p.confidence }));
  }

  /**
   * The catalogued adapters of each recent generation or delivery with its rating: what "used together" learns from.
   * delivery_adapter already resolved the prompt's `<lora:…>` tokens to adapters when the job was made.
   */
  async usage(): Promise<UsageRow[]> {
    const rows = await this.db
      .selectFrom('delivery_adapter as da')
      .innerJoin(
        (eb) => eb.selectFrom('delivery_job').select(['id', 'rating', 'is_favorite']).orderBy('created_at', 'desc').limit(USAGE_JOBS).as('j'),
        (join) => join.onRef('j.id', '=', 'da.job_id'),
      )
      .select(['da.job_id', 'da.adapter_id', 'j.rating', 'j.is_favorite'])
      .where('da.adapter_id', 'is not', null)
      .orderBy('da.job_id')
      .orderBy('da.position')
      .execute();
    const out: UsageRow[] = [];
    let jobId: string | null = null;
    let current: { adapterIds: string[]; rating: number | null; favorite: boolean } = { adapterIds: [], rating: null, favorite: false };
    for (const r of rows) {
      if (jobId !== r.job_id) {
        jobId = r.job_id;
        current = { adapterIds: [], rating: r.rating, favorite: r.is_favorite === 1 };
        out.push(current);
      }
      current.adapterIds.push(r.adapter_id!);
    }
    return out;
  }

  /** Changes when history gains, loses or re-rates a generation: a cached co-usage table is reused until then. */
  async usageStamp(): Promise<string> {
    const row = await this.db
      .selectFrom('delivery_job')
      .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.max('created_at').as('c'), eb.fn.max('rating_updated_at').as('r'), eb.fn.max('favorite_updated_at').as('f')])
      .executeTakeFirstOrThrow();
    return `${row.n}|${row.c}|${row.r}|${row.f}`;
  }

  async signalsVersion(): Promise<number> {
    const row = await this.db.selectFrom('recommendation_state').select('value').where('key', '=', 'signals').executeTakeFirst();
    return Number(row?.value ?? 0);
  }

  async bumpSignals(): Promise<void> {
    await this.db.updateTable('recommendation_state').set({ value: sql`value + 1` }).where('key', '=', 'signals').execute();
  }

  async counts(): Promise<{ sessions: number; feedback: number; preferences: number }> {
    const [s, f, p] = await Promise.all(
      (['recommendation_session', 'recommendation_feedback', 'user_preference'] as const).map((t) =>
        this.db.selectFrom(t).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
      ),
    );
    return { sessions: Number(s.n), feedback: Number(f.n), preferences: Number(p.n) };
  }

  async adapterExists(id: string): Promise<boolean> {
    return (await this.db.selectFrom('adapter').select('id').where('id', '=', id).executeTakeFirst()) !== undefined;
  }
}
