import { Type, type Static } from 'typebox';

/**
 * `GET /health`: 200 while the process serves. `status` is "ok", or "degraded" while a service it needs (the
 * database, Redis) does not answer, with the reasons; it recovers by itself, so a restart would not help.
 */
export const Health = Type.Object({
  status: Type.String(),
  service: Type.Optional(Type.String()),
  reasons: Type.Optional(Type.Array(Type.String())),
});
export type Health = Static<typeof Health>;

/** What the SPA needs to find the API. Never carries the API key (the original leaked it). */
export const FrontendSettings = Type.Object({
  backendUrl: Type.String(),
  apiKeyRequired: Type.Boolean(),
  generationPolling: Type.Object({
    queueMs: Type.Integer(),
    websocketRetryMs: Type.Integer(),
    systemStatusMs: Type.Integer(),
  }),
});
export type FrontendSettings = Static<typeof FrontendSettings>;

/**
 * `POST /auth/session`: the browser trades the API key (X-API-Key header) for an HttpOnly session cookie, so image
 * and WebSocket URLs carry no key. `expires_at` is null when the server needs no key.
 */
export const SessionInfo = Type.Object({
  api_key_required: Type.Boolean(),
  expires_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
export type SessionInfo = Static<typeof SessionInfo>;
