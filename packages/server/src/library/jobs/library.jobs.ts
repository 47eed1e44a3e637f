import type { LibraryJobRunner, ProgressSink } from '../services/library-job-runner.ts';
import { JOB_KINDS } from '../../jobs/job-catalogue.ts';
import type { JobContext, JobQueue } from '../../jobs/job-queue.ts';

/** The library's job kinds, each a call to the runner. Each runs one at a time; CivitAI lookups retry slowly. */
export function registerLibraryJobs(queue: JobQueue, runner: LibraryJobRunner): void {
  queue.register(JOB_KINDS.libraryScan, async (payload, ctx) => runner.scan(payload, { signal: ctx.signal, progress: throttled(ctx) }), { concurrency: 1 });
  queue.register(JOB_KINDS.libraryHash, async (payload, ctx) => runner.hash(payload, { signal: ctx.signal, progress: throttled(ctx) }), { concurrency: 1 });
  queue.register(JOB_KINDS.libraryCivitai, async (payload, ctx) => runner.civitaiRefresh(payload, { signal: ctx.signal, progress: throttled(ctx) }), {
    concurrency: 1,
    maxAttempts: 3,
    backoffMs: 60_000,
  });
}

type Progress = Parameters<JobContext['progress']>[0];

/** Progress writes a job row and an event: at most a few a second, and always the last one. */
function throttled(ctx: JobContext, intervalMs = 250): ProgressSink {
  let last = 0;
  let pending: Progress | null = null;
  let chain: Promise<void> = Promise.resolve();
  const send = (p: Progress) => {
    chain = chain.then(() => ctx.progress(p)).catch((error) => ctx.logger.warn({ err: error }, 'progress update failed'));
  };
  return {
    report(p, force = false) {
      const now = Date.now();
      if (force || now - last >= intervalMs) {
        last = now;
        pending = null;
        send(p);
      } else {
        pending = p;
      }
    },
    async flush() {
      if (pending) send(pending);
      pending = null;
      await chain;
    },
  };
}
