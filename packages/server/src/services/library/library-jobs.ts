import { JOB_KINDS } from '../../jobs/job-catalogue.ts';
import type { JobContext, JobQueue } from '../../jobs/job-queue.ts';
import type { CivitaiService } from './civitai.service.ts';
import type { LibraryHashService } from './library-hash.service.ts';
import type { LibraryScanService } from './library-scan.service.ts';
import type { LibrarySettingsService } from './library-settings.service.ts';
import type { LibraryService } from './library.service.ts';

/**
 * The library's job kinds. A scan queues hashing of what it found (when auto-hash is on); hashing queues a CivitAI
 * lookup of the newly hashed files (when CivitAI is enabled). Each runs one at a time.
 */
export function registerLibraryJobs(
  queue: JobQueue,
  deps: { scanner: LibraryScanService; hasher: LibraryHashService; civitai: CivitaiService; settings: LibrarySettingsService; library: LibraryService },
): void {
  queue.register(
    JOB_KINDS.libraryScan,
    async (payload, ctx) => {
      const report = throttled(ctx);
      const summary = await deps.scanner.scan({
        roots: payload.roots ?? undefined,
        paths: payload.paths ?? undefined,
        force: payload.force ?? false,
        signal: ctx.signal,
        onProgress: (p) => report({ progress: p.progress, step: p.done, total_steps: p.total || null, message: p.message }, p.phase === 'done'),
      });
      await report.flush();
      const settings = await deps.settings.values();
      if (settings.autoHash && (await deps.hasher.pendingIds()).length > 0) await deps.library.startHash({});
      return summary;
    },
    { concurrency: 1 },
  );

  queue.register(
    JOB_KINDS.libraryHash,
    async (payload, ctx) => {
      const report = throttled(ctx);
      const summary = await deps.hasher.hash({
        adapterIds: payload.adapter_ids ?? undefined,
        verify: payload.verify ?? false,
        signal: ctx.signal,
        onProgress: (p) => report({ progress: p.total ? p.done / p.total : 1, step: p.done, total_steps: p.total, message: p.message }),
      });
      await report.flush();
      const settings = await deps.settings.values();
      if (settings.civitaiEnabled && summary.hashed_ids.length > 0 && (await deps.civitai.candidates(false)).length > 0) {
        await deps.library.startCivitaiRefresh({});
      }
      return { ...summary, hashed_ids: summary.hashed_ids.length };
    },
    { concurrency: 1 },
  );

  queue.register(
    JOB_KINDS.libraryCivitai,
    async (payload, ctx) => {
      const report = throttled(ctx);
      const ids = payload.adapter_ids ?? (await deps.civitai.candidates(payload.retry_not_found ?? false));
      const summary = await deps.civitai.refresh(ids, {
        signal: ctx.signal,
        onProgress: (done, total) => report({ progress: total ? done / total : 1, step: done, total_steps: total, message: `looked up ${done} of ${total}` }),
      });
      await report.flush();
      // Nothing answered at all: fail this attempt so the queue retries later with backoff.
      if (summary.unreachable > 0 && summary.found + summary.not_found === 0) {
        throw new Error(summary.results.find((r) => r.error)?.error ?? 'CivitAI is unreachable');
      }
      return { ...summary, results: summary.results.slice(0, 1000) };
    },
    { concurrency: 1, maxAttempts: 3, backoffMs: 60_000 },
  );
}

type Progress = Parameters<JobContext['progress']>[0];

/** Progress writes a job row and an event: at most a few a second, and always the last one. */
function throttled(ctx: JobContext, intervalMs = 250) {
  let last = 0;
  let pending: Progress | null = null;
  let chain: Promise<void> = Promise.resolve();
  const send = (p: Progress) => {
    chain = chain.then(() => ctx.progress(p)).catch((error) => ctx.logger.warn({ err: error }, 'progress update failed'));
  };
  const report = (p: Progress, force = false) => {
    const now = Date.now();
    if (force || now - last >= intervalMs) {
      last = now;
      pending = null;
      send(p);
    } else {
      pending = p;
    }
  };
  report.flush = async () => {
    if (pending) send(pending);
    pending = null;
    await chain;
  };
  return report;
}
