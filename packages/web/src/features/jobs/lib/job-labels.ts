import type { Job } from '@lora-manager/contract';

/** What the tray calls each kind of job. */
const KIND_LABELS: Record<string, string> = {
  'library.scan': 'Library scan',
  'library.hash': 'Hashing',
  'library.civitai': 'CivitAI refresh',
  generation: 'Generation',
  delivery: 'Generation',
  'archive.export': 'Export',
  'archive.import': 'Import',
  'backup.create': 'Backup',
  'backup.scheduled': 'Scheduled backup',
  'backup.restore': 'Restore',
  'recipes.civitai': 'CivitAI lookup (recipes)',
};

/** Where a job's own page is, to open from the tray. */
const KIND_PAGES: Record<string, string> = {
  'library.scan': '/library',
  'library.hash': '/library',
  'library.civitai': '/library',
  generation: '/generate',
  delivery: '/generate',
  'archive.export': '/archive',
  'archive.import': '/archive',
  'backup.create': '/archive',
  'backup.scheduled': '/archive',
  'backup.restore': '/archive',
  'recipes.civitai': '/recipes',
};

export function jobLabel(job: Pick<Job, 'kind'>): string {
  return KIND_LABELS[job.kind] ?? job.kind;
}

export function jobPage(job: Pick<Job, 'kind'>): string | null {
  return KIND_PAGES[job.kind] ?? null;
}

/** A percentage that says "started" rather than "0 %" once a job runs, and never 100 % before it ends. */
export function jobPercent(job: Pick<Job, 'progress' | 'status'>): string {
  if (job.status === 'pending') return 'queued';
  const p = Math.max(0, Math.min(1, job.progress ?? 0)) * 100;
  if (p > 0 && p < 1) return '<1 %';
  return `${Math.min(99, Math.floor(p))} %`;
}

/** The line under a job's name: its own message, else its status. */
export function jobDetail(job: Pick<Job, 'status' | 'progress_detail'>): string {
  if (job.status === 'retrying') return `retrying${job.progress_detail?.message ? `: ${job.progress_detail.message}` : ''}`;
  return job.progress_detail?.message ?? (job.status === 'pending' ? 'waiting to start' : job.status);
}
