import fs from 'node:fs';
import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { Logger } from 'pino';
import { countEntries, DEFAULT_MAX_DEPTH } from '../../lib/library-walk.ts';
import { PREVIEW_EXTENSIONS } from '../../lib/sidecars.ts';

export interface WatcherOptions {
  debounceMs?: number;
  stabilityMs?: number;
  usePolling?: boolean;
  /** Roots with more entries than this are rescanned every `rescanIntervalMs` instead of watched (LIBRARY_WATCH_MAX_ENTRIES). */
  maxEntries?: number;
  maxDepth?: number;
  rescanIntervalMs?: number;
  /** Follow links out of the roots (LIBRARY_ALLOW_LINKS_OUT); off, a link is not watched through. */
  followLinks?: boolean;
}

/**
 * A watcher keeps an entry in memory (and a kernel watch) per folder, so a root too large to watch would grow it
 * without limit: such a root is rescanned periodically instead, and the state says so.
 *
 * Watches the library roots while the server runs and turns added, changed and removed LoRA files (and their
 * sidecars and previews) into small scans of just those files. Changes are gathered for a moment first, so copying
 * a folder of LoRAs makes one scan, not hundreds; files still being written are waited for.
 */
export class LibraryWatcher {
  private watcher: FSWatcher | null = null;
  private pending = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private watched: string[] = [];
  private rescanned: string[] = [];
  private rescanTimer: NodeJS.Timeout | null = null;
  /** `serve` wants watching; CLI commands and workers never begin it. */
  private wanted = false;
  private enabled = true;
  private syncing: Promise<void> = Promise.resolve();

  constructor(
    private readonly scanPaths: (paths: string[]) => Promise<unknown>,
    private readonly roots: () => Promise<string[]>,
    private readonly isEnabled: () => Promise<boolean>,
    private readonly logger: Logger,
    private readonly options: WatcherOptions = {},
  ) {}

  /** Watching, or rescanning periodically the roots too large to watch. */
  get running(): boolean {
    return this.watcher !== null || this.rescanTimer !== null;
  }

  state(): { enabled: boolean; running: boolean; rescanned_roots?: string[]; detail?: string | null } {
    const state = { enabled: this.enabled, running: this.running };
    if (this.rescanned.length === 0) return state;
    const minutes = Math.round(this.rescanInterval / 60_000);
    return {
      ...state,
      rescanned_roots: [...this.rescanned],
      detail: `too large to watch (over ${this.options.maxEntries} entries, LIBRARY_WATCH_MAX_ENTRIES): rescanned every ${minutes} minutes instead`,
    };
  }

  private get rescanInterval(): number {
    return this.options.rescanIntervalMs ?? 30 * 60_000;
  }

  /** Watch from now on, as long as the setting allows; follows setting and root changes through `sync`. */
  async begin(): Promise<void> {
    this.wanted = true;
    await this.sync();
  }

  async end(): Promise<void> {
    this.wanted = false;
    await this.sync();
  }

  /** Re-read the setting and the roots and start, restart or stop accordingly. Calls are serialised. */
  sync(): Promise<void> {
    this.syncing = this.syncing
      .then(async () => {
        this.enabled = await this.isEnabled();
        if (this.wanted && this.enabled) await this.start(await this.roots());
        else await this.stop();
      })
      .catch((error) => this.logger.warn({ err: error }, 'could not update the library watcher'));
    return this.syncing;
  }

  private async start(roots: readonly string[]): Promise<void> {
    await this.stop();
    const existing = roots.filter((r) => fs.existsSync(r));
    const limit = this.options.maxEntries ?? Number.POSITIVE_INFINITY;
    const maxDepth = this.options.maxDepth ?? DEFAULT_MAX_DEPTH;
    this.watched = [];
    this.rescanned = [];
    for (const root of existing) {
      const fits = Number.isFinite(limit) ? (await countEntries(root, limit, maxDepth)) <= limit : true;
      (fits ? this.watched : this.rescanned).push(root);
    }
    if (this.rescanned.length > 0) {
      const rescanned = [...this.rescanned];
      this.logger.warn({ roots: rescanned, limit }, 'library roots too large to watch: rescanned periodically instead');
      this.rescanTimer = setInterval(() => void this.scanPaths(rescanned).catch((error) => this.logger.warn({ err: error }, 'could not queue a periodic rescan')), this.rescanInterval);
      this.rescanTimer.unref();
    }
    if (this.watched.length === 0) return;
    const watcher = watch(this.watched, {
      ignoreInitial: true,
      followSymlinks: this.options.followLinks ?? false,
      depth: maxDepth,
      persistent: true,
      usePolling: this.options.usePolling ?? false,
      interval: 200,
      ignored: (p: string) => path.basename(p).startsWith('.') || /\.tmp$/i.test(p),
      awaitWriteFinish: { stabilityThreshold: this.options.stabilityMs ?? 2000, pollInterval: 100 },
    });
    const onFile = (file: string) => {
      const model = modelFor(file);
      if (model) this.queue(model);
    };
    watcher.on('add', onFile).on('change', onFile).on('unlink', onFile);
    watcher.on('unlinkDir', (dir) => this.queue(dir));
    watcher.on('addDir', (dir) => this.queue(dir));
    watcher.on('error', (error) => this.logger.warn({ err: error }, 'library watcher error'));
    await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
    this.watcher = watcher;
    this.logger.info({ roots: this.watched }, 'watching the library for changes');
  }

  private async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.rescanTimer) clearInterval(this.rescanTimer);
    this.rescanTimer = null;
    this.rescanned = [];
    this.pending.clear();
    const w = this.watcher;
    this.watcher = null;
    if (w) await w.close();
  }

  private queue(file: string): void {
    this.pending.add(file);
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.flush(), this.options.debounceMs ?? 1000);
  }

  private async flush(): Promise<void> {
    this.timer = null;
    const paths = [...this.pending];
    this.pending.clear();
    if (paths.length === 0) return;
    try {
      await this.scanPaths(paths);
    } catch (error) {
      this.logger.warn({ err: error, paths: paths.length }, 'could not queue a scan for changed files');
    }
  }
}

const SIDECAR_SUFFIXES = [
  '.safetensors.rgthree-info.json',
  '.civitai.info',
  '.metadata.json',
  '.cm-info.json',
  '.description.txt',
  '.json',
  '.txt',
  ...PREVIEW_EXTENSIONS.flatMap((ext) => [`.preview.${ext}`, `.thumb.${ext}`, `.example.0.${ext}`, `.${ext}`]),
];

/** The LoRA file a changed path belongs to: itself, or the model a sidecar or preview sits beside. */
export function modelFor(file: string): string | null {
  if (/\.safetensors$/i.test(file)) return file;
  const lower = file.toLowerCase();
  const suffix = SIDECAR_SUFFIXES.find((s) => lower.endsWith(s));
  if (!suffix) return null;
  const stem = file.slice(0, file.length - suffix.length);
  return stem && !stem.endsWith(path.sep) ? `${stem}.safetensors` : null;
}
