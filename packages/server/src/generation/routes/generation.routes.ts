import fs from 'node:fs';
import {
  ActiveJobsQuery,
  BackendList,
  BackendNameParams,
  BackendOptions,
  CancelResponse,
  ComposeAndGenerateBody,
  DeliveryEnvelope,
  GenerationJobStatus,
  GenerationParams,
  GenerationQuery,
  GenerationResult,
  GenerationSettings,
  GenerationSettingsPatch,
  ProgressQuery,
  QueuedGeneration,
} from '@lora-manager/contract';
import type { BackendInfo, BackendOptions as BackendOptionsType } from '@lora-manager/contract';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import { NotFoundError } from '../../errors.ts';
import type { GenerationSettingsService } from '../services/generation-settings.service.ts';
import type { GenerationOptions, GenerationService } from '../services/generation.service.ts';

const tags = ['generation'];
const JobIdParams = Type.Object({ job_id: Type.String({ minLength: 1, maxLength: 200 }) });

function options(query: GenerationQuery, defaults: Pick<GenerationOptions, 'mode' | 'returnFormat'>): GenerationOptions {
  return {
    backend: query.backend ?? 'sdnext',
    mode: query.mode ?? defaults.mode,
    saveImages: query.save_images ?? true,
    returnFormat: query.return_format ?? defaults.returnFormat,
  };
}

export interface GenerationRouteDeps {
  generation: GenerationService;
  /** The configured backends and whether they answer (the container passes its BackendRegistry; routes never import backends/). */
  registry: { list(): Promise<BackendInfo[]>; options(name: string): Promise<BackendOptionsType | null> };
  settings: GenerationSettingsService;
}

/** `/generation/*` except results: backends, settings, generate, queue, jobs, progress, cancel. */
export const generationRoutes: FastifyPluginAsync<GenerationRouteDeps> = async (fastify, { generation, registry, settings }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.get('/generation/backends', { schema: { tags, response: { 200: BackendList } } }, async () => {
    const backends = await registry.list();
    return {
      sdnext: backends.some((b) => b.name === 'sdnext' && b.configured),
      comfyui: backends.some((b) => b.name === 'comfyui' && b.configured),
      backends,
    };
  });

  app.get(
    '/generation/backends/:name/options',
    { schema: { tags, params: BackendNameParams, response: { 200: BackendOptions } } },
    async (req) => {
      const options = await registry.options(req.params.name);
      if (!options) throw new NotFoundError('backend_not_found', `Backend '${req.params.name}' not found`);
      return options;
    },
  );

  app.get('/generation/settings', { schema: { tags, response: { 200: GenerationSettings } } }, async () => settings.get());

  app.put('/generation/settings', { schema: { tags, body: GenerationSettingsPatch, response: { 200: GenerationSettings } } }, async (req) =>
    settings.update(req.body),
  );

  app.post(
    '/generation/generate',
    { schema: { tags, body: GenerationParams, querystring: GenerationQuery, response: { 200: GenerationResult } } },
    async (req) => generation.generate(req.body, options(req.query, { mode: 'immediate', returnFormat: 'base64' })),
  );

  app.post(
    '/generation/compose-and-generate',
    { schema: { tags, body: ComposeAndGenerateBody, querystring: GenerationQuery, response: { 200: GenerationResult } } },
    async (req) =>
      generation.composeAndGenerate(req.body.compose_request, req.body.generation_params, options(req.query, { mode: 'immediate', returnFormat: 'base64' })),
  );

  app.post(
    '/generation/queue-generation',
    { schema: { tags, body: GenerationParams, querystring: GenerationQuery, response: { 200: QueuedGeneration } } },
    async (req) => {
      const { id, warnings } = await generation.enqueue(req.body, options(req.query, { mode: 'deferred', returnFormat: 'base64' }));
      return { delivery_id: id, job_id: id, status: 'queued' as const, warnings };
    },
  );

  app.get(
    '/generation/progress/:job_id',
    { schema: { tags, params: JobIdParams, querystring: ProgressQuery, response: { 200: GenerationResult } } },
    async (req) => generation.progress(req.params.job_id, req.query.backend ?? 'sdnext'),
  );

  app.get('/generation/jobs/active', { schema: { tags, querystring: ActiveJobsQuery, response: { 200: Type.Array(GenerationJobStatus) } } }, async (req) =>
    generation.activeJobs(req.query.limit ?? 50),
  );

  app.get('/generation/jobs/:job_id', { schema: { tags, params: JobIdParams, response: { 200: DeliveryEnvelope } } }, async (req) => ({
    delivery: await generation.job(req.params.job_id),
  }));

  app.post('/generation/jobs/:job_id/cancel', { schema: { tags, params: JobIdParams, response: { 200: CancelResponse } } }, async (req) =>
    generation.cancel(req.params.job_id),
  );

  app.get('/generation/jobs/:job_id/preview', { schema: { tags, params: JobIdParams } }, async (req, reply) => {
    const preview = await generation.preview(req.params.job_id);
    return reply.type(preview.contentType).header('cache-control', 'no-store').send(fs.createReadStream(preview.path));
  });
};
