import websocket from '@fastify/websocket';
import { Adapter, GenerationResultSummary, Job, Problem } from '@lora-manager/contract';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Container } from './container.ts';
import { registerApiKeyAuth } from './http/auth.ts';
import { registerOpenApi } from './http/openapi.ts';
import { registerProblemHandlers } from './http/problem.ts';
import { validatorCompiler } from './http/validation.ts';
import { registerWebApp } from './http/web.ts';
import { adapterRoutes } from './routes/adapters.routes.ts';
import { archiveRoutes } from './routes/archive.routes.ts';
import { backupRoutes } from './routes/backups.routes.ts';
import { composeRoutes } from './routes/compose.routes.ts';
import { generationRoutes } from './routes/generation.routes.ts';
import { dashboardRoutes } from './routes/dashboard.routes.ts';
import { jobRoutes } from './routes/jobs.routes.ts';
import { libraryRoutes } from './routes/library.routes.ts';
import { progressSocketRoutes } from './routes/progress.ws.ts';
import { resultRoutes } from './routes/results.routes.ts';
import { systemRoutes } from './routes/system.routes.ts';

export const API_PREFIX = '/api/v1';

/** The HTTP app over a built container, without listening: main.ts listens, tests use `inject`. */
export async function buildApp(container: Container): Promise<FastifyInstance> {
  const { config, services } = container;
  const app: FastifyInstance = Fastify({
    loggerInstance: container.logger as FastifyBaseLogger,
    bodyLimit: config.bodyLimit,
    requestIdHeader: 'x-request-id',
    routerOptions: { ignoreTrailingSlash: true },
  });
  app.setValidatorCompiler(validatorCompiler());
  app.addSchema(Adapter);
  app.addSchema(Problem);
  app.addSchema(Job);
  app.addSchema(GenerationResultSummary);
  app.addHook('onRoute', (route) => {
    // Every route documents its error shape; serialising errors goes through problem.ts either way.
    if (route.schema) route.schema.response = { ...(route.schema.response as object), '4xx': { $ref: 'Problem#' } };
  });

  registerProblemHandlers(app);
  registerApiKeyAuth(app, config.apiKey);
  await registerOpenApi(app);
  await app.register(websocket, { options: { maxPayload: 64 * 1024 } });

  await app.register(systemRoutes, { config });
  await app.register(systemRoutes, { config, prefix: API_PREFIX });
  await app.register(adapterRoutes, { adapters: services.adapters, prefix: API_PREFIX });
  await app.register(archiveRoutes, {
    exporter: services.archiveExport,
    importer: services.archiveImport,
    exportFiles: services.exportFiles,
    dataDir: config.dataDir,
    limits: config.archive,
    queue: container.queue,
    prefix: API_PREFIX,
  });
  await app.register(backupRoutes, { backups: services.backups, importer: services.archiveImport, queue: container.queue, prefix: API_PREFIX });
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
  await app.register(generationRoutes, { generation: services.generation, registry: container.backends, settings: services.generationSettings, prefix: API_PREFIX });
  await app.register(resultRoutes, { results: services.results, prefix: API_PREFIX });
  await app.register(progressSocketRoutes, { events: container.events, clock: container.clock });

  await registerWebApp(app, config.webDistDir);
  return app;
}
