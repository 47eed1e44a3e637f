import fs from 'node:fs';
import path from 'node:path';
import type { Job, ServerEvent } from '@lora-manager/contract';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { allAdapters, exportZip, seedLibrary, snapshot, wipe } from '../support/archive-fixtures.ts';
import { createTestApp, type TestApp } from '../support/test-app.ts';
import { buildZip, multipartBody } from '../support/zip-builder.ts';

/** Export, import, backup and restore as jobs: 202 with a job, progress on the WebSocket, the outcome in the job. */
describe('archive jobs', () => {
  let t: TestApp;
  let base: string;

  beforeAll(async () => {
    t = await createTestApp('sqlite');
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const address = t.app.server.address();
    base = `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  afterAll(async () => t.close());
  beforeEach(async () => wipe(t));

  async function finished(job: Job): Promise<Job> {
    await t.container.queue.drain();
    return (await t.app.inject({ method: 'GET', url: `/api/v1/jobs/${job.id}` })).json().job as Job;
  }

  /** Everything the progress WebSocket says about one job while `run` goes on, in both vocabularies. */
  async function watch(run: () => Promise<Job>): Promise<{ job: Job; frames: ServerEvent<string, any>[] }> {
    const socket = new WebSocket(`ws://${base}/api/v1/ws/progress`);
    const frames: ServerEvent<string, any>[] = [];
    socket.on('message', (data) => frames.push(JSON.parse(data.toString())));
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send(JSON.stringify({ type: 'subscribe', job_ids: null }));
    while (!frames.some((f) => f.type === 'subscription_confirmed')) await new Promise((r) => setTimeout(r, 5));
    const job = await finished(await run());
    await new Promise((r) => setTimeout(r, 50));
    socket.close();
    expect(frames[0].type).toBe('connected');
    return { job, frames: frames.filter((f) => f.data?.job_id === job.id || f.data?.id === job.id || f.data?.job?.id === job.id) };
  }

  it('an export job writes the archive for download and reports progress on the WebSocket', async () => {
    await seedLibrary(t, 3, 400_000);
    const { job, frames } = await watch(async () => {
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/export/jobs', payload: { loras: true } });
      expect(res.statusCode).toBe(202);
      return res.json().job;
    });
    expect(job).toMatchObject({ kind: 'archive.export', status: 'succeeded', progress: 1 });
    const result = job.result as { id: string; download_url: string; size: number; adapter_count: number };
    expect(result).toMatchObject({ id: job.id, adapter_count: 3, download_url: `/exports/${job.id}/download` });
    expect(frames.some((f) => f.type === 'progress_update' && f.data.progress > 0 && f.data.progress < 1)).toBe(true);

    const download = await t.app.inject({ method: 'GET', url: `/api/v1${result.download_url}` });
    expect(download.statusCode).toBe(200);
    expect(download.rawPayload.length).toBe(result.size);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/exports' })).json().map((e: { id: string }) => e.id)).toContain(job.id);
    expect((await t.app.inject({ method: 'DELETE', url: `/api/v1/exports/${job.id}` })).statusCode).toBe(204);
    expect((await t.app.inject({ method: 'GET', url: `/api/v1${result.download_url}` })).statusCode).toBe(404);
  });

  it('an import job imports the upload, keeps the report as its result and deletes the upload', async () => {
    await seedLibrary(t, 2);
    const zip = await exportZip(t);
    await wipe(t);
    const { job } = await watch(async () => {
      const { payload, headers } = multipartBody([{ name: 'lib.zip', data: zip }], { backup_before: false });
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/import/jobs', payload, headers });
      expect(res.statusCode).toBe(202);
      return res.json().job;
    });
    expect(job).toMatchObject({ kind: 'archive.import', status: 'succeeded' });
    expect(job.result).toMatchObject({ success: true, results: [{ status: 'imported', created: 2 }] });
    expect((await allAdapters(t)).length).toBe(2);
    expect(fs.readdirSync(path.join(t.dataDir, 'uploads'))).toEqual([]);
  });

  it('an import job of a bad archive fails with the reason and changes nothing', async () => {
    const { payload, headers } = multipartBody([{ name: 'empty.zip', data: buildZip([{ name: 'readme.txt', data: 'hi' }]) }]);
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/import/jobs', payload, headers });
    const job = await finished(res.json().job);
    expect(job.status).toBe('failed');
    expect(job.error).toContain('Archive missing manifest.json');
    expect(job.result).toMatchObject({ success: false, results: [{ code: 'manifest_missing' }] });
    expect(await allAdapters(t)).toEqual([]);
  });

  it('backup and restore run as jobs too', async () => {
    await seedLibrary(t, 1);
    const files = snapshot(t.libraryDir);
    const created = await finished((await t.app.inject({ method: 'POST', url: '/api/v1/backups/jobs', payload: { backup_type: 'full' } })).json().job);
    expect(created).toMatchObject({ kind: 'backup.create', status: 'succeeded' });
    const backupId = (created.result as { id: string }).id;

    await wipe(t);
    const restored = await finished((await t.app.inject({ method: 'POST', url: `/api/v1/backups/${backupId}/restore/jobs` })).json().job);
    expect(restored).toMatchObject({ kind: 'backup.restore', status: 'succeeded' });
    expect((await allAdapters(t)).length).toBe(1);
    expect(snapshot(t.libraryDir)).toEqual(files);
  });
});
