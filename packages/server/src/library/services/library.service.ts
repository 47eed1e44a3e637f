import fs from 'node:fs';
import path from 'node:path';
import type { Adapter, AdapterMetadata, Job, LibraryIssue, LibraryRoot, LibraryStatus, ScanSummary } from '@lora-manager/contract';
import type { Logger } from 'pino';
import { AppError, BadRequestError, ConflictError, NotFoundError } from '../../errors.ts';
import { JOB_KINDS } from '../../jobs/job-catalogue.ts';
import type { JobQueue } from '../../jobs/job-queue.ts';
import type { Clock } from '../../lib/clock.ts';
import { ACTIVE_JOB_STATUSES } from '../../lib/job-statuses.ts';
import { isInside } from '../../lib/paths.ts';
import { mergeA1111Json } from '../../lib/sidecars.ts';
import type { AdapterRepository } from '../repositories/adapter.repository.ts';
import type { JobRepository } from '../../repositories/job.repository.ts';
import type { LibraryRepository } from '../repositories/library.repository.ts';
import type { LibraryRootsService } from './library-roots.service.ts';
import type { LibraryScanService } from './library-scan.service.ts';
import type { LibrarySettingsService } from './library-settings.service.ts';

/** Fields of A1111's NAME.json that a user's edit may be written back to. */
const A1111_FIELDS = ['activation_text', 'preferred_weight', 'negative_text', 'notes', 'description', 'sd_version'] as const;

export interface WatcherState {
  enabled: boolean;
  running: boolean;
  rescanned_roots?: string[];
  detail?: string | null;
}

/** What LibraryService needs; one object, so call sites name each part. */
export interface LibraryServiceOptions {
  roots: LibraryRootsService;
  adapters: AdapterRepository;
  library: LibraryRepository;
  jobs: JobRepository;
  queue: JobQueue;
  scanner: LibraryScanService;
  settings: LibrarySettingsService;
  clock: Clock;
  logger: Logger;
  configuredRoots: readonly string[];
}

/** The library's use cases behind the routes and the CLI: roots, scans, status, metadata, duplicates, write-back. */
export class LibraryService {
  private rootListeners: Array<() => void> = [];
  watcherState: () => WatcherState = () => ({ enabled: false, running: false });

  private readonly roots: LibraryRootsService;
  private readonly adapters: AdapterRepository;
  private readonly library: LibraryRepository;
  private readonly jobs: JobRepository;
  private readonly queue: JobQueue;
  private readonly scanner: LibraryScanService;
  private readonly settings: LibrarySettingsService;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly configuredRoots: readonly string[];

  constructor(options: LibraryServiceOptions) {
    this.roots = options.roots;
    this.adapters = options.adapters;
    this.library = options.library;
    this.jobs = options.jobs;
    this.queue = options.queue;
    this.scanner = options.scanner;
    this.settings = options.settings;
    this.clock = options.clock;
    this.logger = options.logger;
    this.configuredRoots = options.configuredRoots;
  }

  onRootsChanged(listener: () => void): void {
    this.rootListeners.push(listener);
  }

  async listRoots(): Promise<LibraryRoot[]> {
    const configured = new Set(this.configuredRoots.map((r) => path.resolve(r)));
    const counts = await this.adapters.countByRoot();
    return (await this.roots.all()).map((root) => {
      let exists = false;
      let readable = false;
      try {
        exists = fs.statSync(root).isDirectory();
        fs.accessSync(root, fs.constants.R_OK | fs.constants.X_OK);
        readable = exists;
      } catch {
        /* reported as not readable */
      }
      const refused = this.roots.refusal(root);
      const listed: LibraryRoot = { path: root, source: configured.has(root) ? 'config' : 'settings', exists, readable, adapters: counts.get(root) ?? 0 };
      // Only a refused root carries the field: it is never walked, watched or served from.
      return refused ? { ...listed, refused } : listed;
    });
  }

  async addRoot(input: string): Promise<LibraryRoot[]> {
    const root = this.checkedRoot(input);
    const added = await this.roots.added();
    if (!(await this.roots.list()).includes(root)) await this.roots.setAdded([...added, root], this.now());
    this.rootsChanged();
    return this.listRoots();
  }

  /** Replace the roots added at run time; the LORA_PATHS ones stay. Adapters under a dropped root are marked missing. */
  async setRoots(inputs: readonly string[]): Promise<LibraryRoot[]> {
    const configured = new Set(this.configuredRoots.map((r) => path.resolve(r)));
    const wanted = [...new Set(inputs.map((p) => this.checkedRoot(p)))].filter((r) => !configured.has(r));
    const dropped = (await this.roots.added()).filter((r) => !wanted.includes(r));
    await this.roots.setAdded(wanted, this.now());
    await this.forgetRoots(dropped);
    this.rootsChanged();
    return this.listRoots();
  }

