import type { Adapter, AdapterListQuery, AdapterPage, FrontendSettings, Problem } from '@lora-manager/contract';

/**
 * The one place that knows where the API lives. Every request URL is resolved from the backend URL the settings
 * store holds (default `/api/v1`, changeable at run time, also to another origin with an API key).
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

export function resolveUrl(target: ApiTarget, path: string, query?: Record<string, unknown>): string {
  const base = target.baseUrl.replace(/\/+$/, '');
  const url = `${base}/${path.replace(/^\/+/, '')}`;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === null || value === '') continue;
    params.set(key, String(value));
  }
  const qs = params.toString();
  return qs ? `${url}?${qs}` : url;
}

export function createApiClient(target: () => ApiTarget) {
  async function request<T>(method: string, path: string, options: { query?: Record<string, unknown>; body?: unknown } = {}): Promise<T> {
    const t = target();
    const headers: Record<string, string> = {};
    if (t.apiKey) headers['X-API-Key'] = t.apiKey;
    if (options.body !== undefined) headers['Content-Type'] = 'application/json';
    const response = await fetch(resolveUrl(t, path, options.query), {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    if (!response.ok) {
      const problem = (await response.json().catch(() => null)) as Problem | null;
      throw new ApiError(response.status, problem?.code ?? 'http_error', problem?.title ?? response.statusText, problem ?? undefined);
    }
    if (response.status === 204) return undefined as T;
    return (await response.json()) as T;
  }

  return {
    request,
    /** Unauthenticated bootstrap from the root of the server that serves the SPA. */
    async frontendSettings(): Promise<FrontendSettings> {
      const response = await fetch('/frontend/settings');
      return (await response.json()) as FrontendSettings;
    },
    adapters: {
      list: (query: AdapterListQuery) => request<AdapterPage>('GET', 'adapters', { query: query as Record<string, unknown> }),
      get: (id: string) => request<{ adapter: Adapter }>('GET', `adapters/${encodeURIComponent(id)}`),
    },
  };
}

export type ApiClient = ReturnType<typeof createApiClient>;
