import type { BackendInfo, BackendOptions, GenerationResultSummary, Job } from '@lora-manager/contract';
import { defineStore } from 'pinia';
import { computed, ref, watch } from 'vue';
import { errorMessage } from '../../../api/client.ts';
import { isFinished } from '../../../lib/job-status.ts';
import { useLiveStore } from '../../../stores/live.store.ts';
import { useSettingsStore } from '../../../stores/settings.store.ts';
import { generationApi, type RunMode } from '../api/generation.api.ts';
import { EtaTracker } from '../lib/eta.ts';
import { DEFAULT_FORM, fromParams, isGenerationJob, jobPrompt, toParams, validateForm, type GenerationForm } from '../lib/params.ts';
import { applyServerDefaults, type ServerDefaults } from '../lib/server-form.ts';

const FORM_KEY = 'lora-manager.generate.form';
/** The server defaults the form last took, so a later change of them reaches the fields the user left alone. */
const DEFAULTS_KEY = 'lora-manager.generate.server-defaults';
/** Running first, then waiting for a retry, then queued in the order they will run. */
const QUEUE_ORDER: Record<string, number> = { running: 0, retrying: 1, pending: 2 };

/** One row of the queue panel, whether it came from GET /generation/jobs/active or from a WebSocket event. */
export interface QueueItem {
  id: string;
  prompt: string;
  status: Job['status'];
  progress: number;
  step: number | null;
  totalSteps: number | null;
  eta: number | null;
  preview: string | null;
  message: string | null;
  error: string | null;
  attempts: number;
  maxAttempts: number;
  createdAt: string;
  backend: string | null;
}

function fromJob(job: Job): QueueItem {
  const d = job.progress_detail;
  return {
    id: job.id,
    prompt: jobPrompt(job),
    status: job.status,
    progress: job.progress,
    step: d?.step ?? null,
    totalSteps: d?.total_steps ?? null,
    eta: d?.eta_seconds ?? null,
    preview: d?.preview ?? null,
    message: d?.message ?? null,
    error: job.error,
    attempts: job.attempts,
    maxAttempts: job.max_attempts,
    createdAt: job.created_at,
    backend: typeof job.payload.backend === 'string' ? job.payload.backend : null,
  };
}

