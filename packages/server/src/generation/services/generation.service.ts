import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import {
  type ComposeRequest,
  type DeliveryRecord,
  type GenerationJobStatus,
  type GenerationParams,
  type GenerationResult,
  type JobProgress,
  type JobStatus,
  type ResolvedGenerationParams,
} from '@lora-manager/contract';
import type { GenerationConfig } from '../../config.ts';
import type { BackendRegistry } from '../backends/backend-registry.ts';
import type { DeliveryAdapterTable } from '../../db/tables.ts';
import { AppError, BadRequestError, NotFoundError } from '../../errors.ts';
import { JOB_KINDS } from '../../jobs/job-catalogue.ts';
import type { JobQueue } from '../../jobs/job-queue.ts';
import type { Clock } from '../../lib/clock.ts';
import { generationWarnings, resolveGenerationParams, resultUrls, uiStatus } from '../../lib/generation-params.ts';
import { parseLoraTokens } from '../../lib/prompt-syntax.ts';
import { toIso } from '../../lib/time.ts';
import { isActiveStatus, isTerminalStatus } from '../../lib/job-statuses.ts';
import type { DeliveryRepository, DeliveryWithJob } from '../repositories/delivery.repository.ts';
import type { GenerationResultRepository } from '../repositories/generation-result.repository.ts';
import type { JobRepository } from '../../repositories/job.repository.ts';
import type { ComposeService, Composition } from './compose.service.ts';
import type { GenerationSettingsService } from './generation-settings.service.ts';
import type { OutputStore } from './output-store.ts';

export type RunMode = 'immediate' | 'deferred';
export type ReturnFormat = 'base64' | 'file_path' | 'url';

export interface GenerationOptions {
  backend: string;
  mode: RunMode;
  saveImages: boolean;
  returnFormat: ReturnFormat;
  /** The recipe this generation comes from, so its results link back to it. */
  recipeId?: string;
}

/** How often an immediate generation looks at its job row while waiting. */
const WAIT_POLL_MS = 200;

/** What GenerationService needs; one object, so call sites name each part. */
export interface GenerationServiceOptions {
  deliveries: DeliveryRepository;
  results: GenerationResultRepository;
  jobs: JobRepository;
  queue: JobQueue;
  registry: BackendRegistry;
  settings: GenerationSettingsService;
  composer: ComposeService;
  outputs: OutputStore;
  config: GenerationConfig;
  clock: Clock;
}

/**
 * Generation jobs: every generation, immediate ones included, is a `job` row plus a `delivery_job` row, run by the
 * queue (one job at a time per server unless configured otherwise). Status and progress are read from the job row.
 */
export class GenerationService {
  private readonly deliveries: DeliveryRepository;
  private readonly results: GenerationResultRepository;
  private readonly jobs: JobRepository;
  private readonly queue: JobQueue;
  private readonly registry: BackendRegistry;
  private readonly settings: GenerationSettingsService;
  private readonly composer: ComposeService;
  private readonly outputs: OutputStore;
  private readonly config: GenerationConfig;
  private readonly clock: Clock;

  constructor(options: GenerationServiceOptions) {
    this.deliveries = options.deliveries;
    this.results = options.results;
    this.jobs = options.jobs;
    this.queue = options.queue;
    this.registry = options.registry;
    this.settings = options.settings;
    this.composer = options.composer;
    this.outputs = options.outputs;
    this.config = options.config;
    this.clock = options.clock;
  }

  /** Create and enqueue a generation job. Unknown backends are refused; unconfigured ones fail when the job runs. */
  async enqueue(params: GenerationParams, options: GenerationOptions, composition?: Composition): Promise<{ id: string; warnings: string[] }> {
    const backend = options.backend.trim().toLowerCase();
    if (!this.registry.canonical(backend)) throw new BadRequestError('unknown_backend', `Generation backend '${options.backend}' not found`);
    const effective = await this.settings.effective();
    const resolved = resolveGenerationParams(params, {
      steps: effective.sdnext.defaultSteps,
      sampler: effective.sdnext.defaultSampler,
      cfgScale: effective.sdnext.defaultCfgScale,
    });
    const id = randomUUID();
    const adapters = await this.usedAdapters(id, resolved.prompt, backend, composition);
    const now = toIso(this.clock.now());
    await this.deliveries.insert(
      {
        id,
        kind: 'generation',
        mode: backend,
        backend,
        prompt: resolved.prompt,
        negative_prompt: resolved.negative_prompt,
        params: JSON.stringify({
          generation_params: resolved,
          mode: options.mode,
          save_images: options.saveImages,
          return_format: options.returnFormat,
          backend,
        }),
        width: resolved.width,
        height: resolved.height,
        steps: resolved.steps,
        cfg_scale: resolved.cfg_scale,
        sampler_name: resolved.sampler_name,
        seed: resolved.seed >= 0 ? resolved.seed : null,
        created_at: now,
        ...(options.recipeId ? { recipe_id: options.recipeId } : {}),
      },
      adapters,
    );
    try {
      await this.queue.enqueue(
        JOB_KINDS.generation,
        // The original's generation_started event carried the generation params; the WebSocket sends the payload.
        { ...resolved, backend },
        { id, maxAttempts: this.config.maxAttempts, group: this.config.onePerServer ? await this.registry.target(backend) : null },
      );
    } catch (error) {
      await this.deliveries.remove(id);
      throw error;
    }
    return { id, warnings: generationWarnings(resolved) };
  }