  async removeRoot(input: string): Promise<LibraryRoot[]> {
    const root = path.resolve(input);
    if (this.configuredRoots.map((r) => path.resolve(r)).includes(root)) {
      throw new ConflictError('root_from_config', 'this root comes from LORA_PATHS; change the configuration to remove it');
    }
    const added = await this.roots.added();
    if (!added.includes(root)) throw new NotFoundError('root_not_found', 'no such library root');
    await this.roots.setAdded(added.filter((r) => r !== root), this.now());
    await this.forgetRoots([root]);
    this.rootsChanged();
    return this.listRoots();
  }

  /** Queue a scan (or hand back the one already waiting or running with the same request). */
  async startScan(request: { roots?: string[]; paths?: string[]; force?: boolean }): Promise<Job> {
    const configured = await this.roots.list();
    for (const r of [...(request.roots ?? []), ...(request.paths ?? [])]) {
      const p = path.resolve(r);
      if (!configured.some((root) => isInside(root, p))) {
        throw new BadRequestError('root_not_configured', `${r} is not a library root or a folder inside one`, `Library roots: ${configured.join(', ') || 'none'}`);
      }
    }
    const payload = { roots: request.roots?.map((r) => path.resolve(r)) ?? null, paths: request.paths?.map((p) => path.resolve(p)) ?? null, force: request.force ?? false };
    const active = await this.activeJob(JOB_KINDS.libraryScan, payload);
    return active ?? this.queue.enqueue(JOB_KINDS.libraryScan, payload);
  }

  /**
   * At start: queue one incremental scan of every readable library root (unchanged files cost a stat each), so files
   * added while the server was down are catalogued and a first start with LORA_PATHS fills the library by itself.
   * Null when there is nothing to scan. A scan already queued (another instance starting) is reused, not doubled.
   */
  async scanAtStart(): Promise<Job | null> {
    const roots = (await this.listRoots()).filter((r) => r.readable && !r.refused);
    if (roots.length === 0) return null;
    return this.startScan({});
  }

  /** What a scan would do, without doing it. */
  async dryRun(request: { roots?: string[]; force?: boolean }): Promise<ScanSummary> {
    return this.scanner.scan({ roots: request.roots, force: request.force, dryRun: true });
  }

  async startHash(request: { adapter_ids?: string[]; verify?: boolean }): Promise<Job> {
    const payload = { adapter_ids: request.adapter_ids ?? null, verify: request.verify ?? false };
    const active = await this.activeJob(JOB_KINDS.libraryHash, payload);
    return active ?? this.queue.enqueue(JOB_KINDS.libraryHash, payload);
  }

  async startCivitaiRefresh(request: { adapter_ids?: string[]; retry_not_found?: boolean }): Promise<Job> {
    if (!(await this.settings.values()).civitaiEnabled) {
      throw new ConflictError('civitai_disabled', 'CivitAI lookups are off; enable them in the library settings (they send file hashes to civitai.com)');
    }
    const payload = { adapter_ids: request.adapter_ids ?? null, retry_not_found: request.retry_not_found ?? false };
    const active = await this.activeJob(JOB_KINDS.libraryCivitai, payload);
    return active ?? this.queue.enqueue(JOB_KINDS.libraryCivitai, payload, { maxAttempts: 3 });
  }

  async status(): Promise<LibraryStatus> {
    const [roots, counts, issues, last, scans] = await Promise.all([
      this.listRoots(),
      this.adapters.libraryCounts(),
      this.library.issues(),
      this.scanner.lastSummary(),
      this.jobs.list({ kind: JOB_KINDS.libraryScan, statuses: [...ACTIVE_JOB_STATUSES], limit: 5, offset: 0 }),
    ]);
    // The running one first; else the next to run.
    const active = scans.items.find((j) => j.status === 'running') ?? scans.items.at(-1) ?? null;
    return {
      roots,
      adapters: counts.total,
      missing: counts.missing,
      issues: issues.length,
      hash: counts.hash,
      watcher: this.watcherState(),
      last_scan: last,
      active_scan: active,
    };
  }

  async issues(): Promise<LibraryIssue[]> {
    return this.library.issues();
  }

  async metadata(id: string): Promise<AdapterMetadata> {
    const adapter = await this.adapters.findById(id);
    if (!adapter) throw new NotFoundError('adapter_not_found', 'adapter not found');
    const m = await this.library.get(id);
    const json = <T>(text: string | null | undefined, fallback: T): T => {
      if (!text) return fallback;
      try {
        return JSON.parse(text) as T;
      } catch {
        return fallback;
      }
    };
    const training = json<Record<string, unknown> | null>(m?.training, null);
    return {
      adapter_id: id,
      header: { header_length: m?.header_length ?? null, data_offset: m?.data_offset ?? null, tensor_count: m?.tensor_count ?? null, module_count: m?.module_count ?? null },
      base_model_source: m?.base_model_source ?? null,
      base_family: m?.base_family ?? null,
      metadata: json(m?.metadata, null),
      training,
      tag_frequency: json(m?.tag_frequency, []),
      suggested_triggers: Array.isArray(training?.suggestedTriggers) ? (training.suggestedTriggers as string[]) : [],
      sidecars: json(m?.sidecars, null),
      civitai: json(m?.civitai, null),
      hashes: {
        sha256: adapter.sha256,
        autov1: adapter.autov1,
        autov2: adapter.autov2,
        autov3: adapter.autov3,
        data_hash: m?.data_hash ?? null,
        embedded_data_hash: m?.embedded_data_hash ?? null,
        autov3_verified: m?.autov3_verified === null || m?.autov3_verified === undefined ? null : m.autov3_verified === 1,
        hash_status: adapter.hash_status,
        hash_error: m?.hash_error ?? null,
      },
      user_fields: (await this.adapters.userFields([id])).get(id) ?? [],
      scanned_at: m?.scanned_at ?? null,
    };
  }

