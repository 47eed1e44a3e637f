import fs from 'node:fs';
import {
  BulkDeleteBody,
  BulkFavoriteBody,
  DownloadQuery,
  ExportResultsBody,
  FavoriteBody,
  IdParams,
  ImageParams,
  RatingBody,
  ResultListQuery,
  ResultPage,
} from '@lora-manager/contract';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { Type } from 'typebox';
import type { ResultFile, ResultService } from '../services/result.service.ts';

const tags = ['generation results'];
const Summary = Type.Ref('GenerationResultSummary');

function sendFile(reply: FastifyReply, file: ResultFile, disposition: 'inline' | 'attachment'): FastifyReply {
  return reply
    .type(file.contentType)
    .header('content-length', file.size)
    .header('content-disposition', `${disposition}; filename="${file.filename}"`)
    .header('cache-control', 'private, max-age=86400')
    .header('x-content-type-options', 'nosniff')
    .send(fs.createReadStream(file.path));
}

/** `/generation/results/*`: the history of generated images. */
export const resultRoutes: FastifyPluginAsync<{ results: ResultService }> = async (fastify, { results }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/generation/results',
    { schema: { tags, querystring: ResultListQuery, response: { 200: Type.Union([Type.Array(Summary), ResultPage]) } } },
    async (req, reply) => {
      const page = await results.list(req.query);
      reply.header('x-total-count', page.total);
      return req.query.envelope ? page : page.items;
    },
  );

  app.put('/generation/results/bulk-favorite', { schema: { tags, body: BulkFavoriteBody, response: { 200: Type.Object({ updated: Type.Integer() }) } } }, async (req) =>
    results.bulkFavorite(req.body.ids, req.body.is_favorite),
  );

  app.delete('/generation/results/bulk-delete', { schema: { tags, body: BulkDeleteBody, response: { 200: Type.Object({ deleted: Type.Integer() }) } } }, async (req) => ({
    deleted: await results.deleteMany(req.body.ids),
  }));

  app.post('/generation/results/export', { schema: { tags, body: ExportResultsBody } }, async (req, reply) => {
    const zip = await results.export(req.body.ids, req.body.include_metadata ?? true);
    return reply.type('application/zip').header('content-disposition', `attachment; filename="${zip.filename}"`).send(zip.stream);
  });

  app.get('/generation/results/:id', { schema: { tags, params: IdParams, response: { 200: Summary } } }, async (req) => results.get(req.params.id));

  app.delete('/generation/results/:id', { schema: { tags, params: IdParams, response: { 204: Type.Null() } } }, async (req, reply) => {
    await results.delete(req.params.id);
    return reply.code(204).send(null);
  });

  app.put('/generation/results/:id/rating', { schema: { tags, params: IdParams, body: RatingBody, response: { 200: Summary } } }, async (req) =>
    results.rate(req.params.id, req.body.rating),
  );

  app.put('/generation/results/:id/favorite', { schema: { tags, params: IdParams, body: FavoriteBody, response: { 200: Summary } } }, async (req) =>
    results.favorite(req.params.id, req.body.is_favorite),
  );

  app.get('/generation/results/:id/download', { schema: { tags, params: IdParams, querystring: DownloadQuery } }, async (req, reply) =>
    sendFile(reply, await results.download(req.params.id, req.query.index ?? 0), 'attachment'),
  );

  app.get('/generation/results/:id/images/:n', { schema: { tags, params: ImageParams } }, async (req, reply) =>
    sendFile(reply, await results.imageFile(req.params.id, req.params.n), 'inline'),
  );

  app.get('/generation/results/:id/images/:n/thumbnail', { schema: { tags, params: ImageParams } }, async (req, reply) =>
    sendFile(reply, await results.imageFile(req.params.id, req.params.n, true), 'inline'),
  );
};
