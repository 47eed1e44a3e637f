import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import sharp from 'sharp';

/**
 * A stand-in for CivitAI's REST API v1 that answers with recorded response shapes (test/fixtures/civitai): batch and
 * single by-hash lookups, models by id, and example images. It records the requests it saw and can be told to
 * fail (5xx, 429 with Retry-After) to exercise "unreachable" and rate limiting.
 */
export interface CivitaiTestServer {
  url: string;
  /** Register a LoRA file by its hashes: lookups by any of them answer with the recorded version. */
  know(hashes: { sha256: string; autov1?: string; autov2?: string; autov3?: string }, options?: { imageUrl?: string }): void;
  requests: Array<{ method: string; path: string; authorization?: string; body?: unknown }>;
  /** Answer the next `n` API requests with this status (e.g. 503, or 429 with Retry-After 1). */
  failNext(n: number, status: number): void;
  close(): Promise<void>;
}

const FIXTURES = path.join(import.meta.dirname, '..', 'fixtures', 'civitai');

export async function startCivitaiTestServer(): Promise<CivitaiTestServer> {
  const versionTemplate = fs.readFileSync(path.join(FIXTURES, 'model-version.by-hash.json'), 'utf8');
  const models = fs.readFileSync(path.join(FIXTURES, 'models.json'), 'utf8');
  const image = await sharp({ create: { width: 83, height: 121, channels: 3, background: '#223344' } }).jpeg().toBuffer();
  const known = new Map<string, string>();
  const requests: CivitaiTestServer['requests'] = [];
  let failures: { left: number; status: number } = { left: 0, status: 0 };
  let url = '';

  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://x');
      const body = raw ? (JSON.parse(raw) as unknown) : undefined;
      requests.push({ method: req.method ?? '', path: `${u.pathname}${u.search}`, authorization: req.headers.authorization, body });
      const json = (status: number, value: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(typeof value === 'string' ? value : JSON.stringify(value));
      };
      if (u.pathname.startsWith('/images/')) {
        res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': image.length });
        res.end(image);
        return;
      }
      if (failures.left > 0) {
        failures.left--;
        if (failures.status === 429) res.writeHead(429, { 'retry-after': '1' });
        else res.writeHead(failures.status);
        res.end();
        return;
      }
      if (req.method === 'POST' && u.pathname === '/api/v1/model-versions/by-hash') {
        const hashes = Array.isArray(body) ? (body as string[]) : [];
        return json(200, `[${[...new Set(hashes.map((h) => known.get(h.toUpperCase())).filter(Boolean))].join(',')}]`);
      }
      const single = /^\/api\/v1\/model-versions\/by-hash\/([^/]+)$/.exec(u.pathname);
      if (req.method === 'GET' && single) {
        const v = known.get(decodeURIComponent(single[1]).toUpperCase());
        return v ? json(200, v) : json(404, { error: 'Model not found' });
      }
      if (req.method === 'GET' && u.pathname === '/api/v1/models') return json(200, models);
      json(404, { error: 'Not found' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: `${url}/api/v1`,
    requests,
    know(h, options = {}) {
      const version = versionTemplate
        .replace('__SHA256__', h.sha256.toUpperCase())
        .replace('__AUTOV1__', (h.autov1 ?? h.sha256.slice(0, 8)).toUpperCase())
        .replace('__AUTOV2__', (h.autov2 ?? h.sha256.slice(0, 10)).toUpperCase())
        .replace('__AUTOV3__', (h.autov3 ?? '000000000000').toUpperCase())
        .replace('__IMAGE_URL__', options.imageUrl ?? `${url}/images/example.jpeg`);
      for (const hash of Object.values(h)) if (hash) known.set(hash.toUpperCase(), version);
    },
    failNext(n, status) {
      failures = { left: n, status };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
