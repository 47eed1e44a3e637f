import { DeliveryError, type DeliveryTarget } from './delivery-target.ts';

const MAX_DETAIL_BYTES = 64 * 1024;
/** Headers the request itself defines; a delivery's own `headers` cannot override them. */
const CONTROLLED_HEADERS = new Set(['host', 'content-length', 'content-type', 'transfer-encoding', 'connection', 'upgrade', 'expect']);

export interface HttpDeliveryOptions {
  /** `host` or `host:port` entries, lower case; `*` allows any host. Empty: nothing is allowed. */
  allowedHosts: readonly string[];
  timeoutMs: number;
}

/**
 * POSTs `{"prompt": …}` as JSON to `http(s)://host:port/path`. Params: `host` (required, or a full `url`), `port`,
 * `path`, `https` (or `scheme: "https"`), `headers`. Any 2xx is success. Only hosts listed in
 * DELIVERY_HTTP_ALLOWED_HOSTS are reached, and redirects are not followed, so a delivery cannot be pointed at an
 * arbitrary internal service.
 */
export class HttpDeliveryTarget implements DeliveryTarget {
  readonly mode = 'http';

  constructor(private readonly options: HttpDeliveryOptions) {}

  private targetUrl(params: Record<string, unknown>): URL {
    const fail = (detail: string): never => {
      throw new DeliveryError(detail, false, { status: 'error', detail });
    };
    if (typeof params.url === 'string' && params.url) {
      let url: URL | null = null;
      try {
        url = new URL(params.url);
      } catch {
        fail(`Invalid parameter: url (${params.url})`);
      }
      if (!url || !['http:', 'https:'].includes(url.protocol)) return fail('Invalid parameter: url must start with http:// or https://');
      return url;
    }
    const host = typeof params.host === 'string' ? params.host.trim() : '';
    if (!host) return fail('Missing required parameter: host');
    if (/[/?#@\s]/.test(host)) return fail(`Invalid parameter: host (${host})`);
    const secure = params.https === true || params.scheme === 'https';
    const port = params.port === undefined || params.port === null ? null : Number(params.port);
    if (port !== null && (!Number.isInteger(port) || port < 1 || port > 65535)) return fail(`Invalid parameter: port (${String(params.port)})`);
    const rawPath = typeof params.path === 'string' && params.path ? params.path : '/';
    try {
      return new URL(`${secure ? 'https' : 'http'}://${host}${port ? `:${port}` : ''}${rawPath.startsWith('/') ? rawPath : `/${rawPath}`}`);
    } catch {
      return fail(`Invalid parameters: host ${host}, path ${rawPath}`);
    }
  }

  private allowed(url: URL): boolean {
    const hostname = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
    const port = url.port || (url.protocol === 'https:' ? '443' : '80');
    return this.options.allowedHosts.some((entry) => entry === '*' || entry === hostname || entry === `${hostname}:${port}` || entry === `[${hostname}]:${port}`);
  }

  async deliver({ prompt, params, signal }: Parameters<DeliveryTarget['deliver']>[0]): Promise<Record<string, unknown>> {
    const url = this.targetUrl(params);
    if (!this.allowed(url)) {
      const detail = `Host ${url.host} is not allowed for http deliveries (add it to DELIVERY_HTTP_ALLOWED_HOSTS)`;
      throw new DeliveryError(detail, false, { status: 'error', detail });
    }
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json, text/plain;q=0.9, */*;q=0.5' };
    if (params.headers && typeof params.headers === 'object' && !Array.isArray(params.headers)) {
      for (const [k, v] of Object.entries(params.headers)) {
        const name = k.toLowerCase();
        if (typeof v === 'string' && !/[\r\n]/.test(k + v) && !CONTROLLED_HEADERS.has(name)) headers[name] = v;
      }
    }
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers,
        body: JSON.stringify({ prompt }),
        redirect: 'manual',
        signal: AbortSignal.any([signal, timeout]),
      });
    } catch (error) {
      if (signal.aborted) throw error;
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const detail = timeout.aborted
        ? `No answer from ${url.origin} within ${Math.round(this.options.timeoutMs / 1000)} s`
        : `Could not reach ${url.origin}: ${cause?.code ?? cause?.message ?? (error as Error).message}`;
      throw new DeliveryError(detail, true, { status: 'error', detail });
    }
    const text = await readLimited(response);
    let detail: unknown = text;
    if ((response.headers.get('content-type') ?? '').includes('json')) {
      try {
        detail = JSON.parse(text);
      } catch {
        /* keep the text */
      }
    }
    const result = { status: response.status, detail, headers: Object.fromEntries(response.headers.entries()) };
    if (response.status >= 200 && response.status < 300) return result;
    const retryable = response.status >= 500 || response.status === 408 || response.status === 429;
    throw new DeliveryError(`${url.origin} answered HTTP ${response.status}`, retryable, result);
  }
}

async function readLimited(response: Response): Promise<string> {
  if (!response.body) return '';
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    chunks.push(Buffer.from(chunk));
    size += chunk.length;
    if (size >= MAX_DETAIL_BYTES) break;
  }
  return Buffer.concat(chunks).subarray(0, MAX_DETAIL_BYTES).toString('utf8');
}
