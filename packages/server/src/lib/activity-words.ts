import type { Job } from '@lora-manager/contract';

/**
 * A job in plain words for the dashboard's activity feed ("Generated 4 images: “a fox in…”"), from its kind, status,
 * payload and result. The feed's `message` keeps the original's wording for API clients; this is what people read.
 */

const PROMPT_CHARS = 48;

function quoted(prompt: string): string {
  const oneLine = prompt.replace(/\s+/g, ' ').trim();
  return `“${oneLine.length > PROMPT_CHARS ? `${oneLine.slice(0, PROMPT_CHARS - 1).trimEnd()}…` : oneLine}”`;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en')} ${n === 1 ? one : many}`;
}

function percent(progress: number): string {
  const value = progress * 100;
  return value > 0 && value < 1 ? '<1 %' : `${Math.min(99, Math.round(value))} %`;
}

function num(record: unknown, key: string): number | null {
  const value = record && typeof record === 'object' ? (record as Record<string, unknown>)[key] : undefined;
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** What the job does, in three tenses: waiting, running, done. */
const VERBS: Record<string, [waiting: string, running: string, done: string]> = {
  'library.scan': ['Library scan waiting', 'Scanning the library', 'Scanned the library'],
  'library.hash': ['Hashing waiting', 'Hashing LoRA files', 'Hashed LoRA files'],
  'library.civitai': ['CivitAI lookup waiting', 'Looking LoRAs up on CivitAI', 'Looked LoRAs up on CivitAI'],
  'archive.export': ['Export waiting', 'Exporting', 'Exported'],
  'archive.import': ['Import waiting', 'Importing', 'Imported'],
  'backup.create': ['Backup waiting', 'Backing up', 'Backed up'],
  'backup.restore': ['Restore waiting', 'Restoring a backup', 'Restored a backup'],
  'backup.scheduled': ['Scheduled backup waiting', 'Running the scheduled backup', 'Ran the scheduled backup'],
};

/** Counts worth a few words once a job is done. */
function doneDetail(job: Job): string {
  const r = job.result;
  switch (job.kind) {
    case 'library.scan': {
      const parts = [
        [num(r, 'added'), 'added'],
        [num(r, 'updated'), 'changed'],
        [num(r, 'missing'), 'missing'],
        [num(r, 'issues'), 'not catalogued'],
      ].filter(([n]) => (n as number | null) !== null && (n as number) > 0);
      return parts.length ? `: ${parts.map(([n, word]) => `${(n as number).toLocaleString('en')} ${word as string}`).join(', ')}` : ': nothing changed';
    }
    case 'library.hash': {
      const hashed = num(r, 'hashed');
      return hashed !== null ? `: ${plural(hashed, 'file')}` : '';
    }
    case 'library.civitai': {
      const found = num(r, 'found');
      const looked = num(r, 'looked_up');
      return found !== null && looked !== null ? `: ${found.toLocaleString('en')} of ${plural(looked, 'LoRA')} found` : '';
    }
    case 'archive.export': {
      const count = num(r, 'adapter_count');
      return count !== null ? ` ${plural(count, 'LoRA')}` : '';
    }
    default:
      return '';
  }
}

export function activityWords(job: Job): string {
  const prompt = typeof job.payload.prompt === 'string' ? job.payload.prompt : null;
  const error = job.error ? `: ${job.error.split('\n')[0].slice(0, 160)}` : '';
  if (job.kind === 'generation' || job.kind === 'delivery') {
    const what = prompt !== null ? quoted(prompt) : 'an image';
    const target = typeof job.payload.backend === 'string' ? job.payload.backend : typeof job.payload.mode === 'string' ? job.payload.mode : null;
    if (job.kind === 'delivery' && job.status === 'succeeded') return `Sent ${what}${target ? ` to ${target}` : ''}`;
    switch (job.status) {
      case 'pending':
        return `Waiting to generate ${what}`;
      case 'running':
        return `Generating ${what} (${percent(job.progress)})`;
      case 'retrying':
        return `Retrying ${what}${error}`;
      case 'cancelled':
        return `Cancelled ${what}`;
      case 'failed':
        return `Could not generate ${what}${error}`;
      default: {
        const images = Array.isArray((job.result as { images?: unknown } | null)?.images) ? (job.result as { images: unknown[] }).images.length : null;
        return images !== null ? `Generated ${plural(images, 'image')}: ${what}` : `Generated ${what}`;
      }
    }
  }
  const [waiting, running, done] = VERBS[job.kind] ?? [`${job.kind} waiting`, `Running ${job.kind}`, `Finished ${job.kind}`];
  switch (job.status) {
    case 'pending':
      return waiting;
    case 'running':
      return `${running} (${percent(job.progress)})`;
    case 'retrying':
      return `${running}: retrying${error}`;
    case 'cancelled':
      return `${running}: cancelled`;
    case 'failed':
      return `${running} failed${error}`;
    default:
      return `${done}${doneDetail(job)}`;
  }
}
