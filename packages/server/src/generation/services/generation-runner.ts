import type { JobProgress, ResolvedGenerationParams } from '@lora-manager/contract';
import type { Logger } from 'pino';
import type { BackendRegistry } from '../backends/backend-registry.ts';
import { BackendError, type BackendProgress, type GeneratedImage, type GenerationLora } from '../backends/generation-backend.ts';
import type { GenerationImageTable } from '../../db/tables.ts';
import type { Clock } from '../../lib/clock.ts';
import { resultUrls } from '../../lib/generation-params.ts';
import { formatInfotext, withMissingParams } from '../../lib/infotext.ts';
import { isPng, readTextChunks, withTextChunk } from '../../lib/png.ts';
import { parseLoraTokens } from '../../lib/prompt-syntax.ts';
import { toIso } from '../../lib/time.ts';
import type { AdapterRepository } from '../../library/repositories/adapter.repository.ts';
import type { DeliveryRepository } from '../repositories/delivery.repository.ts';
import type { GenerationResultRepository } from '../repositories/generation-result.repository.ts';
import type { GenerationJobResult } from '../../jobs/job-catalogue.ts';
import { PermanentJobError } from '../../jobs/job-queue.ts';
import type { OutputStore } from './output-store.ts';

/** How often progress is written and published at most; servers can report many steps a second. */
const PROGRESS_INTERVAL_MS = 250;
/** generation_info larger than this is stored without its bulky per-image lists. */
const MAX_INFO_BYTES = 256 * 1024;

const LABELS: Record<string, string> = { sdnext: 'SDNext', comfyui: 'ComfyUI' };

/** One attempt at a generation job, as the queue hands it over. */
export interface GenerationRun {
  jobId: string;
  /** 1 on the first run, 2 on the first retry, … */
  attempt: number;
  maxAttempts: number;
  signal: AbortSignal;
  progress(update: JobProgress): Promise<void>;
  logger: Logger;
}

/** What GenerationRunner needs; one object, so call sites name each part. */
export interface GenerationRunnerOptions {
  deliveries: DeliveryRepository;
  results: GenerationResultRepository;
  adapters: AdapterRepository;
  registry: BackendRegistry;
  outputs: OutputStore;
  clock: Clock;
}

/**
 * Runs one generation job: calls the backend with live progress, writes the images (with their infotext and a
 * thumbnail) under OUTPUT_DIR/<job id>/, records them, and returns the job result. Server errors that retrying can
 * fix are thrown as-is (the queue retries with backoff); the rest fail the job at once with a readable reason.
 */
export class GenerationRunner {
  private readonly deliveries: DeliveryRepository;
  private readonly results: GenerationResultRepository;
  private readonly adapters: AdapterRepository;
  private readonly registry: BackendRegistry;
  private readonly outputs: OutputStore;
  private readonly clock: Clock;

  constructor(options: GenerationRunnerOptions) {
    this.deliveries = options.deliveries;
    this.results = options.results;
    this.adapters = options.adapters;
    this.registry = options.registry;
    this.outputs = options.outputs;
    this.clock = options.clock;
  }

