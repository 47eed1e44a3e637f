import { Type, type Static } from 'typebox';
import { JsonObject, Nullable, StringEnum } from './common.ts';

export const JOB_STATUSES = ['pending', 'running', 'retrying', 'succeeded', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const TERMINAL_JOB_STATUSES: readonly JobStatus[] = ['succeeded', 'failed', 'cancelled'];

/** Where a running job is. `progress` is always 0–1; the rest is what the job knows. */
export const JobProgress = Type.Object({
  progress: Type.Number({ minimum: 0, maximum: 1 }),
  step: Type.Optional(Nullable(Type.Integer())),
  total_steps: Type.Optional(Nullable(Type.Integer())),
  eta_seconds: Type.Optional(Nullable(Type.Number())),
  message: Type.Optional(Nullable(Type.String())),
  /** True while the amount of work is still unknown (a scan still finding files): show activity, not a percentage. */
  indeterminate: Type.Optional(Type.Boolean()),
  /** A small preview image (data URL or API URL) while generating. */
  preview: Type.Optional(Nullable(Type.String())),
});
export type JobProgress = Static<typeof JobProgress>;

/** A unit of background work (scan, hash, generation, delivery, export, import, backup…). The row is the truth. */
export const Job = Type.Object(
  {
    id: Type.String(),
    kind: Type.String(),
    status: StringEnum(JOB_STATUSES),
    progress: Type.Number(),
    progress_detail: Nullable(JobProgress),
    payload: JsonObject,
    result: Nullable(Type.Unknown()),
    error: Nullable(Type.String()),
    attempts: Type.Integer(),
    max_attempts: Type.Integer(),
    queue_group: Nullable(Type.String()),
    created_at: Type.String(),
    started_at: Nullable(Type.String()),
    finished_at: Nullable(Type.String()),
    updated_at: Type.String(),
  },
  { $id: 'Job' },
);
export type Job = Static<typeof Job>;

export const JobListQuery = Type.Object({
  kind: Type.Optional(Type.String({ maxLength: 64 })),
  status: Type.Optional(Type.String({ maxLength: 200, description: 'Comma-separated statuses' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
  offset: Type.Optional(Type.Integer({ minimum: 0 })),
});
export type JobListQuery = Static<typeof JobListQuery>;

/** The original SPA's status vocabulary, used by the generation routes and the WebSocket. */
export type UiJobStatus = 'queued' | 'processing' | 'completed' | 'failed';

export function toUiStatus(status: string | null | undefined): UiJobStatus {
  switch (status) {
    case 'pending':
      return 'queued';
    case 'succeeded':
    case 'completed':
      return 'completed';
    case 'failed':
    case 'cancelled':
      return 'failed';
    default:
      return 'processing';
  }
}
