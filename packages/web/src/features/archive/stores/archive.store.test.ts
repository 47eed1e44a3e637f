import type { ImportReport, Job } from '@lora-manager/contract';
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useLiveStore } from '../../../stores/live.store.ts';
import { useArchiveBackupsStore } from './backups.store.ts';
import { useArchiveExportStore } from './export.store.ts';
import { useArchiveImportStore } from './import.store.ts';

function job(status: Job['status'], progress: number, extra: Partial<Job> = {}): Job {
  return {
    id: 'job-1',
    kind: 'archive.export',
    status,
    progress,
    progress_detail: { progress, message: status === 'running' ? 'adapters/x/files/0_a.safetensors' : null },
    payload: {},
    result: null,
    error: null,
    attempts: 1,
    max_attempts: 2,
    queue_group: null,
    created_at: '2025-01-01T00:00:00.000Z',
    started_at: null,
    finished_at: null,
    updated_at: '2025-01-01T00:00:00.000Z',
    ...extra,
  };
}

function estimate(bytes: number) {
  return { size: `${(bytes / 1024 ** 3).toFixed(1)} GB`, time: '5 minutes', bytes, seconds: 300, adapter_count: 2000, file_count: 2000, result_count: 0, approximate: true };
}

/** A fake server: each request is answered from `routes` by "METHOD path", recording what was asked. */
function serve(routes: Record<string, Array<unknown> | unknown>) {
  const calls: string[] = [];
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init: RequestInit) => {
      const key = `${init.method} ${url}`;
      calls.push(init.body ? `${key} ${String(init.body)}` : key);
      const answer = routes[key];
      const body = Array.isArray(answer) && key.startsWith('GET /api/v1/jobs/') ? answer.shift() : answer;
      if (body === undefined) return new Response(JSON.stringify({ title: 'not found', code: 'not_found' }), { status: 404 });
      return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
    }),
  );
  return calls;
}

