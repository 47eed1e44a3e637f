import { setTimeout as sleep } from 'node:timers/promises';

/**
 * CivitAI's public REST API (v1), as far as a catalogue needs it: model-version records by file hash (batched), and
 * model records by id (for tags and the model description). Requests are spaced out, 429 answers wait for
 * Retry-After, and transient failures are retried a few times before the client gives up with
 * CivitaiUnreachableError, which callers keep apart from "not on CivitAI".
 */
export type CivitaiRecord = Record<string, unknown>;

export interface CivitaiClient {
  /** Version records keyed by the (upper-case) hash that found them; a hash missing from the map is not on CivitAI. */
  versionsByHash(hashes: readonly string[], options: CivitaiCallOptions): Promise<Map<string, CivitaiRecord>>;
  models(ids: readonly number[], options: CivitaiCallOptions): Promise<Map<number, CivitaiRecord>>;
  /** Download an image (an example image as a preview), at most `maxBytes`. */
  image(url: string, maxBytes: number, options: CivitaiCallOptions): Promise<{ bytes: Buffer; contentType: string }>;
}

export interface CivitaiCallOptions {
  apiKey: string | null;
  signal?: AbortSignal;
}

export class CivitaiUnreachableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CivitaiUnreachableError';
  }
}

export interface HttpCivitaiOptions {
  baseUrl: string;
  /** Least time between two requests. */
  minIntervalMs?: number;
  attempts?: number;
  timeoutMs?: number;
  /** Longest Retry-After honoured before giving up. */
  maxRetryAfterMs?: number;
}

/** CivitAI's batch endpoint takes up to 100 hashes a call (what ComfyUI-Lora-Manager sends). */
const HASH_BATCH = 100;
const MODEL_BATCH = 100;

export class HttpCivitaiClient implements CivitaiClient {
  private nextAt = 0;
  private readonly minIntervalMs: number;
  private readonly attempts: number;
  private readonly timeoutMs: number;
  private readonly maxRetryAfterMs: number;

  constructor(private readonly options: HttpCivitaiOptions) {
    this.minIntervalMs = options.minIntervalMs ?? 1000;
    this.attempts = options.attempts ?? 3;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? 120_000;
  }

  async versionsByHash(hashes: readonly string[], options: CivitaiCallOptions): Promise<Map<string, CivitaiRecord>> {
    const wanted = [...new Set(hashes.map((h) => h.toUpperCase()))];
    const out = new Map<string, CivitaiRecord>();
    for (let i = 0; i < wanted.length; i += HASH_BATCH) {
      const batch = wanted.slice(i, i + HASH_BATCH);
      const res = await this.request('POST', '/model-versions/by-hash', options, batch);
      if (res.status === 404 || res.status === 405) {
        // No batch endpoint here: one request per hash.
        for (const hash of batch) {
          const one = await this.request('GET', `/model-versions/by-hash/${encodeURIComponent(hash)}`, options);
          if (one.status === 404) continue;
          const record = await this.json(one);
          if (isRecord(record)) out.set(hash, record);
        }
        continue;
      }
      const body = await this.json(res);
      if (!Array.isArray(body)) throw new CivitaiUnreachableError('CivitAI answered the hash lookup with something other than a list');
      const pending = new Set(batch);
      for (const version of body.filter(isRecord)) {
        for (const hash of fileHashes(version)) {
          if (pending.has(hash)) {
            out.set(hash, version);
            pending.delete(hash);
          }
        }
      }
    }
    return out;
  }

  async models(ids: readonly number[], options: CivitaiCallOptions): Promise<Map<number, CivitaiRecord>> {
    const out = new Map<number, CivitaiRecord>();
    const unique = [...new Set(ids)];
    for (let i = 0; i < unique.length; i += MODEL_BATCH) {
      const batch = unique.slice(i, i + MODEL_BATCH);
      const res = await this.request('GET', `/models?ids=${batch.join(',')}&nsfw=true&limit=${batch.length}`, options);
      if (res.status === 404) continue;
      const body = await this.json(res);
      const items = isRecord(body) && Array.isArray(body.items) ? body.items : [];
      for (const model of items.filter(isRecord)) if (typeof model.id === 'number') out.set(model.id, model);
    }
    return out;
  }

