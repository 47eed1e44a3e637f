import type { ImportFileResult, Job } from '@lora-manager/contract';
import { isFinished, isUnsuccessful } from '../../../lib/job-status.ts';

/** How the archive screens show sizes, dates, jobs and import results. */

export function bytes(n: number): string {
  if (!(n > 0)) return '0 B';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  const i = Math.min(units.length - 1, Math.floor(Math.log(n) / Math.log(1024)));
  return `${(n / 1024 ** i).toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

/** Archives above this size show it and ask before they start (metadata archives stay far below). */
export const LARGE_ARCHIVE_BYTES = 1024 ** 3;

export const when = (iso: string) => new Date(iso).toLocaleString();

/** A job that is still going: its buttons are disabled and its progress shown. */
export const active = (job: Job | null) => job !== null && !isFinished(job.status);

export const percent = (job: Job | null) => Math.round((job?.progress ?? 0) * 100);

export const progressStatus = (job: Job) => (isUnsuccessful(job.status) ? 'error' : job.status === 'succeeded' ? 'success' : 'default');

/** What a job is doing now; once it ended, how it ended (its last progress message is stale by then). */
export function jobMessage(job: Job | null): string {
  if (!job) return '';
  if (job.status === 'succeeded') return 'done';
  if (isUnsuccessful(job.status)) return job.error ?? job.status;
  return job.progress_detail?.message ?? job.status;
}

export const statusType = (status: ImportFileResult['status']) =>
  status === 'imported' || status === 'validated' ? 'success' : status === 'conflict' ? 'warning' : 'error';

/** One line for what an import (or restore) did to one archive. */
export function summary(r: ImportFileResult): string {
  const parts = (['created', 'updated', 'renamed', 'skipped', 'unchanged', 'deleted'] as const).filter((k) => r[k] > 0).map((k) => `${r[k]} ${k}`);
  return `${parts.join(', ') || 'no adapter changed'}; ${r.files_written} file(s), ${bytes(r.bytes_written)}`;
}
