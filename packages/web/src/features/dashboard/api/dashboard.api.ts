import type { ActivityItem, DashboardStats, FeaturedLora, SystemStatus } from '@lora-manager/contract';
import type { ApiClient } from '../../../api/client.ts';

/** The dashboard's read-only endpoints. */
export function dashboardApi(api: ApiClient) {
  return {
    stats: () => api.get<DashboardStats>('dashboard/stats'),
    featured: () => api.get<FeaturedLora[]>('dashboard/featured-loras'),
    activity: () => api.get<ActivityItem[]>('dashboard/activity-feed'),
    system: () => api.get<SystemStatus>('system/status'),
  };
}
