import type { Job } from '@lora-manager/contract';
import { ApiError } from '../../../api/client.ts';
import { isFinished } from '../../../lib/job-status.ts';
import { jobFromEvent, useLiveStore } from '../../../stores/live.store.ts';
import { useSettingsStore } from '../../../stores/settings.store.ts';
import { archiveApi } from '../api/archive.api.ts';

/** How often a followed job is read without the WebSocket, and with it (a safety net for missed events). */
const POLL_MS = 500;
const SOCKET_POLL_MS = 3000;

/** The sentence an archive screen shows for a failed request: the problem's title and, when it has one, its detail. */
export function failureMessage(error: unknown): string {
  if (error instanceof ApiError) return error.problem?.detail ? `${error.message}: ${error.problem.detail}` : error.message;
  return error instanceof Error ? error.message : String(error);
}

/** Why a finished job did not succeed, for `what` ("export", "backup"…); null when it succeeded. */
export function unsuccessful(done: Job, what: string): string | null {
  return done.status === 'succeeded' ? null : (done.error ?? `The ${what} ${done.status}`);
}

/**
 * What the three archive stores (export, import, backups) share: the archive API and the following of a server job.
 * Call it inside a setup store: it reads the settings and live stores.
 */
export function useArchiveJobs() {
  const settings = useSettingsStore();
  const live = useLiveStore();
  const api = archiveApi(settings.api);

  /**
   * Follow a job until it is finished, calling `onUpdate` with each newer state. Progress comes from the app's one
   * WebSocket (the live store); the job is also read now and then, often while the socket is not open, so a
   * reconnect that missed events cannot leave the page waiting.
   */
  function follow(job: Job, onUpdate: (job: Job) => void): Promise<Job> {
    let current = job;
    onUpdate(current);
    if (isFinished(current.status)) return Promise.resolve(current);
    return new Promise<Job>((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const apply = (next: Job) => {
        if (next.id !== job.id || next.updated_at < current.updated_at || isFinished(current.status)) return;
        current = next;
        onUpdate(next);
        if (!isFinished(next.status)) return;
        off();
        clearTimeout(timer);
        resolve(next);
      };
      const off = live.onEvent((event) => {
        const next = jobFromEvent(event);
        if (next) apply(next);
      });
      const poll = async () => {
        try {
          apply((await api.job(job.id)).job);
        } catch {
          /* the next poll or event will tell */
        }
        if (!isFinished(current.status)) timer = setTimeout(() => void poll(), live.state === 'open' ? SOCKET_POLL_MS : POLL_MS);
      };
      timer = setTimeout(() => void poll(), live.state === 'open' ? SOCKET_POLL_MS : POLL_MS);
    });
  }

  /**
   * Pick up the newest running job of these kinds, started before this page was opened (or on another page, tab or by
   * the schedule), and follow it like one started here. Null when none runs.
   */
  async function resume(kinds: readonly string[], onUpdate: (job: Job) => void): Promise<Job | null> {
    const { items } = await api.runningJobs().catch(() => ({ items: [] as Job[] }));
    const job = items.filter((j) => kinds.includes(j.kind)).sort((a, b) => b.created_at.localeCompare(a.created_at))[0];
    return job ? follow(job, onUpdate) : null;
  }

  /** Ask the server to stop a job that is still going; a refusal (it just ended) changes nothing here. */
  async function cancel(job: Job | null): Promise<void> {
    if (job && !isFinished(job.status)) await api.cancelJob(job.id).catch(() => undefined);
  }

  return { api, follow, resume, cancel };
}
