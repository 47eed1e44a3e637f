import type { FrontendSettings, Problem } from '@lora-manager/contract';

/**
 * The one place that knows where the API lives. Every request URL is resolved from the backend URL the settings
 * store holds (default `/api/v1`, changeable at run time, also to another origin with an API key). Feature API
 * modules (features/<area>/api/*.ts) pass paths relative to that base; they never spell the base themselves.
 */
export interface ApiTarget {
  baseUrl: string;
  apiKey: string | null;
}

export const DEFAULT_API_BASE = '/api/v1';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly problem?: Problem,
  ) {
    super(message);
  }
}

export type Query = Record<string, unknown>;

function queryString(query: Query | undefined): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === null || value === '') continue;
    params.set(key, String(value));
  }
  return params.toString();
}

export function resolveUrl(target: ApiTarget, path: string, query?: Query): string {
  const base = (target.baseUrl.trim() || DEFAULT_API_BASE).replace(/\/+$/, '');
  const url = `${base}/${path.replace(/^\/+/, '')}`;
  const qs = queryString(query);
  return qs ? `${url}?${qs}` : url;
}

/**
 * Whether a URL the browser fetches by itself (an <img> src, a download link, the WebSocket) must carry the key in its
 * query. Not when the API is on the page's own origin: there the browser holds an HttpOnly session cookie (see
 * `openSession`), so keys stay out of URLs, history and server logs. A server on another origin never receives that
 * cookie (SameSite=Strict), so there, and only there, the key still travels as `api_key`.
 */