  async duplicates(): Promise<{ groups: Array<{ sha256: string; adapters: Adapter[] }>; total_groups: number }> {
    const groups = await this.adapters.duplicateHashes();
    const adapters = new Map((await this.adapters.findByIds(groups.flatMap((g) => g.ids))).map((a) => [a.id, a]));
    return {
      groups: groups.map((g) => ({ sha256: g.sha256, adapters: g.ids.map((id) => adapters.get(id)).filter((a): a is Adapter => !!a) })),
      total_groups: groups.length,
    };
  }

  /**
   * After a user's edit (the edit's own statement already made the fields the user's): when the user allows writing
   * into library folders, merge A1111's fields into NAME.json beside the LoRA (keys we do not own are kept).
   */
  async adapterPatched(adapter: Adapter, fields: string[]): Promise<void> {
    const owned = fields.filter((f) => f !== 'tags' && f !== 'active' && f !== 'ordinal' && f !== 'weight' && f !== 'favorite' && f !== 'rating');
    const a1111 = owned.filter((f): f is (typeof A1111_FIELDS)[number] => (A1111_FIELDS as readonly string[]).includes(f));
    if (a1111.length === 0 || adapter.missing || !(await this.settings.values()).writeSidecars) return;
    const file = adapter.json_file_path && /\.json$/i.test(adapter.json_file_path) && !/\.(metadata|cm-info)\.json$/i.test(adapter.json_file_path)
      ? adapter.json_file_path
      : adapter.file_path.replace(/\.safetensors$/i, '') + '.json';
    const has = (f: string) => a1111.includes(f as (typeof A1111_FIELDS)[number]);
    // The sidecar is read and replaced: neither may happen through a link that leads out of the roots.
    if ((await this.roots.confine(path.dirname(file))) === null || (fs.existsSync(file) && (await this.roots.confine(file)) === null)) {
      this.logger.warn({ file }, 'not writing the A1111 sidecar: it lies outside the library roots (by real path)');
      return;
    }
    try {
      mergeA1111Json(file, {
        activationText: has('activation_text') ? adapter.activation_text : undefined,
        preferredWeight: has('preferred_weight') ? adapter.preferred_weight : undefined,
        negativeText: has('negative_text') ? adapter.negative_text : undefined,
        notes: has('notes') ? adapter.notes : undefined,
        description: has('description') ? adapter.description : undefined,
        sdVersion: has('sd_version') ? adapter.sd_version : undefined,
      });
      if (adapter.json_file_path !== file) await this.adapters.updateMany([{ id: adapter.id, changes: { json_file_path: file, updated_at: this.now() } }]);
    } catch (error) {
      this.logger.warn({ err: error, file }, 'could not write the A1111 sidecar');
    }
  }

  private checkedRoot(input: string): string {
    if (!path.isAbsolute(input)) throw new BadRequestError('root_not_absolute', 'a library root must be an absolute path');
    const root = path.resolve(input);
    let st: fs.Stats;
    try {
      st = fs.statSync(root);
    } catch {
      throw new BadRequestError('root_not_found', `${root} does not exist`);
    }
    if (!st.isDirectory()) throw new BadRequestError('root_not_directory', `${root} is not a folder`);
    try {
      fs.accessSync(root, fs.constants.R_OK | fs.constants.X_OK);
    } catch {
      throw new BadRequestError('root_not_readable', `${root} cannot be read by the server`);
    }
    const refused = this.roots.refusal(root);
    if (refused) throw new AppError(422, 'library_root_forbidden', 'this folder cannot be a library root', refused);
    return root;
  }

  /** A root taken out of the library: its adapters stay (with the user's work) but are missing until it comes back. */
  private async forgetRoots(roots: readonly string[]): Promise<void> {
    if (roots.length === 0) return;
    const remaining = await this.roots.list();
    const ids = (await this.adapters.libraryIndex())
      .filter((r) => !r.missing && r.library_root !== null && roots.includes(r.library_root) && !remaining.some((root) => isInside(root, r.file_path)))
      .map((r) => r.id);
    await this.adapters.setMissing(ids, true, this.now());
  }

  private rootsChanged(): void {
    for (const listener of this.rootListeners) listener();
  }

  private async activeJob(kind: string, payload: Record<string, unknown>): Promise<Job | undefined> {
    const { items } = await this.jobs.list({ kind, statuses: ['pending', 'retrying'], limit: 20, offset: 0 });
    return items.find((j) => JSON.stringify(j.payload) === JSON.stringify(payload));
  }

  private now(): string {
    return this.clock.now().toISOString();
  }
}
