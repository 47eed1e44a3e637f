import type { Job, JobProgress, JobStatus } from './jobs.ts';

/**
 * What travels over `/api/v1/ws/progress`. Every message is `{type, timestamp, data}`. The server emits both the
 * original API's vocabulary (progress_update, generation_started, generation_complete) and the original SPA's
 * (generation_progress, generation_error, queue_update, system_status), plus job_* events for any kind of job.
 */
export interface ServerEvent<T extends string = string, D = unknown> {
  type: T;
  timestamp: string;
  data: D;
}

/** Published on the event bus for every job state or progress change; the WebSocket fans it out. */
export interface JobEvent {
  job: Job;
  /** What changed: a new state, or progress within `running`. */
  change: 'queued' | 'started' | 'progress' | 'retrying' | 'succeeded' | 'failed' | 'cancelled';
}

export interface ProgressUpdateData extends JobProgress {
  job_id: string;
  kind: string;
  status: JobStatus;
  current_step: number | null;
  error_message: string | null;
}

/** Client → server. `job_ids: null` means every job. Subscriptions accumulate; `unsubscribe` removes ids. */
export interface SubscribeMessage {
  type: 'subscribe' | 'unsubscribe';
  job_ids: string[] | null;
  include_previews?: boolean;
}
