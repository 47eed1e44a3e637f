import type { Job, ServerEvent } from '@lora-manager/contract';
import { defineStore } from 'pinia';
import { computed, ref, shallowRef, triggerRef, watch } from 'vue';
import { EventStream, type ConnectionState } from '../api/events.ts';
import { isActive } from '../lib/job-status.ts';
import { useSettingsStore } from './settings.store.ts';

const MAX_JOBS = 500;

/** Pull a Job out of any event vocabulary the server speaks (job_* events carry `data.job`). */
export function jobFromEvent(event: ServerEvent): Job | null {
  const data = event.data as { job?: Job } | null;
  if (data && typeof data === 'object' && data.job && typeof data.job.id === 'string') return data.job;
  return null;
}

/**
 * The live view of the server, fed by the one WebSocket: connection state and every job the app has heard of.
 * Feature stores read `jobs` or register `onEvent` for the event types they care about.
 */
export const useLiveStore = defineStore('live', () => {
  const settings = useSettingsStore();
  const state = ref<ConnectionState>('idle');
  const jobs = shallowRef(new Map<string, Job>());
  const lastEvent = shallowRef<ServerEvent | null>(null);
  const listeners = new Set<(event: ServerEvent) => void>();

  function upsertJob(job: Job): void {
    const map = jobs.value;
    const previous = map.get(job.id);
    // Events can arrive out of order across processes; never let an older row replace a newer one.
    if (previous && previous.updated_at > job.updated_at) return;
    map.delete(job.id);
    map.set(job.id, job);
    if (map.size > MAX_JOBS) map.delete(map.keys().next().value as string);
    triggerRef(jobs);
  }

  function handle(event: ServerEvent): void {
    lastEvent.value = event;
    const job = jobFromEvent(event);
    if (job) upsertJob(job);
    for (const listener of listeners) listener(event);
  }

  const stream = new EventStream({
    url: () => settings.api.wsUrl('ws/progress'),
    retryMs: settings.server?.generationPolling.websocketRetryMs ?? 3000,
    onState: (s) => (state.value = s),
  });
  stream.on(handle);

  /** Starts once the settings are known and the session cookie is set, so the first upgrade already carries it. */
  function connect(): void {
    void settings.bootstrap().then(() => stream.start());
  }
  watch(() => [settings.baseUrl, settings.apiKey], () => stream.state !== 'idle' && stream.restart());

  function onEvent(listener: (event: ServerEvent) => void): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  const activeJobs = computed(() => [...jobs.value.values()].filter((j) => isActive(j.status)));

  return { state, jobs, activeJobs, lastEvent, connect, onEvent, upsertJob, handle };
});