  /** Adapters the prompt uses, for analytics and "results with this LoRA": from the composition, else from its tokens. */
  private async usedAdapters(id: string, prompt: string, backend: string, composition?: Composition): Promise<DeliveryAdapterTable[]> {
    if (composition && composition.adapters.length > 0) {
      return composition.adapters.map((a, position) => ({ job_id: id, position, adapter_id: a.id, name: a.token_name, weight: a.weight }));
    }
    const tokens = parseLoraTokens(prompt, this.registry.canonical(backend) === 'comfyui' ? 'comfyui' : 'a1111');
    const ids = await this.deliveries.adapterIdsByNames(tokens.map((t) => t.name));
    return tokens.map((t, position) => ({ job_id: id, position, adapter_id: ids.get(t.name) ?? null, name: t.name, weight: t.weight }));
  }

  /**
   * `/generate`: queue the job, and in `immediate` mode wait for it to finish (up to the server's timeout times the
   * attempts) and answer with its images in the requested format. Unknown and unconfigured backends answer the
   * original's failed result without creating a job.
   */
  async generate(params: GenerationParams, options: GenerationOptions, composition?: Composition): Promise<GenerationResult> {
    const canonical = this.registry.canonical(options.backend);
    if (!canonical) return { job_id: 'unknown', status: 'failed', error_message: `Generation backend '${options.backend}' not found` };
    if (!(await this.registry.get(canonical))) {
      return { job_id: 'unknown', status: 'failed', error_message: `${canonical === 'sdnext' ? 'SDNext' : 'ComfyUI'} backend not configured` };
    }
    const { id, warnings } = await this.enqueue(params, options, composition);
    if (options.mode === 'deferred') return { job_id: id, status: 'queued', progress: 0, images: null, error_message: null, warnings };

    const effective = await this.settings.effective();
    const perAttempt = canonical === 'sdnext' ? effective.sdnext.timeoutMs : effective.comfyui.timeoutMs;
    const limit = perAttempt * this.config.maxAttempts + this.config.backoffMs * 2 ** this.config.maxAttempts + 30_000;
    const row = await this.waitForEnd(id, limit);
    return { ...(await this.resultOf(row, options.returnFormat)), warnings };
  }

  async composeAndGenerate(compose: ComposeRequest, params: GenerationParams, options: GenerationOptions): Promise<GenerationResult> {
    const composition = await this.composer.compose({ ...compose, delivery: null });
    if (composition.tokens.length === 0) throw new BadRequestError('no_active_adapters', 'No active adapters found');
    const result = await this.generate({ ...params, prompt: composition.prompt }, options, composition);
    return { ...result, warnings: [...composition.warnings, ...(result.warnings ?? [])] };
  }

  private async waitForEnd(id: string, limitMs: number): Promise<DeliveryWithJob> {
    const deadline = Date.now() + limitMs;
    for (;;) {
      const row = await this.deliveries.findById(id);
      if (!row) throw new NotFoundError('job_not_found', 'Job not found');
      if (isTerminalStatus(row.status) || Date.now() >= deadline) return row;
      await new Promise((resolve) => setTimeout(resolve, WAIT_POLL_MS));
    }
  }

  /** SDNextGenerationResult for a job, images in the requested format (base64 is read from disk, never stored). */
  private async resultOf(row: DeliveryWithJob, format: ReturnFormat): Promise<GenerationResult> {
    const result = parseJson(row.result) as Record<string, unknown> | null;
    const status = uiStatus(row.status);
    let images: string[] | null = null;
    if (status === 'completed') {
      const files = (await this.results.imagesFor([row.id])).get(row.id) ?? [];
      const values = await Promise.all(
        files.map(async (file) => {
          if (format === 'url') return resultUrls.image(row.id, file.idx);
          const absolute = await this.outputs.resolve(file.file);
          if (!absolute) return null;
          return format === 'file_path' ? absolute : (await fs.readFile(absolute)).toString('base64');
        }),
      );
      images = values.filter((v): v is string => v !== null);
    }
    return {
      job_id: row.id,
      status,
      images,
      progress: status === 'completed' ? 1 : Number(row.progress),
      error_message: errorOf(row, result),
      generation_info: parseJson(row.generation_info),
    };
  }

