import {
  BackendError,
  fetchWithTimeout,
  isRetryableStatus,
  responseError,
  namesFrom,
  type BackendCatalog,
  type BackendHealth,
  type GenerateOptions,
  type GenerationBackend,
  type GenerationOutput,
  type GenerationRequest,
} from './generation-backend.ts';

export interface SdnextOptions {
  baseUrl: string;
  username: string | null;
  password: string | null;
  timeoutMs: number;
  pollIntervalMs: number;
}

interface ProgressBody {
  progress?: number;
  eta_relative?: number;
  current_image?: string | null;
  id?: string | null;
  state?: { sampling_step?: number; sampling_steps?: number; job_count?: number; job_no?: number; interrupted?: boolean };
}

const PROBE_TIMEOUT_MS = 5000;
const NOT_REACHABLE = 'SDNext is not reachable';
const NOT_A1111 = 'the server answered, but not as an SDNext/A1111 server (is the API enabled, with --api?)';
/** How long a cancelled txt2img call may take to return after the interrupt before it is abandoned. */
const INTERRUPT_GRACE_MS = 15_000;

/**
 * SDNext and AUTOMATIC1111 through their shared `/sdapi/v1` API. txt2img blocks until the images are ready, so
 * progress is polled from `/sdapi/v1/progress` on a second connection meanwhile. The queue runs one job per server,
 * so the server's progress is this job's.
 */
export class SdnextBackend implements GenerationBackend {
  readonly name = 'sdnext';
  readonly target: string;

  constructor(private readonly options: SdnextOptions) {
    this.target = `sdnext:${options.baseUrl}`;
  }

  get baseUrl(): string {
    return this.options.baseUrl;
  }

