import type { AnalyticsSummary, LoraUsageList } from '@lora-manager/contract';
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { errorMessage } from '../../../api/client.ts';
import { useSettingsStore } from '../../../stores/settings.store.ts';
import { analyticsApi, type RangeQuery } from '../api/analytics.api.ts';

/** One range's analytics and the per-LoRA tables (most used, never used). */
export const useAnalyticsStore = defineStore('analytics', () => {
  const api = analyticsApi(useSettingsStore().api);
  const range = ref<RangeQuery>({ time_range: '7d' });
  const summary = ref<AnalyticsSummary | null>(null);
  const topLoras = ref<LoraUsageList | null>(null);
  const neverUsed = ref<LoraUsageList | null>(null);
  const error = ref<string | null>(null);
  const loading = ref(false);

  async function load(next: RangeQuery = range.value): Promise<void> {
    range.value = next;
    loading.value = true;
    try {
      const [s, top, never] = await Promise.all([api.summary(next), api.loras({ sort: 'most_used', limit: 20 }), api.loras({ never_used: true, limit: 100 })]);
      summary.value = s;
      topLoras.value = top;
      neverUsed.value = never;
      error.value = null;
    } catch (e) {
      error.value = errorMessage(e);
    } finally {
      loading.value = false;
    }
  }

  return { range, summary, topLoras, neverUsed, error, loading, load };
});
