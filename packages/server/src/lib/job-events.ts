import { toUiStatus, type Job, type JobEvent, type ServerEvent } from '@lora-manager/contract';
import { isTerminalStatus } from './job-statuses.ts';

/** Kinds whose events also go out in the generation vocabulary the original API and SPA used. */
export function isGenerationKind(kind: string): boolean {
  return kind.startsWith('generation') || kind.startsWith('delivery');
}

function progressData(job: Job, includePreview: boolean) {
  const detail = job.progress_detail;
  return {
    job_id: job.id,
    kind: job.kind,
    status: toUiStatus(job.status),
    raw_status: job.status,
    progress: job.progress,
    current_step: detail?.step ?? null,
    total_steps: detail?.total_steps ?? null,
    eta_seconds: detail?.eta_seconds ?? null,
    message: detail?.message ?? null,
    preview_image: includePreview ? (detail?.preview ?? null) : null,
    error_message: job.error,
  };
}

function seconds(from: string | null, to: string | null): number | null {
  if (!from || !to) return null;
  return (Date.parse(to) - Date.parse(from)) / 1000;
}

/**
 * Turn one job event into the WebSocket messages it stands for: `job_update` always, `queue_update` on every state
 * change, `progress_update` / `generation_progress` while running, and for generation kinds the original's
 * `generation_started`, `generation_complete` and `generation_error`.
 */
export function toServerEvents(event: JobEvent, timestamp: string, includePreview: boolean): ServerEvent[] {
  const { job, change } = event;
  const out: ServerEvent[] = [];
  const push = (type: string, data: unknown) => out.push({ type, timestamp, data });
  const generation = isGenerationKind(job.kind);
  const shownJob = includePreview || !job.progress_detail?.preview ? job : { ...job, progress_detail: { ...job.progress_detail, preview: null } };

  push('job_update', { job: shownJob, change });
  if (change !== 'progress') push('queue_update', { job_id: job.id, kind: job.kind, status: toUiStatus(job.status), raw_status: job.status, change, job: shownJob });
  if (change === 'started' || change === 'progress') {
    const data = progressData(job, includePreview);
    push('progress_update', data);
    if (generation) push('generation_progress', data);
  }
  if (!generation) return out;
  if (change === 'queued') push('generation_started', { job_id: job.id, params: job.payload, estimated_duration: null });
  if (isTerminalStatus(change)) {
    const result = (job.result ?? {}) as Record<string, unknown>;
    push('generation_complete', {
      job_id: job.id,
      status: toUiStatus(job.status),
      raw_status: job.status,
      images: Array.isArray(result.images) ? result.images : [],
      error_message: job.error,
      total_duration: seconds(job.started_at, job.finished_at),
      generation_info: result.generation_info ?? null,
    });
  }
  if (change === 'failed') push('generation_error', { job_id: job.id, error_message: job.error, status: 'failed' });
  return out;
}
