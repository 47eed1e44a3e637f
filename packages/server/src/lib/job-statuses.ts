import { JOB_STATUSES, TERMINAL_JOB_STATUSES, type JobStatus } from '@lora-manager/contract';

/** Statuses of a job that has not finished: every contract status that is not terminal. */
export const ACTIVE_JOB_STATUSES: readonly JobStatus[] = JOB_STATUSES.filter((s) => !TERMINAL_JOB_STATUSES.includes(s));

/** True for a status the contract calls terminal (succeeded, failed, cancelled). Accepts any string from the database. */
export function isTerminalStatus(status: string): boolean {
  return (TERMINAL_JOB_STATUSES as readonly string[]).includes(status);
}

/** True for pending, running or retrying. */
export function isActiveStatus(status: string): boolean {
  return (ACTIVE_JOB_STATUSES as readonly string[]).includes(status);
}
