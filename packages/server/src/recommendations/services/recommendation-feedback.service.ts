import { randomUUID } from 'node:crypto';
import type { FeedbackBody, FeedbackRecord, PreferenceBody, PreferenceRecord } from '@lora-manager/contract';
import { NotFoundError } from '../../errors.ts';
import type { Clock } from '../../lib/clock.ts';
import type { RecommendationFeedbackTable } from '../../db/tables.ts';
import type { RecommendationRepository } from '../repositories/recommendation.repository.ts';

/** Feedback on suggestions and the user's preferences: stored, and bumping the counter that makes ranking re-read them. */
export class RecommendationFeedbackService {
  constructor(
    private readonly repo: RecommendationRepository,
    private readonly clock: Clock,
  ) {}

  async feedback(body: FeedbackBody): Promise<FeedbackRecord> {
    if (!(await this.repo.findSession(body.session_id))) {
      throw new NotFoundError('recommendation_session_not_found', `Recommendation session ${body.session_id} not found`);
    }
    if (!(await this.repo.adapterExists(body.recommended_lora_id))) throw new NotFoundError('adapter_not_found', `Adapter ${body.recommended_lora_id} not found`);
    const row: RecommendationFeedbackTable = {
      id: randomUUID(),
      session_id: body.session_id,
      recommended_lora_id: body.recommended_lora_id,
      feedback_type: body.feedback_type,
      feedback_reason: body.feedback_reason ?? null,
      implicit_signal: body.implicit_signal ? 1 : 0,
      created_at: this.clock.now().toISOString(),
    };
    await this.repo.insertFeedback(row);
    await this.repo.bumpSignals();
    return toFeedback(row);
  }

  async listFeedback(limit: number, sessionId?: string): Promise<FeedbackRecord[]> {
    return (await this.repo.listFeedback(limit, sessionId)).map(toFeedback);
  }

  async setPreference(body: PreferenceBody): Promise<PreferenceRecord> {
    const row = await this.repo.upsertPreference({
      id: randomUUID(),
      type: body.preference_type,
      value: body.preference_value,
      confidence: body.confidence,
      learnedFrom: body.explicit === false ? 'feedback' : 'explicit',
      now: this.clock.now().toISOString(),
    });
    await this.repo.bumpSignals();
    return toPreference(row);
  }

  async listPreferences(): Promise<PreferenceRecord[]> {
    return (await this.repo.listPreferences()).map(toPreference);
  }

  async deletePreference(id: string): Promise<void> {
    if (!(await this.repo.deletePreference(id))) throw new NotFoundError('preference_not_found', `Preference ${id} not found`);
    await this.repo.bumpSignals();
  }
}

function toFeedback(r: RecommendationFeedbackTable): FeedbackRecord {
  return { ...r, implicit_signal: r.implicit_signal === 1 };
}

function toPreference(r: Omit<PreferenceRecord, never> & { value_key?: string }): PreferenceRecord {
  const { value_key: _key, ...rest } = r;
  return { ...rest, confidence: Number(rest.confidence), evidence_count: Number(rest.evidence_count) };
}
