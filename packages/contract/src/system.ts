import { Type, type Static } from 'typebox';

export const Health = Type.Object({ status: Type.String(), service: Type.Optional(Type.String()) });
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