/** The generation studio: the form, the backend, the queue with live progress, and the latest results. */
export const useGenerateStore = defineStore('generate', () => {
  const settings = useSettingsStore();
  const live = useLiveStore();
  const api = generationApi(settings.api);

  const saved = (() => {
    try {
      return JSON.parse(localStorage.getItem(FORM_KEY) ?? 'null') as Partial<GenerationForm> | null;
    } catch {
      return null;
    }
  })();
  const form = ref<GenerationForm>({ ...DEFAULT_FORM, ...(saved ?? {}) });
  watch(form, (value) => localStorage.setItem(FORM_KEY, JSON.stringify(value)), { deep: true });
  const errors = computed(() => validateForm(form.value));
  const valid = computed(() => Object.keys(errors.value).length === 0);

  const backends = ref<BackendInfo[]>([]);
  const backend = ref<string>(localStorage.getItem('lora-manager.generate.backend') ?? '');
  watch(backend, (b) => localStorage.setItem('lora-manager.generate.backend', b));
  const backendsError = ref<string | null>(null);
  /** The selected server's defaults and lists; null until they arrive. */
  const serverOptions = ref<BackendOptions | null>(null);
  let appliedDefaults: ServerDefaults | null = (() => {
    try {
      return JSON.parse(localStorage.getItem(DEFAULTS_KEY) ?? 'null') as ServerDefaults | null;
    } catch {
      return null;
    }
  })();
  async function loadServerOptions(): Promise<void> {
    const name = backend.value;
    if (!name) return;
    const options = await api.serverOptions(name);
    if (name !== backend.value) return;
    serverOptions.value = options;
    form.value = applyServerDefaults(form.value, options.defaults, appliedDefaults);
    appliedDefaults = options.defaults;
    localStorage.setItem(DEFAULTS_KEY, JSON.stringify(options.defaults));
  }
  watch(backend, () => void loadServerOptions().catch(() => undefined));
  /** Put steps, sampler and CFG back to the server's defaults. */
  function resetToServerDefaults(): void {
    const d = serverOptions.value?.defaults;
    if (d) Object.assign(form.value, { steps: d.steps, sampler_name: d.sampler_name, cfg_scale: d.cfg_scale, scheduler: '' });
  }
  /** The selected server as the last probe saw it. */
  const selectedBackend = computed(() => backends.value.find((b) => b.name === backend.value) ?? null);
  async function loadBackends(): Promise<void> {
    try {
      backends.value = (await api.backends()).backends;
      backendsError.value = null;
      const usable = backends.value.filter((b) => b.configured);
      if (!usable.some((b) => b.name === backend.value)) backend.value = (usable.find((b) => b.available) ?? usable[0])?.name ?? '';
    } catch (e) {
      backendsError.value = errorMessage(e);
    }
  }

  // The queue: seeded from the API, then kept current by job events.
  const seeded = ref(new Map<string, QueueItem>());
  async function loadQueue(): Promise<void> {
    const active = await api.activeJobs();
    seeded.value = new Map(
      active.map((j) => [
        j.id,
        {
          id: j.id,
          prompt: j.prompt,
          status: j.raw_status as Job['status'],
          progress: j.progress,
          step: j.step,
          totalSteps: j.total_steps,
          eta: j.eta_seconds,
          preview: j.preview_url,
          message: j.message,
          error: j.error,
          attempts: j.attempts,
          maxAttempts: j.max_attempts,
          createdAt: j.created_at,
          backend: j.backend,
        },
      ]),
    );
  }
  const queue = computed<QueueItem[]>(() => {
    const items = new Map(seeded.value);
    for (const job of live.jobs.values()) if (isGenerationJob(job)) items.set(job.id, fromJob(job));
    return [...items.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  });
  const activeQueue = computed(() =>
    queue.value
      .filter((q) => !isFinished(q.status))
      .sort((a, b) => (QUEUE_ORDER[a.status] ?? 3) - (QUEUE_ORDER[b.status] ?? 3) || a.createdAt.localeCompare(b.createdAt)),
  );
  // Seconds left per running job: the server's ETA while it moves, else the step rate seen here.
  const etaTracker = new EtaTracker();
  const etas = ref(new Map<string, number | null>());
  watch(
    activeQueue,
    (items) => {
      const now = Date.now();
      etas.value = new Map(items.map((i) => [i.id, i.status === 'running' ? etaTracker.observe(i.id, i.step, i.totalSteps, i.eta, now) : null]));
      etaTracker.keepOnly(new Set(items.map((i) => i.id)));
    },
    { immediate: true },
  );
  const finishedQueue = computed(() => queue.value.filter((q) => isFinished(q.status)).slice(0, 10));

  const recent = ref<GenerationResultSummary[]>([]);
  async function loadRecent(): Promise<void> {
    recent.value = (await api.results({ page: 1, page_size: 12, sort: 'newest' })).items;
  }
  // A finished generation shows up in the results without a reload.
  live.onEvent((event) => {
    const data = event.data as { job?: Job; change?: string } | null;
    if (event.type === 'job_update' && data?.job && isGenerationJob(data.job) && data.change === 'succeeded') void loadRecent().catch(() => undefined);
  });

  const running = ref(false);
  const lastError = ref<string | null>(null);
  const warnings = ref<string[]>([]);

  /** Immediate runs wait for the images; queued runs return at once and report progress in the queue. */
  async function run(mode: RunMode): Promise<string | null> {
    if (!valid.value) return null;
    running.value = mode === 'immediate';
    lastError.value = null;
    try {
      if (mode === 'immediate') {
        const result = await api.generate(toParams(form.value), backend.value);
        warnings.value = result.warnings ?? [];
        if (result.status === 'failed') throw new Error(result.error_message ?? 'The generation failed');
        await loadRecent();
        return result.job_id;
      }
      const queued = await api.enqueue(toParams(form.value), backend.value);
      warnings.value = queued.warnings;
      void loadQueue().catch(() => undefined);
      return queued.job_id;
    } catch (e) {
      lastError.value = errorMessage(e);
      return null;
    } finally {
      running.value = false;
    }
  }

  async function cancel(id: string): Promise<void> {
    await api.cancel(id);
    void loadQueue().catch(() => undefined);
  }

  /** Fill the form from stored parameters ("use these parameters again", "send to generate"). */
  function useParams(params: Record<string, unknown>): void {
    form.value = fromParams(params, form.value);
  }

  return {
    form,
    errors,
    valid,
    backends,
    backend,
    backendsError,
    loadBackends,
    serverOptions,
    loadServerOptions,
    resetToServerDefaults,
    selectedBackend,
    etas,
    queue,
    activeQueue,
    finishedQueue,
    loadQueue,
    recent,
    loadRecent,
    running,
    lastError,
    warnings,
    run,
    cancel,
    useParams,
    imageUrl: api.imageUrl,
  };
});
