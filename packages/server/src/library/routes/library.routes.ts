import fs from 'node:fs';
import multipart from '@fastify/multipart';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  AdapterMetadata,
  CivitaiRefreshRequest,
  CivitaiRefreshResult,
  DuplicateGroups,
  HashRequest,
  IdParams,
  ImportScanRequest,
  LibraryIssues,
  LibraryRootAdd,
  LibraryRootQuery,
  LibraryRoots,
  LibraryRootsPut,
  LibrarySettings,
  LibrarySettingsPatch,
  LibraryStatus,
  PreviewQuery,
  ScanRequest,
  ScanSummary,
} from '@lora-manager/contract';
import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import { BadRequestError } from '../../errors.ts';
import type { AdapterService } from '../services/adapter.service.ts';
import type { CivitaiService } from '../services/civitai.service.ts';
import type { LibrarySettingsService } from '../services/library-settings.service.ts';
import type { LibraryService } from '../services/library.service.ts';
import { MAX_PREVIEW_UPLOAD, type PreviewService } from '../services/preview.service.ts';
import { emptyBodyIsDefaults } from '../../http/optional-body.ts';

const tags = ['library'];
const JobEnvelope = Type.Object({ job: Type.Ref('Job') });
const AdapterEnvelope = Type.Object({ adapter: Type.Ref('Adapter') });

export interface LibraryRouteDeps {
  library: LibraryService;
  settings: LibrarySettingsService;
  previews: PreviewService;
  civitai: CivitaiService;
  adapters: AdapterService;
}

/** Library roots, scans (queued and dry-run), settings, status, and the per-adapter metadata, preview, hash and CivitAI routes. */
export const libraryRoutes: FastifyPluginAsync<LibraryRouteDeps> = async (fastify, deps) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { library, settings, previews, civitai, adapters } = deps;
  await app.register(multipart, { limits: { fileSize: MAX_PREVIEW_UPLOAD, files: 1, fields: 5 } });

  app.get('/library/roots', { schema: { tags, response: { 200: LibraryRoots } } }, async () => ({ roots: await library.listRoots() }));
  app.post('/library/roots', { schema: { tags, body: LibraryRootAdd, response: { 201: LibraryRoots } } }, async (req, reply) =>
    reply.code(201).send({ roots: await library.addRoot(req.body.path) }),
  );
  app.put('/library/roots', { schema: { tags, body: LibraryRootsPut, response: { 200: LibraryRoots } } }, async (req) => ({
    roots: await library.setRoots(req.body.roots),
  }));
  app.delete('/library/roots', { schema: { tags, querystring: LibraryRootQuery, response: { 200: LibraryRoots } } }, async (req) => ({
    roots: await library.removeRoot(req.query.path),
  }));

  app.post('/library/scan', { preValidation: emptyBodyIsDefaults, schema: { tags, body: ScanRequest, response: { 202: JobEnvelope } } }, async (req, reply) =>
    reply.code(202).send({ job: await library.startScan({ roots: req.body.roots, force: req.body.force }) }),
  );
  // The original API's importer entry point: a dry run by default, reporting what a scan would change.
  app.post(
    '/import/scan',
    { preValidation: emptyBodyIsDefaults, schema: { tags, body: ImportScanRequest, response: { 200: ScanSummary, 202: JobEnvelope } } },
    async (req, reply) => {
      const body = req.body;
      if (body.dry_run === false) return reply.code(202).send({ job: await library.startScan({ roots: body.roots, force: body.force }) });
      return library.dryRun({ roots: body.roots, force: body.force });
    },
  );

  app.get('/library/status', { schema: { tags, response: { 200: LibraryStatus } } }, async () => library.status());
  app.get('/library/issues', { schema: { tags, response: { 200: LibraryIssues } } }, async () => ({ issues: await library.issues() }));
  app.get('/library/settings', { schema: { tags, response: { 200: LibrarySettings } } }, async () => settings.get());
  app.patch('/library/settings', { schema: { tags, body: LibrarySettingsPatch, response: { 200: LibrarySettings } } }, async (req) => settings.update(req.body));
  app.post('/library/hash', { preValidation: emptyBodyIsDefaults, schema: { tags, body: HashRequest, response: { 202: JobEnvelope } } }, async (req, reply) =>
    reply.code(202).send({ job: await library.startHash(req.body) }),
  );
  app.post('/library/civitai/refresh', { preValidation: emptyBodyIsDefaults, schema: { tags, body: CivitaiRefreshRequest, response: { 202: JobEnvelope } } }, async (req, reply) =>
    reply.code(202).send({ job: await library.startCivitaiRefresh(req.body) }),
  );

  app.get('/adapters/duplicates', { schema: { tags: ['adapters'], response: { 200: DuplicateGroups } } }, async () => library.duplicates());
  app.get('/adapters/:id/metadata', { schema: { tags: ['adapters'], params: IdParams, response: { 200: AdapterMetadata } } }, async (req) =>
    library.metadata(req.params.id),
  );
  app.post(
    '/adapters/:id/hash',
    { schema: { tags: ['adapters'], params: IdParams, querystring: Type.Object({ verify: Type.Optional(Type.Boolean()) }), response: { 202: JobEnvelope } } },
    async (req, reply) => {
      await adapters.get(req.params.id);
      return reply.code(202).send({ job: await library.startHash({ adapter_ids: [req.params.id], verify: req.query.verify ?? false }) });
    },
  );
  app.post(
    '/adapters/:id/civitai/refresh',
    { schema: { tags: ['adapters'], params: IdParams, response: { 200: Type.Object({ result: CivitaiRefreshResult, adapter: Type.Ref('Adapter') }) } } },
    async (req) => {
      await adapters.get(req.params.id);
      const result = await civitai.refreshOne(req.params.id);
      return { result, adapter: await adapters.get(req.params.id) };
    },
  );

  app.get('/adapters/:id/preview', { schema: { tags: ['adapters'], params: IdParams, querystring: PreviewQuery } }, async (req, reply) => {
    const file = await previews.preview(req.params.id, req.query.thumbnail ? { width: req.query.size ?? 256 } : null);
    reply.header('etag', file.etag).header('cache-control', 'private, max-age=3600');
    if (req.headers['if-none-match'] === file.etag) return reply.code(304).send();
    return reply.type(file.contentType).header('content-length', file.size).send(fs.createReadStream(file.path));
  });
  // Replacing the preview is a PUT: the original SPA's POST /adapters/{id}/preview means "generate one".
  app.put('/adapters/:id/preview', { schema: { tags: ['adapters'], params: IdParams, response: { 200: AdapterEnvelope } } }, async (req) => {
    if (!req.isMultipart()) throw new BadRequestError('multipart_required', 'send the image as multipart/form-data in a field named "file"');
    const part = await req.file();
    if (!part) throw new BadRequestError('file_required', 'no file in the upload');
    const bytes = await part.toBuffer();
    if (part.file.truncated) throw new BadRequestError('preview_too_large', `previews are limited to ${MAX_PREVIEW_UPLOAD} bytes`);
    await previews.upload(req.params.id, bytes);
    return { adapter: await adapters.get(req.params.id) };
  });
};
