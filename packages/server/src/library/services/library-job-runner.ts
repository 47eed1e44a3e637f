import type { JobProgress } from '@lora-manager/contract';
import type { JobPayload, JobResult } from '../../jobs/job-catalogue.ts';
import type { CivitaiService } from './civitai.service.ts';
import type { LibraryHashService } from './library-hash.service.ts';
import type { LibraryScanService } from './library-scan.service.ts';
import type { LibrarySettingsService } from './library-settings.service.ts';
import type { LibraryService } from './library.service.ts';

/** Where a library job's progress goes: `report` may be throttled (`force` always goes out), `flush` sends the last. */
export interface ProgressSink {
  report(update: JobProgress, force?: boolean): void;
  flush(): Promise<void>;
}

export interface LibraryRun {
  signal: AbortSignal;
  progress: ProgressSink;
}

/**
 * The library's background work, one method per job kind. A scan queues hashing of what it found (when auto-hash is
 * on); hashing queues a CivitAI lookup of the newly hashed files (when CivitAI is enabled).
 */
export class LibraryJobRunner {
  constructor(
    private readonly scanner: LibraryScanService,
    private readonly hasher: LibraryHashService,
    private readonly civitai: CivitaiService,
    private readonly settings: LibrarySettingsService,
    private readonly library: LibraryService,
  ) {}

  async scan(payload: JobPayload<'library.scan'>, run: LibraryRun): Promise<JobResult<'library.scan'>> {
    const summary = await this.scanner.scan({
      roots: payload.roots ?? undefined,
      paths: payload.paths ?? undefined,
      force: payload.force ?? false,
      signal: run.signal,
      onProgress: (p) =>
        run.progress.report({ progress: p.progress, step: p.done, total_steps: p.indeterminate ? null : p.total || null, message: p.message, indeterminate: p.indeterminate ?? false }, p.phase === 'done'),
    });
    await run.progress.flush();
    const settings = await this.settings.values();
    if (settings.autoHash && (await this.hasher.pendingIds()).length > 0) await this.library.startHash({});
    return summary;
  }

  async hash(payload: JobPayload<'library.hash'>, run: LibraryRun): Promise<JobResult<'library.hash'>> {
    const summary = await this.hasher.hash({
      adapterIds: payload.adapter_ids ?? undefined,
      verify: payload.verify ?? false,
      signal: run.signal,
      onProgress: (p) => run.progress.report({ progress: p.total ? p.done / p.total : 1, step: p.done, total_steps: p.total, message: p.message }),
    });
    await run.progress.flush();
    const settings = await this.settings.values();
    if (settings.civitaiEnabled && summary.hashed_ids.length > 0 && (await this.civitai.candidates(false)).length > 0) {
      await this.library.startCivitaiRefresh({});
    }
    return { ...summary, hashed_ids: summary.hashed_ids.length };
  }

  async civitaiRefresh(payload: JobPayload<'library.civitai'>, run: LibraryRun): Promise<JobResult<'library.civitai'>> {
    const ids = payload.adapter_ids ?? (await this.civitai.candidates(payload.retry_not_found ?? false));
    const summary = await this.civitai.refresh(ids, {
      signal: run.signal,
      onProgress: (done, total) => run.progress.report({ progress: total ? done / total : 1, step: done, total_steps: total, message: `looked up ${done} of ${total}` }),
    });
    await run.progress.flush();
    // Nothing answered at all: fail this attempt so the queue retries later with backoff.
    if (summary.unreachable > 0 && summary.found + summary.not_found === 0) {
      throw new Error(summary.results.find((r) => r.error)?.error ?? 'CivitAI is unreachable');
    }
    return { ...summary, results: summary.results.slice(0, 1000) };
  }
}
