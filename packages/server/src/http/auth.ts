import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { refuseUpgrade } from './problem.ts';
import { UnauthorizedError } from '../errors.ts';
import type { Clock } from '../lib/clock.ts';
import type { SessionTokens } from '../lib/session-token.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Answered without the API key. Only the bootstrap routes and the built web app's files say so. */
    public?: boolean;
  }
  interface FastifyInstance {
    /** Every route the app registered, with its auth decision: what the auth test walks. */
    routeTable: readonly RouteEntry[];
  }
}

export interface RouteEntry {
  method: string;
  url: string;
  public: boolean;
  websocket: boolean;
}

/** The browser session cookie: HttpOnly, so page scripts never see it; it stands in for the key on reads only. */
export const SESSION_COOKIE = 'lm_session';

export interface AuthOptions {
  apiKey: string | null;
  sessions: SessionTokens | null;
  clock: Clock;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function readCookie(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * With API_KEY set, every route needs a credential unless the route that matched says `public`. The decision is
 * made on the route the router matched, never on the raw URL, so no spelling of a path reaches a handler without
 * the key. Accepted: the X-API-Key header (any method); on reads only (GET, HEAD, the WebSocket upgrade) also the
 * `api_key` query parameter the original's clients use, and the session cookie the web app obtains with the key
 * (which pages of other origins cannot use: see origin-guard.ts).
 * Requests that matched no route get the key check too, except plain reads, which the not-found handler answers
 * with the web app's index page or a 404 that holds nothing.
 */
export function registerApiKeyAuth(app: FastifyInstance, options: AuthOptions): void {
  // Read when asked, not when the route is added: a later onRoute hook (the web app's) may still mark it public.
  const routes: Array<{ methods: string[]; url: string; config: { public?: boolean } | undefined; websocket: boolean }> = [];
  app.decorate('routeTable', {
    getter: () =>
      routes.flatMap((r) => r.methods.map((method) => ({ method, url: r.url, public: r.config?.public === true, websocket: r.websocket }))),
  });
  app.addHook('onRoute', (route) => {
    route.config ??= {};
    routes.push({
      methods: Array.isArray(route.method) ? route.method : [route.method],
      url: route.url,
      config: route.config,
      websocket: (route as { websocket?: boolean }).websocket === true,
    });
  });
  const { apiKey, sessions, clock } = options;
  if (!apiKey) return;
  const expected = digest(apiKey);
  const keyMatches = (key: string) => timingSafeEqual(digest(key), expected);

  function authenticated(request: FastifyRequest): boolean {
    const header = request.headers['x-api-key'];
    if (typeof header === 'string' && header) return keyMatches(header);
    if (request.method !== 'GET' && request.method !== 'HEAD') return false;
    const query = request.query as Record<string, unknown> | undefined;
    if (typeof query?.api_key === 'string') return keyMatches(query.api_key);
    const cookie = readCookie(request, SESSION_COOKIE);
    return cookie !== undefined && sessions !== null && sessions.verify(cookie, clock.now().getTime());
  }

  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.config.public === true) return;
    const plainRead = (request.method === 'GET' || request.method === 'HEAD') && !request.headers.upgrade;
    if (request.is404 && plainRead) return;
    if (authenticated(request)) return;
    if (request.headers.upgrade) return refuseUpgrade(request, reply, new UnauthorizedError());
    throw new UnauthorizedError();
  });
}
