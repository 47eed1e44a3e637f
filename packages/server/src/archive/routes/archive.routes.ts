import fs from 'node:fs';
import multipart from '@fastify/multipart';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ExportConfig, ExportEstimate, ExportFile, IdParams, ImportReport } from '@lora-manager/contract';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { Type } from 'typebox';
import type { ArchiveConfig } from '../../config.ts';
import { AppError } from '../../errors.ts';
import { NotAZipError } from '../../lib/zip-reader.ts';
import type { ArchiveExportService } from '../services/archive-export.service.ts';
import type { ArchiveImportService } from '../services/archive-import.service.ts';
import type { ArchiveJobService } from '../services/archive-jobs.service.ts';
import type { ExportFiles } from '../services/export-files.ts';
import { receiveUploads } from './archive-uploads.ts';

export interface ArchiveRouteOptions {
  exporter: ArchiveExportService;
  importer: ArchiveImportService;
  exportFiles: ExportFiles;
  dataDir: string;
  limits: ArchiveConfig;
  /** The job forms are offered when the server has a queue. */
  jobs?: ArchiveJobService;
}

const tags = ['import-export'];
const JobAccepted = Type.Object({ job: Type.Ref('Job') });

export const archiveRoutes: FastifyPluginAsync<ArchiveRouteOptions> = async (fastify, opts) => {
  const { exporter, importer, exportFiles, jobs } = opts;
  // Scoped to this plugin: only the import routes accept multipart bodies, with the archive limits.
  await fastify.register(multipart, { limits: { fileSize: opts.limits.maxUploadBytes } });
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.post('/export/estimate', { schema: { tags, body: ExportConfig, response: { 200: ExportEstimate } } }, async (req) => exporter.estimate(req.body));

  app.post(
    '/export',
    {
      schema: {
        tags,
        body: ExportConfig,
        description: 'Streams a ZIP as it is built: manifest.json (format, counts, SHA-256 of every entry), per-adapter metadata and the chosen files',
        produces: ['application/zip'],
      },
    },
    async (req, reply) => {
      const plan = await exporter.plan(exporter.options(req.body));
      const abort = new AbortController();
      // A client that goes away stops the export: no file is read for nobody.
      reply.raw.on('close', () => {
        if (!reply.raw.writableFinished) abort.abort();
      });
      const run = exporter.start(plan, { signal: abort.signal });
      run.done.catch((error: Error) => req.log.warn({ err: error }, 'export stream ended early'));
      return reply
        .type('application/zip')
        .header('content-disposition', `attachment; filename=${exporter.fileName()}`)
        .header('x-adapter-count', String(plan.adapters.length))
        .send(run.stream);
    },
  );

  app.post(
    '/import',
    {
      schema: {
        tags,
        consumes: ['multipart/form-data'],
        description: 'Multipart: one or more "files" parts (ZIP archives) and a "config" JSON string (ImportConfig). Each archive is one transaction.',
        response: { 200: ImportReport },
      },
    },
    async (req) => {
      const uploads = await receiveUploads(req, opts.dataDir, opts.limits.maxUploadBytes);
      try {
        await assertZips(importer, uploads.files);
        return await importer.importFiles(uploads.files, importer.options(uploads.config));
      } finally {
        await uploads.discard();
      }
    },
  );

  app.get('/exports', { schema: { tags, response: { 200: Type.Array(ExportFile) } } }, async () => exportFiles.list());

  app.get('/exports/:id/download', { schema: { tags, params: IdParams, produces: ['application/zip'] } }, async (req, reply) => {
    const { path, info } = await exportFiles.find(req.params.id);
    return sendZip(reply, path, info.file_name, info.size);
  });

  app.delete('/exports/:id', { schema: { tags, params: IdParams, response: { 204: Type.Null() } } }, async (req, reply) => {
    await exportFiles.delete(req.params.id);
    return reply.code(204).send(null);
  });

  if (!jobs) return;

  app.post('/export/jobs', { schema: { tags, body: ExportConfig, response: { 202: JobAccepted } } }, async (req, reply) => {
    const job = await jobs.startExport(req.body); // bad options are refused now, not in the job
    return reply.code(202).send({ job });
  });

  app.post('/import/jobs', { schema: { tags, consumes: ['multipart/form-data'], response: { 202: JobAccepted } } }, async (req, reply) => {
    const uploads = await receiveUploads(req, opts.dataDir, opts.limits.maxUploadBytes);
    try {
      await assertZips(importer, uploads.files);
      const job = await jobs.startImport(uploads.files, uploads.config);
      return reply.code(202).send({ job });
    } catch (error) {
      await uploads.discard();
      throw error;
    }
  });
};

async function assertZips(importer: ArchiveImportService, files: Array<{ path: string; name: string }>): Promise<void> {
  try {
    await importer.assertZips(files);
  } catch (error) {
    if (error instanceof NotAZipError) {
      const file = (error as NotAZipError & { file?: string }).file ?? 'upload';
      throw new AppError(400, error.code, error.code === 'not_a_zip' ? 'File is not a zip file' : 'The zip file is damaged', `${file}: ${error.message}`);
    }
    throw error;
  }
}

export function sendZip(reply: FastifyReply, file: string, name: string, size: number): FastifyReply {
  return reply
    .type('application/zip')
    .header('content-length', String(size))
    .header('content-disposition', `attachment; filename="${name.replace(/["\\\r\n]/g, '_')}"`)
    .send(fs.createReadStream(file));
}
