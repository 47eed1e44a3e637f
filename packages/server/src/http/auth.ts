import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { UnauthorizedError } from '../errors.ts';

/** Root paths the SPA needs before it knows the key. They reveal nothing secret. */
const PUBLIC_PATHS = new Set(['/health', '/frontend/settings']);

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** The key from the X-API-Key header, or from `api_key` in the query for GETs (WebSocket and <img> URLs cannot set headers). */
function presentedKey(request: FastifyRequest): string | undefined {
  const header = request.headers['x-api-key'];
  if (typeof header === 'string' && header) return header;
  if (request.method === 'GET') {
    const query = request.query as Record<string, unknown> | undefined;
    if (typeof query?.api_key === 'string') return query.api_key;
  }
  return undefined;
}

/** With API_KEY set, every /api route (the WebSockets and the docs included) needs it. Compared in constant time. */
export function registerApiKeyAuth(app: FastifyInstance, apiKey: string | null): void {
  if (!apiKey) return;
  const expected = digest(apiKey);
  app.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?', 1)[0];
    if (PUBLIC_PATHS.has(path) || !(path.startsWith('/api') || path.startsWith('/v1/'))) return;
    const key = presentedKey(request);
    if (key !== undefined && timingSafeEqual(digest(key), expected)) return;
    if (request.headers.upgrade) {
      // A refused WebSocket upgrade must also close the socket, or it lingers half-open.
      reply.hijack();
      const error = new UnauthorizedError();
      const body = JSON.stringify({ type: 'about:blank', title: error.message, status: 401, code: error.code, detail: error.detail });
      request.raw.socket.end(
        `HTTP/1.1 401 Unauthorized\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
      return;
    }
    throw new UnauthorizedError();
  });
}
