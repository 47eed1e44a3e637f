import { FrontendSettings, Health } from '@lora-manager/contract';
import type { FastifyPluginAsync } from 'fastify';
import type { Config } from '../config.ts';

/** Normalise BACKEND_URL as the original did: absolute URLs lose a trailing slash, relative ones gain a leading one. */
export function publicBackendUrl(configured: string | null): string {
  if (!configured) return '/api/v1';
  if (/^https?:\/\//i.test(configured)) return configured.replace(/\/+$/, '');
  return `/${configured.replace(/^\/+/, '').replace(/\/+$/, '')}`;
}

export const systemRoutes: FastifyPluginAsync<{ config: Config; public: boolean; health: () => Promise<Health> }> = async (
  app,
  { config, public: isPublic, health },
) => {
  const answerHealth = async () => {
    const answer = await health();
    // Without the key, only which service is down ("Redis unavailable"): the error text names hosts and ports.
    if (isPublic && answer.reasons) return { ...answer, reasons: answer.reasons.map((r) => r.split(':')[0]) };
    return answer;
  };
  app.get('/health', { config: { public: isPublic }, schema: { tags: ['system'], response: { 200: Health } } }, answerHealth);
  // The original's backend also answered `GET /api/health`; its clients probe it.
  if (isPublic) app.get('/api/health', { config: { public: true }, schema: { tags: ['system'], response: { 200: Health } } }, answerHealth);

  app.get('/frontend/settings', { config: { public: isPublic }, schema: { tags: ['system'], response: { 200: FrontendSettings } } }, async () => ({
    backendUrl: publicBackendUrl(config.backendUrl),
    apiKeyRequired: config.apiKey !== null,
    generationPolling: config.polling,
  }));
};
