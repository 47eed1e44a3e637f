import websocket from '@fastify/websocket';
import { Adapter, GenerationResultSummary, Job, Problem, Recipe } from '@lora-manager/contract';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Container } from './container.ts';
import { registerApiKeyAuth } from './http/auth.ts';
import { registerInputGuard } from './http/input-guard.ts';
import { registerOriginGuard } from './http/origin-guard.ts';
import { registerOpenApi } from './http/openapi.ts';
import { clientErrorHandler, frameworkErrorHandler, registerProblemHandlers } from './http/problem.ts';
import { redactUrl } from './lib/redact.ts';
import { SessionTokens } from './lib/session-token.ts';
import { authRoutes } from './routes/auth.routes.ts';
import { validatorCompiler } from './http/validation.ts';
import { registerWebApp } from './http/web.ts';
import { adapterRoutes } from './library/routes/adapters.routes.ts';
import { archiveRoutes } from './archive/routes/archive.routes.ts';
import { backupRoutes } from './archive/routes/backups.routes.ts';
import { composeRoutes } from './generation/routes/compose.routes.ts';
import { deliveriesRoutes } from './generation/routes/deliveries.routes.ts';
import { generationRoutes } from './generation/routes/generation.routes.ts';
import { dashboardRoutes } from './routes/dashboard.routes.ts';
import { jobRoutes } from './routes/jobs.routes.ts';
import { libraryRoutes } from './library/routes/library.routes.ts';
import { progressSocketRoutes } from './routes/progress.ws.ts';
import { resultRoutes } from './generation/routes/results.routes.ts';
import { recipeRoutes } from './recipes/routes/recipes.routes.ts';
import { systemRoutes } from './routes/system.routes.ts';
import { analyticsRoutes } from './analytics/routes/analytics.routes.ts';
import { recommendationRoutes } from './recommendations/routes/recommendations.routes.ts';

export const API_PREFIX = '/api/v1';

/** What a request line looks like in the log: credentials in the query (`?api_key=`) never reach it. */
function requestForLog(request: FastifyRequest): Record<string, unknown> {
  return { method: request.method, url: redactUrl(request.url), host: request.host, remoteAddress: request.ip, remotePort: request.socket?.remotePort };
}

/** The HTTP app over a built container, without listening: main.ts listens, tests use `inject`. */
export async function buildApp(container: Container): Promise<FastifyInstance> {
  const { config, services } = container;
  const app: FastifyInstance = Fastify({
    loggerInstance: container.logger.child({}, { serializers: { req: requestForLog } }) as FastifyBaseLogger,
    bodyLimit: config.bodyLimit,
    requestIdHeader: 'x-request-id',
    routerOptions: { ignoreTrailingSlash: true },
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler,
  });
  app.setValidatorCompiler(validatorCompiler());
  app.addSchema(Adapter);
  app.addSchema(Problem);
  app.addSchema(Job);
  app.addSchema(GenerationResultSummary);
  app.addSchema(Recipe);
  app.addHook('onRoute', (route) => {
    // Every route documents its error shape; serialising errors goes through problem.ts either way.
    if (route.schema) route.schema.response = { ...(route.schema.response as object), '4xx': { $ref: 'Problem#' } };
  });

  registerProblemHandlers(app);
  const sessions = config.apiKey ? new SessionTokens(config.apiKey) : null;
  registerOriginGuard(app, { apiKey: config.apiKey, trustedOrigins: config.corsOrigins, allowedHosts: config.allowedHosts });
  registerApiKeyAuth(app, { apiKey: config.apiKey, sessions, clock: container.clock });
  registerInputGuard(app);
  await registerOpenApi(app);
  await app.register(websocket, { options: { maxPayload: 64 * 1024 } });

  // The bootstrap routes are public at the root only; their /api/v1 twins need the key like the rest of the API.
  const health = () => services.systemStatus.health();
  await app.register(systemRoutes, { config, health, public: true });
  await app.register(systemRoutes, { config, health, public: false, prefix: API_PREFIX });
  await app.register(authRoutes, { sessions, clock: container.clock, prefix: API_PREFIX });
  await app.register(adapterRoutes, { adapters: services.adapters, prefix: API_PREFIX });
  await app.register(archiveRoutes, {
    exporter: services.archiveExport,
    importer: services.archiveImport,
    exportFiles: services.exportFiles,
    dataDir: config.dataDir,
    limits: config.archive,
    jobs: services.archiveJobs,
    prefix: API_PREFIX,
  });
  await app.register(backupRoutes, { backups: services.backups, importer: services.archiveImport, jobs: services.archiveJobs, prefix: API_PREFIX });
  await app.register(dashboardRoutes, { dashboard: services.dashboard, system: services.systemStatus, prefix: API_PREFIX });
  await app.register(jobRoutes, { jobs: services.jobs, prefix: API_PREFIX });
  await app.register(libraryRoutes, {
    library: services.library,
    settings: services.librarySettings,
    previews: services.previews,
    civitai: services.civitai,
    adapters: services.adapters,
    prefix: API_PREFIX,
  });
  await app.register(composeRoutes, { deliveries: services.deliveries, prefix: API_PREFIX });
  await app.register(deliveriesRoutes, { deliveries: services.deliveries, prefix: API_PREFIX });
  await app.register(generationRoutes, { generation: services.generation, registry: container.backends, settings: services.generationSettings, prefix: API_PREFIX });
  await app.register(resultRoutes, { results: services.results, prefix: API_PREFIX });
  await app.register(analyticsRoutes, { analytics: services.analytics, prefix: API_PREFIX });
  await app.register(recommendationRoutes, {
    recommendations: services.recommendations,
    feedback: services.recommendationFeedback,
    admin: services.recommendationAdmin,
    prefix: API_PREFIX,
  });
  await app.register(recipeRoutes, { recipes: services.recipes, recipeUse: services.recipeUse, matcher: services.recipeMatcher, civitai: services.recipeCivitai, prefix: API_PREFIX });
  await app.register(progressSocketRoutes, { events: container.events, clock: container.clock });

  await registerWebApp(app, config.webDistDir);
  return app;
}