describe('archive stores', () => {
  beforeEach(() => {
    localStorage.clear();
    setActivePinia(createPinia());
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it('starts an export job, follows its progress to the end and lists the archive', async () => {
    const exported = { id: 'job-1', file_name: 'lora_export_20250101_000000.zip', size: 1234, created_at: '2025-01-01T00:00:00.000Z', download_url: '/exports/job-1/download' };
    const calls = serve({
      'POST /api/v1/export/jobs': { job: job('pending', 0) },
      'GET /api/v1/jobs/job-1': [{ job: job('running', 0.4) }, { job: job('succeeded', 1, { result: exported }) }],
      'GET /api/v1/exports': [exported],
    });
    const store = useArchiveExportStore();
    store.exportConfig.lora_files = false;
    const seen: number[] = [];
    const done = store.startExport();
    for (let i = 0; i < 3; i++) {
      await vi.advanceTimersByTimeAsync(500);
      if (store.exportJob) seen.push(store.exportJob.progress);
    }
    await done;
    expect(seen).toContain(0.4);
    expect(store.exportJob?.status).toBe('succeeded');
    expect(store.exports).toEqual([exported]);
    expect(store.exportError).toBeNull();
    expect(calls.find((c) => c.startsWith('POST /api/v1/export/jobs'))).toContain('"lora_files":false');
    expect(store.api.downloadUrl(exported.download_url)).toBe('/api/v1/exports/job-1/download');
  });

  it('follows a job from the WebSocket events the live store hears', async () => {
    const calls = serve({ 'POST /api/v1/export/jobs': { job: job('pending', 0) }, 'GET /api/v1/exports': [] });
    const store = useArchiveExportStore();
    const live = useLiveStore();
    const done = store.startExport();
    await vi.advanceTimersByTimeAsync(0);
    live.handle({ type: 'job_progress', timestamp: '', data: { job: job('running', 0.5, { updated_at: '2025-01-01T00:00:01.000Z' }) } });
    expect(store.exportJob?.progress).toBe(0.5);
    // An older event arriving late does not move the job back.
    live.handle({ type: 'job_progress', timestamp: '', data: { job: job('running', 0.2) } });
    expect(store.exportJob?.progress).toBe(0.5);
    live.handle({ type: 'job_succeeded', timestamp: '', data: { job: job('succeeded', 1, { updated_at: '2025-01-01T00:00:02.000Z' }) } });
    await done;
    expect(store.exportJob?.status).toBe('succeeded');
    expect(calls.filter((c) => c.startsWith('GET /api/v1/jobs/'))).toEqual([]);
  });

  it('shows why a job failed', async () => {
    serve({
      'POST /api/v1/backups/jobs': { job: job('pending', 0, { kind: 'backup.create' }) },
      'POST /api/v1/export/estimate': estimate(200 * 1024 * 1024),
      'GET /api/v1/jobs/job-1': [{ job: job('failed', 0.3, { error: 'The backup failed: no space left on device' }) }],
      'GET /api/v1/backups': [],
      'GET /api/v1/backups/schedule': { enabled: false, interval_hours: 24, backup_type: 'metadata', keep: 7, last_run_at: null, next_run_at: null },
    });
    const store = useArchiveBackupsStore();
    const done = store.createBackup('full');
    await vi.advanceTimersByTimeAsync(1000);
    await done;
    expect(store.backupError).toBe('The backup failed: no space left on device');
  });

  it('uploads the archives through the client and lists the backup the import made first', async () => {
    const report: ImportReport = {
      success: true,
      processed_files: 1,
      total_files: 1,
      results: [{ file: 'a.zip', status: 'imported', backup_id: 'pre-1' } as unknown as ImportReport['results'][number]],
    };
    const backup = { id: 'pre-1', type: 'metadata', status: 'completed', size: 10, adapter_count: 1, note: null, created_at: '2025-01-01T00:00:00.000Z' };
    serve({
      'GET /api/v1/jobs/job-1': [{ job: job('succeeded', 1, { kind: 'archive.import', result: report }) }],
      'GET /api/v1/backups': [backup],
      'GET /api/v1/backups/schedule': { enabled: false, interval_hours: 24, backup_type: 'metadata', keep: 7, last_run_at: null, next_run_at: null },
    });
    const uploads: string[] = [];
    vi.stubGlobal(
      'XMLHttpRequest',
      class {
        upload: { onprogress?: (e: { lengthComputable: boolean; loaded: number; total: number }) => void } = {};
        onload?: () => void;
        status = 202;
        statusText = '';
        responseText = JSON.stringify({ job: job('pending', 0, { kind: 'archive.import' }) });
        open(method: string, url: string) {
          uploads.push(`${method} ${url}`);
        }
        setRequestHeader() {}
        send() {
          this.upload.onprogress?.({ lengthComputable: true, loaded: 1, total: 1 });
          this.onload?.();
        }
      },
    );
    const store = useArchiveImportStore();
    store.chooseFiles([new File(['zip'], 'a.zip')]);
    const done = store.startImport();
    await vi.advanceTimersByTimeAsync(1000);
    await done;
    expect(uploads).toEqual(['POST /api/v1/import/jobs']);
    expect(store.uploadProgress).toBe(1);
    expect(store.importReport).toEqual(report);
    expect(useArchiveBackupsStore().backups).toEqual([backup]);
  });

  it('counts conflicts without a choice while the resolution is "ask", and sends the choices with the import', () => {
    const store = useArchiveImportStore();
    const conflict = (archive_id: string) => ({ archive_id, name: archive_id, version: null, reason: 'same_id' as const, existing_id: archive_id, path: null });
    store.analysis = {
      success: false,
      processed_files: 0,
      total_files: 1,
      results: [{ file: 'a.zip', status: 'conflict', conflicts: [conflict('a'), conflict('b')] } as unknown as ImportReport['results'][number]],
    };
    expect(store.undecided).toBe(2);
    store.decisions.a = 'overwrite';
    expect(store.undecided).toBe(1);
    store.conflictResolution = 'skip';
    expect(store.undecided).toBe(0);
    store.importMode = 'replace';
    store.backupBefore = false;
    expect(store.importConfig).toEqual({ mode: 'replace', conflict_resolution: 'skip', backup_before: false, import_settings: false, overwrite_user_data: false, decisions: { a: 'overwrite' } });
    store.applyToAll('rename');
    expect(store.decisions).toEqual({ a: 'rename', b: 'rename' });
    // A new choice of files starts over.
    store.chooseFiles([]);
    expect(store.decisions).toEqual({});
    expect(store.analysis).toBeNull();
  });

  it('metadata is the default export; one above the size threshold shows its size and starts only when confirmed', async () => {
    const calls = serve({
      'POST /api/v1/export/estimate': estimate(316 * 1024 ** 3),
      'POST /api/v1/export/jobs': { job: job('succeeded', 1) },
      'GET /api/v1/exports': [],
    });
    const store = useArchiveExportStore();
    expect(store.exportConfig.lora_files).toBe(false);
    store.exportConfig.lora_files = true;
    await store.startExport();
    expect(store.confirmSize?.size).toBe('316.0 GB');
    expect(calls.some((c) => c.startsWith('POST /api/v1/export/jobs'))).toBe(false);
    await store.startExport(true);
    expect(store.confirmSize).toBeNull();
    expect(calls.filter((c) => c.startsWith('POST /api/v1/export/jobs'))).toHaveLength(1);
  });

  it('a full backup above the size threshold asks first; a metadata backup never does', async () => {
    const calls = serve({
      'POST /api/v1/export/estimate': estimate(40 * 1024 ** 3),
      'POST /api/v1/backups/jobs': { job: job('succeeded', 1, { kind: 'backup.create' }) },
      'GET /api/v1/backups': [],
      'GET /api/v1/backups/schedule': { enabled: false, interval_hours: 24, backup_type: 'metadata', keep: 7, last_run_at: null, next_run_at: null },
    });
    const store = useArchiveBackupsStore();
    await store.createBackup('full', 'before upgrade');
    expect(store.confirmFull?.estimate.size).toBe('40.0 GB');
    expect(calls.some((c) => c.startsWith('POST /api/v1/backups/jobs'))).toBe(false);
    await store.createBackup('full', store.confirmFull!.note, true);
    await store.createBackup('metadata');
    const posts = calls.filter((c) => c.startsWith('POST /api/v1/backups/jobs'));
    expect(posts).toHaveLength(2);
    expect(posts[0]).toContain('"note":"before upgrade"');
    expect(calls.filter((c) => c.startsWith('POST /api/v1/export/estimate'))).toHaveLength(1);
  });

  it('an estimate answered late for older options does not replace the current one, and is marked outdated meanwhile', async () => {
    const answers: Array<(r: Response) => void> = [];
    vi.stubGlobal('fetch', vi.fn(() => new Promise<Response>((resolve) => answers.push(resolve))));
    const store = useArchiveExportStore();
    const first = store.refreshEstimate();
    const second = store.refreshEstimate();
    await vi.advanceTimersByTimeAsync(0);
    expect(store.estimateStale).toBe(true);
    const reply = (bytes: number) => new Response(JSON.stringify(estimate(bytes)), { status: 200, headers: { 'content-type': 'application/json' } });
    answers[1](reply(2000));
    await second;
    answers[0](reply(1000));
    await first;
    expect(store.estimate?.bytes).toBe(2000);
    expect(store.estimateStale).toBe(false);
  });
});
