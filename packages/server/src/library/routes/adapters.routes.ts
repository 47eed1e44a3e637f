import {
  ActivateQuery,
  AdapterCreate,
  AdapterEnvelope,
  AdapterFacets,
  AdapterListQuery,
  AdapterPage,
  AdapterPatch,
  BulkRequest,
  BulkResult,
  IdParams,
  TagList,
} from '@lora-manager/contract';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import type { AdapterService } from '../services/adapter.service.ts';

const tags = ['adapters'];
const TagListWithCounts = Type.Object({
  ...TagList.properties,
  tag_counts: Type.Array(Type.Object({ tag: Type.String(), count: Type.Integer() })),
});

export const adapterRoutes: FastifyPluginAsync<{ adapters: AdapterService }> = async (fastify, { adapters }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.post('/adapters', { schema: { tags, body: AdapterCreate, response: { 201: AdapterEnvelope } } }, async (req, reply) =>
    reply.code(201).send({ adapter: await adapters.create(req.body) }),
  );

  app.get('/adapters', { schema: { tags, querystring: AdapterListQuery, response: { 200: AdapterPage } } }, async (req) =>
    adapters.list(req.query),
  );

  app.get('/adapters/tags', { schema: { tags, response: { 200: TagListWithCounts } } }, async () => adapters.tags());
  app.get('/adapters/facets', { schema: { tags, response: { 200: AdapterFacets } } }, async () => adapters.facets());

  app.post('/adapters/bulk', { schema: { tags, body: BulkRequest, response: { 200: BulkResult } } }, async (req) =>
    adapters.bulk(req.body),
  );

  app.get('/adapters/:id', { schema: { tags, params: IdParams, response: { 200: AdapterEnvelope } } }, async (req) => ({
    adapter: await adapters.get(req.params.id),
  }));

  app.patch('/adapters/:id', { schema: { tags, params: IdParams, body: AdapterPatch, response: { 200: AdapterEnvelope } } }, async (req) => ({
    adapter: await adapters.patch(req.params.id, req.body),
  }));

  app.delete('/adapters/:id', { schema: { tags, params: IdParams, response: { 204: Type.Null() } } }, async (req, reply) => {
    await adapters.delete(req.params.id);
    return reply.code(204).send(null);
  });

  app.post(
    '/adapters/:id/activate',
    { schema: { tags, params: IdParams, querystring: ActivateQuery, response: { 200: AdapterEnvelope } } },
    async (req) => ({ adapter: await adapters.activate(req.params.id, req.query.ordinal) }),
  );

  app.post('/adapters/:id/deactivate', { schema: { tags, params: IdParams, response: { 200: AdapterEnvelope } } }, async (req) => ({
    adapter: await adapters.deactivate(req.params.id),
  }));
};