  async run(job: GenerationRun): Promise<GenerationJobResult> {
    const id = job.jobId;
    const row = await this.deliveries.findRow(id);
    if (!row) throw new PermanentJobError('the generation request for this job was deleted');
    const stored = JSON.parse(row.params) as { generation_params: ResolvedGenerationParams; save_images?: boolean };
    const params = stored.generation_params;
    const backendName = row.backend ?? row.mode;
    const canonical = this.registry.canonical(backendName);
    if (!canonical) {
      const detail = `Generation backend '${backendName}' not found`;
      throw new PermanentJobError(detail, { status: 'failed', error_message: detail });
    }
    const backend = await this.registry.get(canonical);
    if (!backend) {
      const detail = `${LABELS[canonical]} backend not configured`;
      throw new PermanentJobError(detail, { status: 'failed', error_message: detail });
    }

    const loras = await this.lorasFor(id, params.prompt, canonical === 'comfyui' ? 'comfyui' : 'a1111');
    const reporter = new ProgressReporter(job, this.outputs, id);
    let output;
    try {
      output = await backend.generate(
        { jobId: id, params, loras, serverSavesImages: stored.save_images === true },
        { signal: job.signal, onProgress: (p) => reporter.report(p) },
      );
    } catch (error) {
      await reporter.settle();
      job.signal.throwIfAborted();
      const message = (error as Error).message;
      // The last attempt, or an error retrying cannot fix, ends the job with the reason in its result.
      if ((error instanceof BackendError && !error.retryable) || job.attempt >= job.maxAttempts) {
        throw new PermanentJobError(message, { status: 'failed', error_message: message });
      }
      throw error;
    }
    await reporter.settle();
    job.signal.throwIfAborted();

    const now = toIso(this.clock.now());
    const rows: GenerationImageTable[] = [];
    for (const [index, image] of output.images.entries()) {
      const data = this.withInfotext(image, params, loras, canonical, output.info);
      const file = await this.outputs.writeImage(id, index, data);
      rows.push({
        job_id: id,
        idx: index,
        file: file.file,
        thumbnail: file.thumbnail,
        content_type: file.contentType,
        width: file.width,
        height: file.height,
        bytes: file.bytes,
        seed: image.seed,
        created_at: now,
      });
    }
    const info = compactInfo(output.info);
    await this.results.saveGeneration(id, rows, {
      width: rows[0]?.width ?? params.width,
      height: rows[0]?.height ?? params.height,
      seed: rows[0]?.seed ?? (params.seed >= 0 ? params.seed : null),
      generation_info: JSON.stringify(info),
    });
    await this.outputs.removePreview(id).catch(() => undefined);
    return {
      status: 'completed',
      job_id: id,
      backend: canonical,
      images: rows.map((r) => resultUrls.image(id, r.idx)),
      thumbnails: rows.map((r) => (r.thumbnail ? resultUrls.thumbnail(id, r.idx) : resultUrls.image(id, r.idx))),
      progress: 1,
      generation_info: info,
    };
  }

  /** LoRAs named in the prompt, with catalogue facts for the ones the job recorded (ComfyUI needs their files). */
  private async lorasFor(id: string, prompt: string, syntax: 'a1111' | 'comfyui'): Promise<GenerationLora[]> {
    const tokens = parseLoraTokens(prompt, syntax);
    if (tokens.length === 0) return [];
    const recorded = (await this.deliveries.adaptersFor([id])).get(id) ?? [];
    const ids = recorded.map((r) => r.adapter_id).filter((x): x is string => x !== null);
    const adapters = new Map((await this.adapters.findByIds(ids)).map((a) => [a.id, a]));
    return tokens.map((t) => {
      const adapterId = recorded.find((r) => r.name === t.name)?.adapter_id ?? null;
      const adapter = adapterId ? adapters.get(adapterId) : undefined;
      return {
        name: t.name,
        weight: t.weight,
        te: t.te ?? null,
        unet: t.unet ?? null,
        adapterId,
        filePath: adapter?.file_path ?? null,
        relativePath: adapter?.relative_path ?? null,
        shortHash: adapter?.autov3 ?? adapter?.autov2 ?? null,
      };
    });
  }

