import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { IdParams, JobListQuery } from '@lora-manager/contract';
import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import type { JobService } from '../services/job.service.ts';

const tags = ['jobs'];
const JobEnvelope = Type.Object({ job: Type.Ref('Job') });
const JobPage = Type.Object({ items: Type.Array(Type.Ref('Job')), total: Type.Integer() });

/** Background jobs of every kind (scans, hashing, generations, archives): list, read, cancel. */
export const jobRoutes: FastifyPluginAsync<{ jobs: JobService }> = async (fastify, { jobs }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.get('/jobs', { schema: { tags, querystring: JobListQuery, response: { 200: JobPage } } }, async (req) => jobs.list(req.query));

  app.get('/jobs/:id', { schema: { tags, params: IdParams, response: { 200: JobEnvelope } } }, async (req) => ({
    job: await jobs.get(req.params.id),
  }));

  app.post('/jobs/:id/cancel', { schema: { tags, params: IdParams, response: { 200: JobEnvelope } } }, async (req) => ({
    job: await jobs.cancel(req.params.id),
  }));
};
