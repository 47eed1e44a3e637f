import type { FeedbackRecord, PromptRecommendationBody, RecommendationResponse } from '@lora-manager/contract';
import type { ApiClient } from '../../../api/client.ts';

export type FeedbackType = 'positive' | 'negative' | 'activated' | 'dismissed';

/** `/recommendations/*`: similar LoRAs, LoRAs for a prompt, by trigger, and feedback on a suggestion. */
export function recommendationsApi(api: ApiClient) {
  return {
    similar: (id: string, limit = 8) => api.get<RecommendationResponse>(`recommendations/similar/${encodeURIComponent(id)}`, { limit }),
    forPrompt: (body: PromptRecommendationBody) => api.post<RecommendationResponse>('recommendations/for-prompt', body),
    byTrigger: (query: string, limit = 8) => api.get<RecommendationResponse>('recommendations/by-trigger', { trigger_query: query, limit }),
    feedback: (sessionId: string, loraId: string, type: FeedbackType) =>
      api.post<FeedbackRecord>('recommendations/feedback', { session_id: sessionId, recommended_lora_id: loraId, feedback_type: type }),
  };
}