  /**
   * PNGs keep the server's own `parameters`, completed with `Lora hashes` and `Model hash` when the server left them
   * out (so CivitAI and recipe importers recognise the LoRAs); ones without (ComfyUI) get a whole A1111 infotext.
   */
  private withInfotext(
    image: GeneratedImage,
    p: ResolvedGenerationParams,
    loras: readonly GenerationLora[],
    backend: string,
    info: Record<string, unknown>,
  ): Buffer {
    if (!isPng(image.data)) return image.data;
    try {
      const loraHashes = loras.filter((l) => l.shortHash).map((l) => `${l.name.replace(/[:,]/g, '')}: ${l.shortHash}`).join(', ') || null;
      const modelHash = typeof info.sd_model_hash === 'string' && /^[0-9a-f]{8,64}$/i.test(info.sd_model_hash) ? info.sd_model_hash.slice(0, 10) : null;
      const embedded = readTextChunks(image.data).parameters;
      const existing = embedded ?? image.infotext;
      if (existing) {
        const completed = withMissingParams(existing, [
          ['Model hash', modelHash],
          ['Lora hashes', loraHashes],
        ]);
        return completed === embedded ? image.data : withTextChunk(image.data, 'parameters', completed);
      }
      const text = formatInfotext(p.prompt, p.negative_prompt, [
        ['Steps', p.steps],
        ['Sampler', p.sampler_name],
        ['Schedule type', p.scheduler],
        ['CFG scale', p.cfg_scale],
        ['Seed', image.seed ?? p.seed],
        ['Size', `${p.width}x${p.height}`],
        ['Model hash', modelHash],
        ['Model', typeof info.sd_model_name === 'string' ? info.sd_model_name : p.checkpoint],
        ['Clip skip', p.clip_skip && p.clip_skip > 1 ? p.clip_skip : null],
        ['Lora hashes', loraHashes],
        ['Version', `lora-manager (${backend})`],
      ]);
      return withTextChunk(image.data, 'parameters', text);
    } catch {
      // A PNG we cannot re-chunk is still the user's image: keep it as the server sent it.
      return image.data;
    }
  }
}

function compactInfo(info: Record<string, unknown>): Record<string, unknown> {
  if (JSON.stringify(info).length <= MAX_INFO_BYTES) return info;
  const { all_prompts: _a, all_negative_prompts: _b, infotexts: _c, all_seeds: _d, all_subseeds: _e, ...rest } = info;
  return JSON.stringify(rest).length <= MAX_INFO_BYTES ? rest : { truncated: true };
}

/**
 * Turns backend progress into job progress: at most one write every PROGRESS_INTERVAL_MS and never two at once,
 * always ending on the latest report (a server paused at step 2 shows step 2). The preview is written as a file
 * (never base64 on the job row) and referenced by URL.
 */
class ProgressReporter {
  private inflight: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private pending: BackendProgress | null = null;
  private pendingPreview: Buffer | null = null;
  private lastAt = 0;
  private previews = 0;
  private lastPreview: string | null = null;

  constructor(
    private readonly run: Pick<GenerationRun, 'progress' | 'logger'>,
    private readonly outputs: OutputStore,
    private readonly id: string,
  ) {}

  report(p: BackendProgress): void {
    this.pending = p;
    if (p.preview) this.pendingPreview = p.preview;
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.inflight || !this.pending) return;
    const wait = Math.max(0, this.lastAt + PROGRESS_INTERVAL_MS - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, wait);
  }

  private flush(): void {
    const p = this.pending;
    const previewBytes = this.pendingPreview;
    this.pending = null;
    this.pendingPreview = null;
    if (!p) return;
    this.lastAt = Date.now();
    this.inflight = (async () => {
      if (previewBytes && (await this.outputs.writePreview(this.id, previewBytes).catch(() => null))) {
        this.lastPreview = resultUrls.preview(this.id, ++this.previews);
      }
      const update: JobProgress = {
        progress: Math.min(1, Math.max(0, p.progress)),
        step: p.step === null ? null : Math.round(p.step),
        total_steps: p.totalSteps === null ? null : Math.round(p.totalSteps),
        eta_seconds: p.etaSeconds,
        ...(this.lastPreview ? { preview: this.lastPreview } : {}),
      };
      await this.run.progress(update);
    })()
      .catch((error: unknown) => this.run.logger.warn({ err: error }, 'could not record generation progress'))
      .finally(() => {
        this.inflight = null;
        this.schedule();
      });
  }

  /** Stop reporting (the run is over) and wait for a write in flight. */
  async settle(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pending = null;
    await this.inflight;
  }
}