  async activeJobs(limit = 50): Promise<GenerationJobStatus[]> {
    return (await this.deliveries.listActive(limit)).map(toJobStatus);
  }

  async job(id: string): Promise<DeliveryRecord & Partial<GenerationJobStatus>> {
    const row = await this.deliveries.findById(id);
    if (!row) throw new NotFoundError('job_not_found', 'Job not found');
    const status = toJobStatus(row);
    return { ...toDeliveryRecord(row), status: status.status, raw_status: row.status, step: status.step, total_steps: status.total_steps, eta_seconds: status.eta_seconds, preview_url: status.preview_url };
  }

  /** `/progress/{id}`: the job's own persisted progress (the original read the server's global one). */
  async progress(id: string, backend: string): Promise<GenerationResult> {
    if (!this.registry.canonical(backend)) throw new NotFoundError('backend_not_found', `Backend '${backend}' not found`);
    const row = await this.deliveries.findById(id);
    if (!row) throw new NotFoundError('job_not_found', 'Job not found');
    return this.resultOf(row, 'url');
  }

  /** Cancel a pending, retrying or running job; a running one is interrupted on its server (the handler's signal). */
  async cancel(id: string): Promise<{ success: boolean; status: string; message: string }> {
    const job = await this.jobs.findById(id);
    if (!job || !(await this.deliveries.findRow(id))) throw new NotFoundError('job_not_found', 'Job not found');
    const refuse = () => new BadRequestError('job_not_cancellable', 'Job cannot be cancelled in its current state');
    if (!isActiveStatus(job.status)) throw refuse();
    try {
      const after = await this.queue.cancel(id);
      if (after.status !== 'cancelled') throw refuse();
    } catch (error) {
      if (error instanceof AppError && error.status === 404) throw new NotFoundError('job_not_found', 'Job not found');
      if (error instanceof AppError) throw refuse();
      throw error;
    }
    return { success: true, status: 'cancelled', message: 'Generation job cancelled' };
  }

  async preview(id: string): Promise<{ path: string; contentType: string }> {
    if (!(await this.deliveries.findRow(id))) throw new NotFoundError('job_not_found', 'Job not found');
    const found = await this.outputs.findPreview(id);
    if (!found) throw new NotFoundError('preview_not_found', 'No preview for this job');
    return found;
  }
}

export function parseJson(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function errorOf(row: DeliveryWithJob, result: Record<string, unknown> | null): string | null {
  const fromResult = result?.error_message ?? result?.error;
  if (typeof fromResult === 'string' && fromResult) return fromResult;
  if (row.error) return row.error;
  if (row.status === 'cancelled') return 'Cancelled';
  return null;
}

/** Stored params as the original showed them on delivery records. */
export function toDeliveryRecord(row: DeliveryWithJob): DeliveryRecord {
  let result = parseJson(row.result);
  // A failed job whose handler stored no result still shows why, in the original's {status, detail} shape.
  if (result === null && row.error && (row.status === 'failed' || row.status === 'retrying')) result = { status: 'error', detail: row.error };
  return {
    id: row.id,
    prompt: row.prompt,
    mode: row.mode,
    params: (parseJson(row.params) as Record<string, unknown>) ?? {},
    status: row.status,
    result,
    error: row.error,
    progress: Number(row.progress),
    attempts: row.attempts,
    max_attempts: row.max_attempts,
    created_at: row.created_at,
    started_at: row.started_at,
    finished_at: row.finished_at,
  };
}

export function toJobStatus(row: DeliveryWithJob): GenerationJobStatus {
  const stored = (parseJson(row.params) as Record<string, unknown>) ?? {};
  const result = parseJson(row.result) as Record<string, unknown> | null;
  const detail = (parseJson(row.progress_detail) as JobProgress | null) ?? null;
  const params =
    row.kind === 'generation' && stored.generation_params && typeof stored.generation_params === 'object'
      ? { ...(stored.generation_params as ResolvedGenerationParams), backend: row.backend }
      : stored;
  const message = detail?.message ?? (typeof result?.message === 'string' ? result.message : typeof result?.detail === 'string' ? result.detail : null);
  return {
    id: row.id,
    jobId: row.id,
    kind: row.kind,
    prompt: row.prompt,
    status: uiStatus(row.status),
    raw_status: row.status as JobStatus,
    backend: row.backend,
    progress: row.status === 'succeeded' ? 1 : Number(row.progress),
    step: detail?.step ?? null,
    total_steps: detail?.total_steps ?? null,
    eta_seconds: detail?.eta_seconds ?? null,
    preview_url: detail?.preview ?? null,
    message,
    error: errorOf(row, result),
    params: params as Record<string, unknown>,
    attempts: row.attempts,
    max_attempts: row.max_attempts,
    created_at: row.created_at,
    startTime: row.started_at ?? row.created_at,
    finished_at: row.finished_at,
    result,
  };
}
