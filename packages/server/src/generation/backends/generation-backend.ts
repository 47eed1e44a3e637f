import type { ResolvedGenerationParams } from '@lora-manager/contract';

/** A LoRA the job uses, as the catalogue knows it (ComfyUI needs the file; A1111 reads tokens from the prompt). */
export interface GenerationLora {
  name: string;
  weight: number;
  te: number | null;
  unet: number | null;
  /** Catalogue facts when the adapter is known. */
  adapterId: string | null;
  filePath: string | null;
  relativePath: string | null;
  shortHash: string | null;
}

export interface GenerationRequest {
  /** The job id: tags the task on the server where the server supports it. */
  jobId: string;
  params: ResolvedGenerationParams;
  loras: GenerationLora[];
  /** Ask the server to also keep its own copy in its outputs folder (A1111 `save_images`). */
  serverSavesImages: boolean;
}

export interface BackendProgress {
  /** 0–1. */
  progress: number;
  step: number | null;
  totalSteps: number | null;
  etaSeconds: number | null;
  /** A preview image of the current step, when the server sends one. */
  preview: Buffer | null;
}

export interface GeneratedImage {
  data: Buffer;
  /** A1111 infotext for this image when the server produced one. */
  infotext: string | null;
  seed: number | null;
}

export interface GenerationOutput {
  images: GeneratedImage[];
  /** What the server reported about the run (A1111 `info`), without image data. */
  info: Record<string, unknown>;
}

export interface GenerateOptions {
  signal: AbortSignal;
  onProgress(progress: BackendProgress): void;
}

export interface BackendHealth {
  available: boolean;
  error: string | null;
}

/** What a server offers to choose from; lists the server could not give are empty. */
export interface BackendCatalog {
  samplers: string[];
  schedulers: string[];
  checkpoints: string[];
  currentCheckpoint: string | null;
}

/**
 * A generation failure. `retryable` false means retrying cannot help (the server refused the request as invalid or
 * unauthorised); the queue then fails the job at once.
 */
export class BackendError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status: number | null = null,
    /** The server did not answer in time: it may still be working, so interrupt it before retrying. */
    readonly timedOut = false,
  ) {
    super(message);
    this.name = 'BackendError';
  }
}

/** A generation server (SDNext/A1111, ComfyUI). One instance per configured server. */
export interface GenerationBackend {
  /** Registry name: `sdnext`, `comfyui`. */
  readonly name: string;
  readonly baseUrl: string;
  /** Queue group: jobs with the same target run one at a time. */
  readonly target: string;
  probe(signal?: AbortSignal): Promise<BackendHealth>;
  /** Samplers, schedulers and checkpoints the server lists, for the generation form. */
  catalog(signal?: AbortSignal): Promise<BackendCatalog>;
  generate(request: GenerationRequest, options: GenerateOptions): Promise<GenerationOutput>;
  /** Stop whatever the server is generating now. */
  interrupt(): Promise<void>;
}

/** `fetch` with a timeout, a caller's signal, and network errors turned into retryable BackendErrors. */
export async function fetchWithTimeout(
  what: string,
  url: string,
  init: RequestInit & { timeoutMs: number; signal?: AbortSignal },
): Promise<Response> {
  const timeout = AbortSignal.timeout(init.timeoutMs);
  const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
  try {
    return await fetch(url, { ...init, signal });
  } catch (error) {
    if (init.signal?.aborted) throw init.signal.reason ?? error;
    if (timeout.aborted) throw new BackendError(`${what} did not answer within ${Math.round(init.timeoutMs / 1000)} s`, true, null, true);
    // No errno or resolver text: job errors are shown to API clients, and "refused" vs "no such host" vs "reset"
    // would map the network behind a server URL that anyone with API access can set.
    throw new BackendError(`${what} is not reachable at ${new URL(url).origin}`, true);
  }
}

/** The error text of a failed response: the JSON `detail`/`error` when there is one, else the body, else the status. */
export async function responseError(response: Response): Promise<string> {
  const text = await response.text().catch(() => '');
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    const detail = body.detail ?? body.error ?? body.message;
    if (typeof detail === 'string' && detail) return detail;
    if (detail !== undefined) return JSON.stringify(detail).slice(0, 2000);
  } catch {
    /* not JSON */
  }
  return text.trim().slice(0, 2000) || `HTTP ${response.status}`;
}

/** Strings from a list a server returned, or from the named field of each entry; anything else is dropped. Bounded. */
export function namesFrom(list: unknown, field?: string): string[] {
  if (!Array.isArray(list)) return [];
  const names = list.map((entry) => (field && typeof entry === 'object' && entry !== null ? (entry as Record<string, unknown>)[field] : entry));
  return [...new Set(names.filter((n): n is string => typeof n === 'string' && n.length > 0 && n.length <= 500))].slice(0, 2000);
}

/** 4xx answers other than timeouts and rate limits mean the request itself is wrong. */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}
