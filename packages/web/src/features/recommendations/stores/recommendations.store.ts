import type { RecommendationResponse } from '@lora-manager/contract';
import { defineStore } from 'pinia';
import { useSettingsStore } from '../../../stores/settings.store.ts';
import { recommendationsApi, type FeedbackType } from '../api/recommendations.api.ts';

/**
 * Suggestions for the panels that show them (library detail, compose, library search). Each panel keeps its own
 * answer; the store holds the API and what the user said about each suggestion, so a thumbs-up stays shown.
 */
export const useRecommendationsStore = defineStore('recommendations', () => {
  const settings = useSettingsStore();
  const api = recommendationsApi(settings.api);
  /** `${session}:${lora}` → the feedback given. */
  const given = new Map<string, FeedbackType>();

  function similar(id: string): Promise<RecommendationResponse> {
    return api.similar(id);
  }
  function forPrompt(prompt: string, activeIds: string[]): Promise<RecommendationResponse> {
    return api.forPrompt({ prompt, active_loras: activeIds, limit: 8 });
  }
  function byTrigger(query: string): Promise<RecommendationResponse> {
    return api.byTrigger(query);
  }
  async function feedback(sessionId: string, loraId: string, type: FeedbackType): Promise<void> {
    await api.feedback(sessionId, loraId, type);
    given.set(`${sessionId}:${loraId}`, type);
  }
  function feedbackGiven(sessionId: string, loraId: string): FeedbackType | undefined {
    return given.get(`${sessionId}:${loraId}`);
  }
  return { similar, forPrompt, byTrigger, feedback, feedbackGiven };
});