function keyInUrl(target: ApiTarget, pageOrigin: string): boolean {
  if (!target.apiKey) return false;
  if (!/^https?:\/\//i.test(target.baseUrl.trim())) return false;
  return new URL(target.baseUrl.trim()).origin !== pageOrigin;
}

const pageOrigin = () => globalThis.location?.origin ?? 'http://localhost';

export function resolveAssetUrl(target: ApiTarget, path: string, query?: Query, origin: string = pageOrigin()): string {
  return resolveUrl(target, path, { ...query, api_key: keyInUrl(target, origin) ? target.apiKey : undefined });
}

/** The WebSocket URL for `path` under the API base: a relative base is taken against the page's own origin. */
export function resolveWsUrl(target: ApiTarget, path: string, origin: string = pageOrigin()): string {
  const absolute = new URL(resolveAssetUrl(target, path, undefined, origin), origin);
  absolute.protocol = absolute.protocol === 'https:' ? 'wss:' : 'ws:';
  return absolute.toString();
}

/**
 * A URL the server handed out (an image of a result, a progress preview): server-absolute paths belong to the API's
 * origin, which is not the page's when the backend URL points elsewhere (then the key is added for the browser's fetch).
 */
export function resolveServerUrl(target: ApiTarget, url: string, origin: string = pageOrigin()): string {
  if (url.startsWith('data:')) return url;
  const absoluteBase = /^https?:\/\//i.test(target.baseUrl);
  const resolved = absoluteBase ? new URL(url, target.baseUrl) : new URL(url, 'http://same-origin.invalid');
  if (keyInUrl(target, origin)) resolved.searchParams.set('api_key', target.apiKey!);
  if (absoluteBase || /^https?:\/\//i.test(url)) return resolved.toString();
  return `${resolved.pathname}${resolved.search}${resolved.hash}`;
}

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  signal?: AbortSignal;
  /** Parse the body as a Blob (downloads) instead of JSON. */
  blob?: boolean;
}

function unreachable(t: ApiTarget): ApiError {
  return new ApiError(0, 'network_error', `Cannot reach the server at ${t.baseUrl}. Is it running? (Settings → Connection)`);
}

/** An ApiError from a failed response and its problem document, if it sent one. */
function problemError(status: number, problem: Problem | null, statusText: string): ApiError {
  return new ApiError(status, problem?.code ?? 'http_error', problem?.title ?? (statusText || `HTTP ${status}`), problem ?? undefined);
}

/**
 * `ready`, when given, is awaited before each request: the app mounts at once and its first requests wait for the
 * server to say where the API is, instead of the whole page waiting.
 */
export function createApiClient(target: () => ApiTarget, ready?: () => Promise<unknown>) {
  /** The headers that authenticate a request the client sends itself (never a URL the browser fetches). */
  function authHeaders(t: ApiTarget): Record<string, string> {
    return t.apiKey ? { 'X-API-Key': t.apiKey } : {};
  }

  async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    if (ready) await ready();
    const t = target();
    const headers = authHeaders(t);
    let body: BodyInit | undefined;
    if (options.body instanceof FormData) body = options.body;
    else if (options.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
    let response: Response;
    try {
      response = await fetch(resolveUrl(t, path, options.query), { method, headers, body, signal: options.signal });
    } catch (error) {
      if ((error as Error).name === 'AbortError') throw error;
      throw unreachable(t);
    }
    if (!response.ok) {
      const problem = (await response.json().catch(() => null)) as Problem | null;
      throw problemError(response.status, problem, response.statusText);
    }
    if (response.status === 204) return undefined as T;
    if (options.blob) return (await response.blob()) as T;
    return (await response.json()) as T;
  }

  /**
   * Multipart POST of `form` to `path`, reporting upload progress (0–1) to `onProgress`. XMLHttpRequest, not fetch:
   * fetch reports no upload progress, and archives can be gigabytes.
   */
  async function upload<T>(path: string, form: FormData, onProgress?: (fraction: number) => void): Promise<T> {
    if (ready) await ready();
    const t = target();
    return new Promise<T>((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', resolveUrl(t, path));
      for (const [name, value] of Object.entries(authHeaders(t))) xhr.setRequestHeader(name, value);
      xhr.upload.onprogress = (e) => e.lengthComputable && onProgress?.(e.loaded / e.total);
      xhr.onerror = () => reject(unreachable(t));
      xhr.onload = () => {
        let body: unknown = null;
        try {
          body = JSON.parse(xhr.responseText);
        } catch {
          /* not JSON: an error below, or an empty success */
        }
        if (xhr.status >= 200 && xhr.status < 300) resolve(body as T);
        else reject(problemError(xhr.status, body as Problem | null, xhr.statusText));
      };
      xhr.send(form);
    });
  }

  return {
    request,
    upload,
    get: <T>(path: string, query?: Query, signal?: AbortSignal) => request<T>('GET', path, { query, signal }),
    post: <T>(path: string, body?: unknown, query?: Query) => request<T>('POST', path, { body, query }),
    patch: <T>(path: string, body: unknown) => request<T>('PATCH', path, { body }),
    put: <T>(path: string, body: unknown) => request<T>('PUT', path, { body }),
    delete: <T = void>(path: string, body?: unknown) => request<T>('DELETE', path, { body }),
    url: (path: string, query?: Query) => resolveUrl(target(), path, query),
    assetUrl: (path: string, query?: Query) => resolveAssetUrl(target(), path, query),
    wsUrl: (path: string) => resolveWsUrl(target(), path),
    serverUrl: (url: string) => resolveServerUrl(target(), url),
    /**
     * Trade the key for the server's session cookie (HttpOnly, SameSite=Strict), which images and the WebSocket of
     * this origin then carry instead of the key. Not gated on `ready`: the bootstrap itself calls it. False when the
     * server refused or could not be reached; the key still works for every request the client sends itself.
     */
    async openSession(): Promise<boolean> {
      const t = target();
      if (!t.apiKey) return false;
      try {
        const response = await fetch(resolveUrl(t, 'auth/session'), { method: 'POST', headers: { ...authHeaders(t), 'Content-Type': 'application/json' }, body: '{}', credentials: 'same-origin' });
        return response.ok;
      } catch {
        return false;
      }
    },
    /** Unauthenticated bootstrap from the root of the server that serves the SPA (not under the API base). */
    async frontendSettings(): Promise<FrontendSettings | null> {
      try {
        const response = await fetch('/frontend/settings');
        return response.ok ? ((await response.json()) as FrontendSettings) : null;
      } catch {
        return null;
      }
    },
  };
}

export type ApiClient = ReturnType<typeof createApiClient>;

/** A readable sentence for any error a request can throw. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) {
    const details = error.problem?.errors?.map((e) => `${e.path}: ${e.message}`).join('; ');
    return details ? `${error.message} (${details})` : error.message;
  }
  return error instanceof Error ? error.message : String(error);
}
