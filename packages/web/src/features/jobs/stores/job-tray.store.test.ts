import type { Job } from '@lora-manager/contract';
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useLiveStore } from '../../../stores/live.store.ts';
import { jobPercent } from '../lib/job-labels.ts';
import { useJobTrayStore } from './job-tray.store.ts';

function job(id: string, kind: string, status: Job['status'], progress = 0, created = '2025-01-01T00:00:00.000Z'): Job {
  return {
    id,
    kind,
    status,
    progress,
    progress_detail: null,
    payload: {},
    result: null,
    error: null,
    attempts: 1,
    max_attempts: 1,
    queue_group: null,
    created_at: created,
    started_at: null,
    finished_at: null,
    updated_at: created,
  };
}

function serve(routes: Record<string, unknown>) {
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init: RequestInit) => {
      const body = routes[`${init.method} ${url}`];
      if (body === undefined) return new Response(JSON.stringify({ title: 'not found' }), { status: 404 });
      return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
    }),
  );
}

const RUNNING = 'GET /api/v1/jobs?status=pending%2Crunning%2Cretrying&limit=100';

describe('job tray', () => {
  beforeEach(() => {
    localStorage.clear();
    setActivePinia(createPinia());
  });
  afterEach(() => vi.unstubAllGlobals());

  it('lists the running jobs of every kind, running before waiting, and follows their progress from events', async () => {
    serve({
      [RUNNING]: {
        items: [job('b', 'archive.export', 'pending', 0, '2025-01-01T00:00:01.000Z'), job('a', 'library.scan', 'running', 0.2), job('c', 'backup.create', 'running', 0.5, '2025-01-01T00:00:02.000Z')],
        total: 3,
      },
    });
    const tray = useJobTrayStore();
    await tray.refresh();
    expect(tray.running.map((j) => j.id)).toEqual(['a', 'c', 'b']);
    useLiveStore().handle({ type: 'job_progress', timestamp: '', data: { job: { ...job('a', 'library.scan', 'running', 0.7), updated_at: '2025-01-01T00:00:05.000Z' } } });
    expect(tray.running.find((j) => j.id === 'a')?.progress).toBe(0.7);
  });

  it('drops a job the server no longer lists as running, after reading how it ended', async () => {
    serve({ [RUNNING]: { items: [job('a', 'archive.import', 'running', 0.4)], total: 1 } });
    const tray = useJobTrayStore();
    await tray.refresh();
    expect(tray.running).toHaveLength(1);
    serve({ [RUNNING]: { items: [], total: 0 }, 'GET /api/v1/jobs/a': { job: { ...job('a', 'archive.import', 'succeeded', 1), updated_at: '2025-01-01T00:01:00.000Z' } } });
    await tray.refresh();
    expect(tray.running).toEqual([]);
    expect(useLiveStore().jobs.get('a')?.status).toBe('succeeded');
  });

  it('says "<1 %" for a job that started but has not reached a whole percent, and "queued" before it starts', () => {
    expect(jobPercent({ status: 'running', progress: 0.004 })).toBe('<1 %');
    expect(jobPercent({ status: 'running', progress: 0 })).toBe('0 %');
    expect(jobPercent({ status: 'running', progress: 0.999 })).toBe('99 %');
    expect(jobPercent({ status: 'pending', progress: 0 })).toBe('queued');
  });
});