  private headers(json = false): Record<string, string> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (json) headers['content-type'] = 'application/json';
    if (this.options.username !== null && this.options.password !== null) {
      headers.authorization = `Basic ${Buffer.from(`${this.options.username}:${this.options.password}`).toString('base64')}`;
    }
    return headers;
  }

  private url(route: string): string {
    return `${this.options.baseUrl}${route}`;
  }

  /**
   * Whether an A1111-compatible server answers at the URL. The texts are deliberately coarse - available, not
   * reachable, or answering but not as A1111 does - so that pointing the URL setting at other hosts and reading this
   * cannot tell a closed port from a filtered one or name the service behind it.
   */
  async probe(signal?: AbortSignal): Promise<BackendHealth> {
    let res: Response;
    try {
      res = await fetchWithTimeout('SDNext', this.url('/sdapi/v1/progress?skip_current_image=true'), {
        headers: this.headers(),
        timeoutMs: PROBE_TIMEOUT_MS,
        signal,
      });
    } catch {
      return { available: false, error: NOT_REACHABLE };
    }
    if (res.status === 401 && this.options.password !== null) {
      await res.body?.cancel();
      return { available: false, error: 'SDNext refused the credentials (HTTP 401)' };
    }
    const body = res.ok ? await res.json().catch(() => null) : await res.body?.cancel();
    const looksRight = typeof body === 'object' && body !== null && 'progress' in body;
    return looksRight ? { available: true, error: null } : { available: false, error: NOT_A1111 };
  }

  /** A GET whose JSON body is returned, or null when the server does not have the route or does not answer. */
  private async optionalJson(route: string, signal?: AbortSignal): Promise<unknown> {
    try {
      const res = await fetchWithTimeout('SDNext', this.url(route), { headers: this.headers(), timeoutMs: PROBE_TIMEOUT_MS, signal });
      if (!res.ok) {
        await res.body?.cancel();
        return null;
      }
      return await res.json();
    } catch {
      return null;
    }
  }

  /** /samplers, /schedulers (A1111 1.9+ and SDNext), /sd-models and the loaded model from /options, asked together. */
  async catalog(signal?: AbortSignal): Promise<BackendCatalog> {
    const [samplers, schedulers, models, options] = await Promise.all(
      ['/sdapi/v1/samplers', '/sdapi/v1/schedulers', '/sdapi/v1/sd-models', '/sdapi/v1/options'].map((route) => this.optionalJson(route, signal)),
    );
    const loaded = (options as { sd_model_checkpoint?: unknown } | null)?.sd_model_checkpoint;
    return {
      samplers: namesFrom(samplers, 'name'),
      // SDNext lists plain names; A1111 objects with `name` (what txt2img takes) and `label`.
      schedulers: namesFrom(schedulers).length ? namesFrom(schedulers) : namesFrom(schedulers, 'name'),
      checkpoints: namesFrom(models, 'title'),
      currentCheckpoint: typeof loaded === 'string' && loaded ? loaded : null,
    };
  }

  async generate(request: GenerationRequest, { signal, onProgress }: GenerateOptions): Promise<GenerationOutput> {
    signal.throwIfAborted();
    const p = request.params;
    const overrides: Record<string, unknown> = {};
    if (p.checkpoint) overrides.sd_model_checkpoint = p.checkpoint;
    if (p.clip_skip) overrides.CLIP_stop_at_last_layers = p.clip_skip;
    const body: Record<string, unknown> = {
      prompt: p.prompt,
      negative_prompt: p.negative_prompt ?? '',
      steps: p.steps,
      sampler_name: p.sampler_name,
      cfg_scale: p.cfg_scale,
      width: p.width,
      height: p.height,
      seed: p.seed,
      batch_size: p.batch_size,
      n_iter: p.n_iter,
      save_images: request.serverSavesImages,
      send_images: true,
      force_task_id: request.jobId,
    };
    if (p.denoising_strength !== null) body.denoising_strength = p.denoising_strength;
    if (p.scheduler) body.scheduler = p.scheduler;
    if (Object.keys(overrides).length > 0) body.override_settings = overrides;

    const stopPolling = this.pollProgress(request.jobId, signal, onProgress);
    // Cancelling the job, or giving up on a slow server, must stop the server too, or it keeps the GPU busy. After a
    // cancel the txt2img call is still awaited (briefly) so the next job on this server starts only once it stopped.
    const stopServer = () => void this.interrupt().catch(() => undefined);
    const giveUp = new AbortController();
    let graceTimer: NodeJS.Timeout | undefined;
    const onCancel = () => {
      stopServer();
      graceTimer = setTimeout(() => giveUp.abort(signal.reason), INTERRUPT_GRACE_MS);
    };
    signal.addEventListener('abort', onCancel, { once: true });
    let response: Response;
    try {
      response = await fetchWithTimeout('SDNext', this.url('/sdapi/v1/txt2img'), {
        method: 'POST',
        headers: this.headers(true),
        body: JSON.stringify(body),
        timeoutMs: this.options.timeoutMs,
        signal: giveUp.signal,
      });
    } catch (error) {
      signal.throwIfAborted();
      if (error instanceof BackendError && error.timedOut) stopServer();
      throw error;
    } finally {
      stopPolling();
      clearTimeout(graceTimer);
      signal.removeEventListener('abort', onCancel);
    }
    signal.throwIfAborted();
    if (!response.ok) {
      const detail = await responseError(response);
      throw new BackendError(`SDNext txt2img failed (HTTP ${response.status}): ${detail}`, isRetryableStatus(response.status), response.status);
    }
    const json = (await response.json().catch(() => null)) as { images?: unknown; info?: unknown } | null;
    // An interrupted run still answers with whatever it had; that is not a result.
    signal.throwIfAborted();
    if (!json || !Array.isArray(json.images)) throw new BackendError('SDNext answered txt2img without an images list', true);
    const info = parseInfo(json.info);
    const infotexts = Array.isArray(info.infotexts) ? (info.infotexts as unknown[]) : [];
    const seeds = Array.isArray(info.all_seeds) ? (info.all_seeds as unknown[]) : [];
    const images = json.images
      .filter((img): img is string => typeof img === 'string' && img.length > 0)
      .map((img, i) => ({
        data: Buffer.from(img.replace(/^data:[^;]+;base64,/, ''), 'base64'),
        infotext: typeof infotexts[i] === 'string' ? (infotexts[i] as string) : null,
        seed: typeof seeds[i] === 'number' ? (seeds[i] as number) : typeof info.seed === 'number' ? (info.seed as number) + i : null,
      }));
    if (images.length === 0) throw new BackendError('SDNext returned no images', true);
    return { images, info };
  }

  /** Poll `/progress` until stopped. Errors are ignored: progress is informative, the txt2img call decides. */
  private pollProgress(jobId: string, signal: AbortSignal, onProgress: GenerateOptions['onProgress']): () => void {
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    const tick = async () => {
      if (stopped || signal.aborted) return;
      try {
        const res = await fetchWithTimeout('SDNext', this.url('/sdapi/v1/progress?skip_current_image=false'), {
          headers: this.headers(),
          timeoutMs: Math.max(2000, this.options.pollIntervalMs * 2),
          signal,
        });
        if (res.ok && !stopped) {
          const body = (await res.json()) as ProgressBody;
          // SDNext reports the task id; skip ticks that belong to someone else's generation on the same server.
          const foreign = typeof body.id === 'string' && body.id !== '' && body.id !== jobId && !body.id.includes(jobId);
          const active = (body.state?.job_count ?? 0) > 0 || (body.progress ?? 0) > 0;
          if (!foreign && active && !stopped) {
            onProgress({
              progress: clamp01(body.progress ?? 0),
              step: numberOrNull(body.state?.sampling_step),
              totalSteps: numberOrNull(body.state?.sampling_steps),
              etaSeconds: numberOrNull(body.eta_relative),
              preview: body.current_image ? Buffer.from(body.current_image.replace(/^data:[^;]+;base64,/, ''), 'base64') : null,
            });
          }
        } else {
          await res.body?.cancel();
        }
      } catch {
        /* next tick */
      }
      if (!stopped) timer = setTimeout(() => void tick(), this.options.pollIntervalMs);
    };
    timer = setTimeout(() => void tick(), Math.min(250, this.options.pollIntervalMs));
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }

  async interrupt(): Promise<void> {
    // A1111 answers 200 with a body, SDNext 204; both mean done.
    const res = await fetchWithTimeout('SDNext', this.url('/sdapi/v1/interrupt'), { method: 'POST', headers: this.headers(), timeoutMs: PROBE_TIMEOUT_MS });
    await res.body?.cancel();
    if (!res.ok) throw new BackendError(`SDNext interrupt failed (HTTP ${res.status})`, false, res.status);
  }
}

function parseInfo(info: unknown): Record<string, unknown> {
  if (typeof info === 'string') {
    try {
      const parsed: unknown = JSON.parse(info);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
    } catch {
      return { text: info };
    }
  }
  return info && typeof info === 'object' && !Array.isArray(info) ? (info as Record<string, unknown>) : {};
}

function clamp01(n: number): number {
  return Number.isFinite(n) ? Math.min(1, Math.max(0, n)) : 0;
}

function numberOrNull(n: unknown): number | null {
  return typeof n === 'number' && Number.isFinite(n) ? n : null;
}