  async image(url: string, maxBytes: number, options: CivitaiCallOptions): Promise<{ bytes: Buffer; contentType: string }> {
    const res = await this.request('GET', url, options);
    if (!res.ok) throw new CivitaiUnreachableError(`image download answered ${res.status}`);
    const length = Number(res.headers.get('content-length') ?? 0);
    if (length > maxBytes) throw new Error(`image is larger than ${maxBytes} bytes`);
    const bytes = Buffer.from(await res.arrayBuffer());
    if (bytes.length > maxBytes) throw new Error(`image is larger than ${maxBytes} bytes`);
    return { bytes, contentType: res.headers.get('content-type') ?? 'application/octet-stream' };
  }

  /** One request with spacing, 429 handling and retries. 404 is returned to the caller; other 4xx are errors. */
  private async request(method: 'GET' | 'POST', pathOrUrl: string, options: CivitaiCallOptions, body?: unknown): Promise<Response> {
    const url = /^https?:\/\//.test(pathOrUrl) ? pathOrUrl : `${this.options.baseUrl}${pathOrUrl}`;
    // The key is for the API's origin only: image URLs come from CivitAI's answers and may name any host.
    const withKey = options.apiKey !== null && options.apiKey !== '' && new URL(url).origin === new URL(this.options.baseUrl).origin;
    let lastError = 'no answer';
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      options.signal?.throwIfAborted();
      const wait = this.nextAt - Date.now();
      if (wait > 0) await sleep(wait, undefined, { signal: options.signal });
      this.nextAt = Date.now() + this.minIntervalMs;
      let res: Response;
      try {
        res = await fetch(url, {
          method,
          headers: {
            accept: 'application/json',
            ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
            ...(withKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: options.signal ? AbortSignal.any([options.signal, AbortSignal.timeout(this.timeoutMs)]) : AbortSignal.timeout(this.timeoutMs),
        });
      } catch (error) {
        if (options.signal?.aborted) throw error;
        lastError = (error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message;
        await sleep(backoff(attempt), undefined, { signal: options.signal });
        continue;
      }
      if (res.status === 429) {
        const retryAfter = parseRetryAfter(res.headers.get('retry-after')) ?? backoff(attempt) * 5;
        await res.body?.cancel();
        if (retryAfter > this.maxRetryAfterMs) throw new CivitaiUnreachableError(`CivitAI is rate limiting; it asked to wait ${Math.round(retryAfter / 1000)} s`);
        lastError = 'rate limited';
        this.nextAt = Date.now() + retryAfter;
        continue;
      }
      if (res.status >= 500) {
        lastError = `HTTP ${res.status}`;
        await res.body?.cancel();
        await sleep(backoff(attempt), undefined, { signal: options.signal });
        continue;
      }
      if (res.status === 401 || res.status === 403) {
        await res.body?.cancel();
        throw new CivitaiUnreachableError(`CivitAI refused the request (HTTP ${res.status}); check the API key`);
      }
      return res;
    }
    throw new CivitaiUnreachableError(`CivitAI is unreachable: ${lastError}`);
  }

  private async json(res: Response): Promise<unknown> {
    if (!res.ok) {
      await res.body?.cancel();
      throw new CivitaiUnreachableError(`CivitAI answered HTTP ${res.status}`);
    }
    try {
      return await res.json();
    } catch {
      throw new CivitaiUnreachableError('CivitAI answered with invalid JSON');
    }
  }
}

function backoff(attempt: number): number {
  return Math.min(10_000, 500 * 2 ** (attempt - 1));
}

function parseRetryAfter(value: string | null): number | null {
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now());
}

function isRecord(value: unknown): value is CivitaiRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every hash CivitAI lists for the version's files, upper-case. */
export function fileHashes(version: CivitaiRecord): string[] {
  const files = Array.isArray(version.files) ? version.files.filter(isRecord) : [];
  return files.flatMap((f) => (isRecord(f.hashes) ? Object.values(f.hashes).filter((h): h is string => typeof h === 'string').map((h) => h.toUpperCase()) : []));
}
