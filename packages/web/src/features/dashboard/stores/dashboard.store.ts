import type { ActivityItem, DashboardStats, FeaturedLora, SystemStatus } from '@lora-manager/contract';
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { errorMessage } from '../../../api/client.ts';
import { useLiveStore } from '../../../stores/live.store.ts';
import { useSettingsStore } from '../../../stores/settings.store.ts';
import { dashboardApi } from '../api/dashboard.api.ts';

/** Stats, system status, activity and featured LoRAs; kept live by the WebSocket (system_status and job events). */
export const useDashboardStore = defineStore('dashboard', () => {
  const api = dashboardApi(useSettingsStore().api);
  const live = useLiveStore();
  const stats = ref<DashboardStats | null>(null);
  const system = ref<SystemStatus | null>(null);
  const activity = ref<ActivityItem[]>([]);
  const featured = ref<FeaturedLora[]>([]);
  const error = ref<string | null>(null);
  const loaded = ref(false);

  async function load(): Promise<void> {
    try {
      const [s, sys, a, f] = await Promise.all([api.stats(), api.system(), api.activity(), api.featured()]);
      stats.value = s;
      system.value = sys;
      activity.value = a;
      featured.value = f;
      error.value = null;
    } catch (e) {
      error.value = errorMessage(e);
    } finally {
      loaded.value = true;
    }
  }

  // Job changes move the counters and the feed: refresh them, at most every couple of seconds.
  let timer: ReturnType<typeof setTimeout> | null = null;
  async function refreshActivity(): Promise<void> {
    timer = null;
    try {
      const [s, a] = await Promise.all([api.stats(), api.activity()]);
      stats.value = s;
      activity.value = a;
    } catch {
      // The next event tries again; the page keeps what it shows.
    }
  }
  live.onEvent((event) => {
    if (event.type === 'system_status' && event.data && typeof event.data === 'object' && 'queue' in (event.data as object)) {
      system.value = event.data as SystemStatus;
    } else if (event.type === 'queue_update' && !timer) {
      timer = setTimeout(() => void refreshActivity(), 1500);
    }
  });

  return { stats, system, activity, featured, error, loaded, load };
});
