import type { AnalyticsSummary, LoraUsageList } from '@lora-manager/contract';
import type { ApiClient } from '../../../api/client.ts';

export interface RangeQuery {
  time_range: '24h' | '7d' | '30d' | '90d' | 'custom';
  from?: string;
  to?: string;
}

/** The analytics endpoints the page uses: the summary (everything for a range) and per-LoRA usage. */
export function analyticsApi(api: ApiClient) {
  return {
    summary: (range: RangeQuery) => api.get<AnalyticsSummary>('analytics/summary', { ...range }),
    loras: (query: { sort?: 'most_used' | 'least_used' | 'last_used'; never_used?: boolean; limit?: number }) => api.get<LoraUsageList>('analytics/loras', { ...query }),
  };
}
