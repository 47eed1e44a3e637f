import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Backup, BackupCreate, BackupCreateResult, BackupIdParams, BackupSchedule, BackupScheduleState, ImportReport, RestoreRequest } from '@lora-manager/contract';
import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import type { ArchiveImportService } from '../services/archive-import.service.ts';
import type { ArchiveJobService } from '../services/archive-jobs.service.ts';
import type { BackupService } from '../services/backup.service.ts';
import { sendZip } from './archive.routes.ts';
import { emptyBodyIsDefaults } from '../../http/optional-body.ts';

export interface BackupRouteOptions {
  backups: BackupService;
  importer: ArchiveImportService;
  /** The job forms are offered when the server has a queue. */
  jobs?: ArchiveJobService;
}

const tags = ['backups'];

const JobAccepted = Type.Object({ job: Type.Ref('Job') });

export const backupRoutes: FastifyPluginAsync<BackupRouteOptions> = async (fastify, { backups, importer, jobs }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  // The original's routes.
  app.get('/backups/history', { schema: { tags, response: { 200: Type.Array(Backup) } } }, async () => backups.list());

  app.post('/backup/create', { preValidation: emptyBodyIsDefaults, schema: { tags, body: BackupCreate, response: { 200: BackupCreateResult } } }, async (req) => {
    const backup = await backups.create(req.body);
    return { success: true, backup_id: backup.id, type: backup.type, status: backup.status, size: backup.size, created_at: backup.created_at, backup };
  });

  app.delete('/backups/:id', { schema: { tags, params: BackupIdParams, response: { 204: Type.Null() } } }, async (req, reply) => {
    await backups.delete(req.params.id);
    return reply.code(204).send(null);
  });

  // What the original's UI promised and never had.
  app.get('/backups', { schema: { tags, response: { 200: Type.Array(Backup) } } }, async () => backups.list());

  app.get('/backups/schedule', { schema: { tags, response: { 200: BackupScheduleState } } }, async () => backups.schedule());

  app.put('/backups/schedule', { schema: { tags, body: BackupSchedule, response: { 200: BackupScheduleState } } }, async (req) =>
    backups.setSchedule(req.body),
  );

  app.get('/backups/:id', { schema: { tags, params: BackupIdParams, response: { 200: Backup } } }, async (req) => backups.get(req.params.id));

  app.get('/backups/:id/download', { schema: { tags, params: BackupIdParams, produces: ['application/zip'] } }, async (req, reply) => {
    const file = await backups.file(req.params.id);
    return sendZip(reply, file.path, file.fileName, file.size);
  });

  app.post(
    '/backups/:id/restore',
    {
      preValidation: emptyBodyIsDefaults,
      schema: {
        tags,
        params: BackupIdParams,
        body: RestoreRequest,
        description: 'An import of the backup in replace mode (overwrite, backup first) unless the body says otherwise; same checks and guarantees',
        response: { 200: ImportReport },
      },
    },
    async (req) => importer.restoreBackup(req.params.id, req.body),
  );

  if (!jobs) return;

  app.post('/backups/jobs', { preValidation: emptyBodyIsDefaults, schema: { tags, body: BackupCreate, response: { 202: JobAccepted } } }, async (req, reply) => {
    const job = await jobs.startBackup(req.body);
    return reply.code(202).send({ job });
  });

  app.post(
    '/backups/:id/restore/jobs',
    { preValidation: emptyBodyIsDefaults, schema: { tags, params: BackupIdParams, body: RestoreRequest, response: { 202: JobAccepted } } },
    async (req, reply) => {
      const job = await jobs.startRestore(req.params.id, req.body); // a missing or hostile backup is refused now, with its reason
      return reply.code(202).send({ job });
    },
  );
};
