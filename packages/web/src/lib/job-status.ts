import { JOB_STATUSES, TERMINAL_JOB_STATUSES, type JobStatus } from '@lora-manager/contract';

/**
 * Whether a job has ended or is still to be waited for, from the contract's status lists so that the stores, the
 * pages and the server agree on one vocabulary. Statuses arrive as plain strings (WebSocket events, the generation
 * queue), so the helpers take any string: one they do not know counts as neither finished nor active.
 */
const finished = new Set<string>(TERMINAL_JOB_STATUSES);
const active = new Set<string>(JOB_STATUSES.filter((status) => !finished.has(status)));

export function isFinished(status: string | null | undefined): boolean {
  return status != null && finished.has(status);
}

export function isActive(status: string | null | undefined): boolean {
  return status != null && active.has(status);
}

/** A finished job that did not succeed (failed or cancelled): shown as an error. */
export function isUnsuccessful(status: string | null | undefined): status is Exclude<JobStatus, 'succeeded'> {
  return isFinished(status) && status !== 'succeeded';
}
