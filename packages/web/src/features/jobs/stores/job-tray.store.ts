import type { Job } from '@lora-manager/contract';
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { isFinished } from '../../../lib/job-status.ts';
import { useLiveStore } from '../../../stores/live.store.ts';
import { useSettingsStore } from '../../../stores/settings.store.ts';
import { jobsApi } from '../api/jobs.api.ts';

/** How often the running jobs are read: often while one runs without the WebSocket, seldom when all is quiet. */
const BUSY_POLL_MS = 3000;
const BUSY_SOCKET_POLL_MS = 10_000;
const IDLE_POLL_MS = 30_000;

/**
 * Every running job of any kind (scan, hash, export, import, backup, generation) for the tray in the shell, so a job
 * started on one page stays in sight on every other. Progress comes from the WebSocket through the live store; the
 * list is also read now and then, which finds jobs started elsewhere (another tab, the CLI, the schedule) and ends
 * the ones whose last event was missed.
 */
export const useJobTrayStore = defineStore('job-tray', () => {
  const live = useLiveStore();
  const api = jobsApi(useSettingsStore().api);
  const error = ref<string | null>(null);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let started = false;

  /** Running first, then waiting, oldest first within each. */
  const running = computed<Job[]>(() =>
    [...live.activeJobs].sort((a, b) => rank(a) - rank(b) || a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id)),
  );

  async function refresh(): Promise<void> {
    try {
      const { items } = await api.running();
      const listed = new Set(items.map((j) => j.id));
      for (const job of items) live.upsertJob(job);
      // A job the tray still shows as running that the server no longer lists has ended: read how.
      const stale = live.activeJobs.filter((j) => !listed.has(j.id));
      await Promise.all(stale.map(async (j) => live.upsertJob((await api.job(j.id)).job)));
      error.value = null;
    } catch (e) {
      error.value = e instanceof Error ? e.message : String(e);
    }
  }

  function schedule(): void {
    clearTimeout(timer);
    const busy = live.activeJobs.length > 0;
    const delay = !busy ? IDLE_POLL_MS : live.state === 'open' ? BUSY_SOCKET_POLL_MS : BUSY_POLL_MS;
    timer = setTimeout(() => void refresh().finally(schedule), delay);
  }

  /** Start following (once, from the shell). */
  function start(): void {
    if (started) return;
    started = true;
    void refresh().finally(schedule);
  }

  async function cancel(job: Job): Promise<void> {
    if (isFinished(job.status)) return;
    try {
      live.upsertJob((await api.cancel(job.id)).job);
    } catch {
      await refresh(); // it ended meanwhile: show how
    }
  }

  return { running, error, refresh, start, cancel };
});

function rank(job: Job): number {
  return job.status === 'running' ? 0 : job.status === 'retrying' ? 1 : 2;
}
