import { ignoreAdapterChanges, type AdaptersChanged } from '../../events/adapter-changes.ts';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ScanSummary } from '@lora-manager/contract';
import type { Logger } from 'pino';
import { BadRequestError } from '../../errors.ts';
import type { Clock } from '../../lib/clock.ts';
import { walkLibrary, type FoundFile } from '../../lib/library-walk.ts';
import type { AnalyseResult, LoraAnalysis } from '../../lib/lora-file.ts';
import { isInside } from '../../lib/paths.ts';
import { hasUserField, userFieldsOf } from '../../lib/user-fields.ts';
import type { LibraryIssueTable } from '../../db/tables.ts';
import type { AdapterRepository, NewAdapter } from '../repositories/adapter.repository.ts';
import type { AdapterMetadataRow, LibraryRepository, ScanState } from '../repositories/library.repository.ts';
import type { SettingRepository } from '../../repositories/setting.repository.ts';
import { InlineAnalyser, POSTED_PER_THREAD, type Analyser } from '../../workers/analyse-pool.ts';
import type { LibraryRootsService } from './library-roots.service.ts';
import { fileFacts, metadataRow, sourceFields, sourceTags, withoutUserFields, type ScanOwnedFields } from './catalogue-mapping.ts';
import { LISTED_PATHS, type ScanOptions, type ScanProgress } from './scan-types.ts';

export const LAST_SCAN_SETTING = 'library.last_scan';
/** Files sent to a reader thread per message, and results written per transaction. */
const READ_BATCH = 32;
const WRITE_BATCH = 1000;
/** Scans with at most this many files to read do it on the main thread. */
const INLINE_FILES = 2 * READ_BATCH;

export interface LibraryRepos {
  adapters: AdapterRepository;
  library: LibraryRepository;
}

/** Runs `fn` in one database transaction with repositories bound to it. */
export type LibraryTransaction = <T>(fn: (repos: LibraryRepos) => Promise<T>) => Promise<T>;

type IndexRow = Awaited<ReturnType<AdapterRepository['libraryIndex']>>[number];

/** What one scan run carries from file to file. */
interface ScanState2 {
  states: Map<string, ScanState>;
  byFingerprint: Map<string, IndexRow[]>;
  /** Paths found so far by the walk. */
  seen: Set<string>;
  /** Adapters a moved file was re-linked to. */
  claimed: Set<string>;
  /** Catalogued adapters whose file became unreadable. */
  broken: Map<string, IndexRow>;
  /** Paths that had an issue before this scan. */
  knownIssues: Map<string, LibraryIssueTable>;
  summary: ScanSummary;
  pending: PendingWrites;
  now: string;
}

/** Writes waiting for the next transaction. */
class PendingWrites {
  inserts: Array<{ adapter: NewAdapter; sourceTags: string[] }> = [];
  updates: Array<{ id: string; changes: ScanOwnedFields & { updated_at: string } }> = [];
  metadata: AdapterMetadataRow[] = [];
  tags: Array<{ id: string; tags: string[] }> = [];
  issues: LibraryIssueTable[] = [];
  resolvedIssues: string[] = [];
  restored: string[] = [];
  thumbnails: Array<{ id: string; thumbnail: NonNullable<LoraAnalysis['embeddedThumbnail']> }> = [];

  get size(): number {
    return this.inserts.length + this.updates.length + this.issues.length + this.restored.length;
  }
}

/** What a scan needs; one object, so call sites name each part. */
export interface LibraryScanOptions {
  roots: LibraryRootsService;
  adapters: AdapterRepository;
  library: LibraryRepository;
  settings: SettingRepository;
  transaction: LibraryTransaction;
  /** Makes the header reader (a pool of threads, or inline when readerThreads is 0). */
  analyser: () => Analyser;
  clock: Clock;
  logger: Logger;
  dataDir: string;
  readerThreads: number;
  /** The database's checkpoint hold for large scans (SQLite), or none. */
  holdCheckpoints?: () => () => Promise<void>;
  /** Bounds of every walk (LIBRARY_MAX_ENTRIES, LIBRARY_MAX_DEPTH). */
  limits?: { maxEntries?: number; maxDepth?: number };
  /** Told which adapters each committed batch added, changed or marked missing. */
  onAdaptersChanged?: AdaptersChanged;
}

/**
 * Fills the catalogue from the library roots and keeps it in step with the disk: new files are read (header and
 * sidecars, on reader threads) and inserted in batches, changed ones updated without touching the user's fields,
 * unchanged ones cost one stat, vanished ones are marked missing (never deleted), and a moved file is recognised
 * and re-linked so its id, history and the user's work follow it. Files that cannot be catalogued are recorded
 * with the reason and do not stop the others.
 */
export class LibraryScanService {
  private readonly roots: LibraryRootsService;
  private readonly adapters: AdapterRepository;
  private readonly library: LibraryRepository;
  private readonly settings: SettingRepository;
  private readonly transaction: LibraryTransaction;
  private readonly analyser: () => Analyser;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly dataDir: string;
  private readonly readerThreads: number;
  private readonly holdCheckpoints: () => () => Promise<void>;
  private readonly limits: { maxEntries?: number; maxDepth?: number };
  private readonly onAdaptersChanged: AdaptersChanged;

  constructor(options: LibraryScanOptions) {
    this.roots = options.roots;
    this.adapters = options.adapters;
    this.library = options.library;
    this.settings = options.settings;
    this.transaction = options.transaction;
    this.analyser = options.analyser;
    this.clock = options.clock;
    this.logger = options.logger;
    this.dataDir = options.dataDir;
    this.readerThreads = options.readerThreads;
    this.holdCheckpoints = options.holdCheckpoints ?? (() => async () => undefined);
    this.limits = options.limits ?? {};
    this.onAdaptersChanged = options.onAdaptersChanged ?? ignoreAdapterChanges;
  }

  /** Background work the last scan left running (the WAL checkpoint after a large one). */
  private background: Promise<void> = Promise.resolve();

  /** Settles when the background work of the last scan is done. */
  settled(): Promise<void> {
    return this.background;
  }

  async lastSummary(): Promise<ScanSummary | null> {
    return (await this.settings.get<ScanSummary>(LAST_SCAN_SETTING)) ?? null;
  }

  async scan(options: ScanOptions = {}): Promise<ScanSummary> {
    const started = this.clock.now();
    const dryRun = options.dryRun ?? false;
    const { roots, paths } = await this.selectRoots(options);
    const report = (p: Omit<ScanProgress, 'progress'> & { progress?: number }) => options.onProgress?.({ progress: 0, ...p });

    report({ phase: 'walking', done: 0, total: 0, message: 'looking for LoRA files', indeterminate: true });
    // Reader threads start while the folders are walked, so their start-up costs no time.
    const analyser = this.analyser();
    const writes = { release: async () => undefined as void };
    try {
      return await this.run(options, analyser, writes, { started, dryRun, roots, paths, report });
    } finally {
      await analyser.close();
      // The checkpoint of what the scan held back runs in the background; the catalogue is already committed.
      this.background = writes.release();
    }
  }

  private async run(
    options: ScanOptions,
    analyser: Analyser,
    writes: { release: () => Promise<void> },
    ctx: { started: Date; dryRun: boolean; roots: string[]; paths: string[] | undefined; report: (p: Omit<ScanProgress, 'progress'> & { progress?: number }) => void },
  ): Promise<ScanSummary> {
    const { started, dryRun, roots, paths, report } = ctx;
    const [index, states, knownIssues] = await Promise.all([this.adapters.libraryIndex(), this.library.scanStates(), this.library.issues()]);
    const byPath = new Map(index.map((r) => [r.file_path, r]));
    const issuesByPath = new Map(knownIssues.map((i) => [i.path, i]));
    const byFingerprint = new Map<string, IndexRow[]>();
    for (const row of index) {
      const fingerprint = states.get(row.id)?.fingerprint;
      if (fingerprint) byFingerprint.set(fingerprint, [...(byFingerprint.get(fingerprint) ?? []), row]);
    }
    const summary = emptySummary(dryRun, [], started);
    const now = started.toISOString();
    const seen = new Set<string>();
    const scan: ScanState2 = { states, byFingerprint, seen, claimed: new Set(), broken: new Map(), knownIssues: issuesByPath, summary, pending: new PendingWrites(), now };
    const flush = async () => {
      if (dryRun || (scan.pending.size === 0 && scan.pending.resolvedIssues.length === 0)) return;
      await this.write(scan.pending, now);
      scan.pending = new PendingWrites();
    };

    // Files are classified as the walk finds them and changed ones go to the reader threads at once, so walking,
    // reading and writing overlap. Each thread has batches queued ahead (POSTED_PER_THREAD); results are taken in order.
    const inline = new InlineAnalyser();
    const inFlight: Array<{ items: Array<{ file: FoundFile; prev: IndexRow | undefined }>; results: Promise<AnalyseResult[]> }> = [];
    const ahead = Math.max(2, this.readerThreads * POSTED_PER_THREAD);
    let batch: Array<{ file: FoundFile; prev: IndexRow | undefined }> = [];
    let queued = 0;
    let done = 0;
    // A small scan (the watcher's, a few new files) reads its files right here and never starts threads. Until the
    // walk has found more than INLINE_FILES files to read it is not known which kind this is, so the first batches
    // wait (the walk finds them in milliseconds); a large scan then sends them to the threads too.
    let held: Array<Array<{ file: FoundFile; prev: IndexRow | undefined }>> | null = [];
    const read = (items: Array<{ file: FoundFile; prev: IndexRow | undefined }>, reader: Analyser) => {
      inFlight.push({ items, results: reader.analyse(items.map(({ file }) => ({ path: file.path, sidecars: file.sidecars, wantEmbeddedThumbnail: file.preview === null }))) });
    };
    const launch = (walkDone: boolean) => {
      if (batch.length > 0) {
        if (held) held.push(batch);
        else read(batch, analyser);
        batch = [];
      }
      if (held && (walkDone || queued > INLINE_FILES)) {
        const large = queued > INLINE_FILES;
        for (const items of held) read(items, large ? analyser : inline);
        held = null;
        // A large scan writes in many transactions: the database checkpoints once, at the end, instead of after each.
        if (large && !dryRun) writes.release = this.holdCheckpoints();
      }
    };
    /** True until the walk has found every file: until then the number of files to read is not known. */
    let walking = true;
    const drain = async (keep: number) => {
      while (inFlight.length > keep) {
        options.signal?.throwIfAborted();
        const { items, results } = inFlight.shift()!;
        const analyses = await results;
        items.forEach(({ file, prev }, k) => this.take(file, prev, analyses[k], scan));
        done += items.length;
        // While the walk still finds files the total grows under the count: a percentage would jump back and forth.
        if (walking) report({ phase: 'reading', progress: 0.02, done, total: 0, message: `read ${done} new or changed files, still looking for more`, indeterminate: true });
        else report({ phase: 'reading', progress: 0.05 + 0.9 * (done / Math.max(queued, 1)), done, total: queued, message: `read ${done} of ${queued} new or changed files` });
        if (scan.pending.size >= WRITE_BATCH) await flush();
      }
    };
    const classify = async (files: readonly FoundFile[]) => {
      for (const file of files) {
        seen.add(file.path);
        const prev = byPath.get(file.path);
        // Stored times are ISO strings with milliseconds: compare whole milliseconds without formatting a date per file.
        const ms = Math.trunc(file.mtimeMs);
        if (!options.force && prev && prev.file_size === file.size && mtimeMs(prev) === ms && (states.get(prev.id)?.signature ?? null) === file.signature) {
          if (prev.missing) {
            scan.pending.restored.push(prev.id);
            summary.restored++;
          } else {
            summary.unchanged++;
          }
          continue;
        }
        const issue = issuesByPath.get(file.path);
        if (!options.force && !prev && issue && issue.file_size === file.size && Date.parse(issue.file_mtime) === ms) {
          addError(summary, { path: issue.path, code: issue.code, reason: issue.reason });
          continue;
        }
        batch.push({ file, prev });
        queued++;
        if (batch.length >= READ_BATCH) launch(false);
      }
      await drain(ahead);
    };

    const walk = await walkLibrary(roots, {
      ...this.limits,
      realRoots: await this.roots.realList(),
      allowLinksOut: this.roots.policy.allowLinksOut,
      only: paths,
      signal: options.signal,
      onFiles: classify,
      onDirectory: (dirs, files) => {
        if (queued === 0) report({ phase: 'walking', progress: 0.02, done: files, total: 0, message: `${dirs} folders, ${files} LoRA files`, indeterminate: true });
      },
    });
    walking = false;
    launch(true);
    // What waits to be written goes now, while the threads finish their last batches, so the last write is small.
    await flush();
    await drain(0);

    summary.roots = walk.walkedRoots;
    summary.roots_unavailable = walk.unavailableRoots;
    summary.walk_errors = walk.errors.slice(0, LISTED_PATHS);
    summary.roots_truncated = walk.truncatedRoots;
    for (const t of walk.truncatedRoots) this.logger.warn(t, 'library walk stopped at its bound');
    summary.files_seen = walk.files.length;
    const inScope = (file: string, root: string | null) =>
      walk.walkedRoots.some((r) => (root === null ? isInside(r, file) : r === root || isInside(r, file))) && (!paths || paths.some((p) => isInside(p, file)));
    // Catalogued files under the walked roots that were not found (and not re-linked to a moved file) are missing; so
    // are catalogued files that became unreadable.
    const vanished = new Map(index.filter((r) => !r.missing && !seen.has(r.file_path) && !scan.claimed.has(r.id) && inScope(r.file_path, r.library_root)).map((r) => [r.id, r]));
    for (const [id, row] of scan.broken) vanished.set(id, row);
    scan.pending.resolvedIssues.push(...knownIssues.filter((i) => !seen.has(i.path) && inScope(i.path, i.library_root)).map((i) => i.path));
    report({ phase: 'saving', progress: 0.96, done, total: queued, message: 'saving' });
    await flush();

    summary.missing = vanished.size;
    summary.missing_paths = [...vanished.values()].slice(0, LISTED_PATHS).map((r) => r.file_path);
    if (!dryRun && vanished.size > 0) {
      await this.adapters.setMissing([...vanished.keys()], true, now);
      await this.onAdaptersChanged([...vanished.keys()]);
    }

    const finished = this.clock.now();
    summary.finished_at = finished.toISOString();
    summary.duration_ms = finished.getTime() - started.getTime();
    if (!dryRun && !paths) await this.settings.set(LAST_SCAN_SETTING, summary, summary.finished_at);
    report({ phase: 'done', progress: 1, done, total: queued, message: describe(summary) });
    this.logger.info({ ...counts(summary), dryRun, roots: summary.roots }, 'library scan finished');
    return summary;
  }

  /** Which roots to walk: all, or those asked for; a folder inside a root narrows the scan to it. */
  private async selectRoots(options: ScanOptions): Promise<{ roots: string[]; paths: string[] | undefined }> {
    const configured = await this.roots.list();
    let paths = options.paths?.map((p) => path.resolve(p));
    if (!options.roots || options.roots.length === 0) return { roots: configured, paths };
    const roots = new Set<string>();
    for (const raw of options.roots) {
      const wanted = path.resolve(raw);
      if (configured.includes(wanted)) {
        roots.add(wanted);
        continue;
      }
      const parent = configured.find((r) => isInside(r, wanted));
      if (!parent) throw new BadRequestError('root_not_configured', `${raw} is not a library root or a folder inside one`, `Library roots: ${configured.join(', ') || 'none'}`);
      roots.add(parent);
      paths = [...(paths ?? []), wanted];
    }
    return { roots: [...roots], paths };
  }

  /** Decide what one read file becomes: an issue, an update, a re-link of a moved adapter, or a new adapter. */
  private take(file: FoundFile, prev: IndexRow | undefined, result: AnalyseResult, ctx: ScanState2): void {
    const { summary, pending, now } = ctx;
    const mtime = new Date(file.mtimeMs).toISOString();
    const issue = (code: string, reason: string) => {
      addError(summary, { path: file.path, code, reason });
      pending.issues.push({ path: file.path, library_root: file.root, file_size: file.size, file_mtime: mtime, code, reason, seen_at: now });
      // A catalogued file that went bad stays catalogued (the user's work is kept) but is flagged missing.
      if (prev && !prev.missing) ctx.broken.set(prev.id, prev);
    };
    if (!result.ok) return issue(result.code, result.reason);
    const a = result.analysis;
    if (a.kind !== 'lora') {
      return issue('not_a_lora', a.kind === 'unknown' ? 'no LoRA, LyCORIS or other network weights in this file' : `this file is a ${a.kind}, not a LoRA`);
    }
    for (const e of a.sidecars.errors) if (summary.sidecar_errors.length < LISTED_PATHS) summary.sidecar_errors.push(e);
    if (ctx.knownIssues.has(file.path)) pending.resolvedIssues.push(file.path);

    let target = prev;
    let relinkedFrom: string | null = null;
    if (!target) {
      // Same header and size as an adapter whose file is gone: that LoRA, moved. Its id, history and user fields follow.
      const gone = (c: IndexRow) =>
        !ctx.claimed.has(c.id) && c.file_size === file.size && (c.missing || (!ctx.seen.has(c.file_path) && !fs.existsSync(c.file_path)));
      const candidates = (ctx.byFingerprint.get(a.fingerprint) ?? []).filter(gone);
      const match = candidates.find((c) => c.file_mtime === mtime) ?? candidates[0];
      if (match) {
        target = match;
        relinkedFrom = match.file_path;
        ctx.claimed.add(match.id);
      }
    }

    const facts = fileFacts(file, now);
    const fromSources = sourceFields(a, file.preview);
    const id = target?.id ?? randomUUID();
    const userPreview = target ? hasUserField(target.user_field_mask, 'preview_path') : false;
    if (!file.preview && !userPreview && a.embeddedThumbnail) pending.thumbnails.push({ id, thumbnail: a.embeddedThumbnail });
    if (target) {
      const contentChanged = target.file_size !== file.size || target.file_mtime !== mtime;
      const changes: ScanOwnedFields & { updated_at: string } = {
        // Known user fields are left out here; one set after the index was read is kept by the UPDATE itself.
        ...withoutUserFields(fromSources, userFieldsOf(target.user_field_mask)),
        ...facts,
        updated_at: now,
      };
      if (userPreview) delete changes.preview_path;
      if (contentChanged) Object.assign(changes, { sha256: null, autov1: null, autov2: null, hash_status: 'pending', autov3: fromSources.autov3 ?? null });
      pending.updates.push({ id: target.id, changes });
      pending.metadata.push(metadataRow(target.id, a, file.signature, now));
      pending.tags.push({ id: target.id, tags: sourceTags(a) });
      if (relinkedFrom) {
        summary.relinked++;
        if (summary.relinked_paths.length < LISTED_PATHS) summary.relinked_paths.push({ from: relinkedFrom, to: file.path });
      } else if (target.missing) {
        summary.restored++;
      } else {
        summary.updated++;
        if (summary.updated_paths.length < LISTED_PATHS) summary.updated_paths.push(file.path);
      }
      return;
    }
    pending.inserts.push({
      adapter: {
        ...fromSources,
        ...facts,
        id,
        name: facts.name!,
        file_path: file.path,
        // The file's preferred weight is the natural first weight; afterwards the weight is the user's.
        weight: fromSources.preferred_weight ?? 1,
        hash_status: 'pending',
        created_at: now,
        updated_at: now,
      },
      sourceTags: sourceTags(a),
    });
    pending.metadata.push(metadataRow(id, a, file.signature, now));
    summary.added++;
    if (summary.added_paths.length < LISTED_PATHS) summary.added_paths.push(file.path);
  }

  private async write(pending: PendingWrites, now: string): Promise<void> {
    for (const { id, thumbnail } of pending.thumbnails) {
      const file = this.saveEmbeddedThumbnail(id, thumbnail);
      const insert = pending.inserts.find((i) => i.adapter.id === id);
      const update = pending.updates.find((u) => u.id === id);
      if (file && insert) insert.adapter.preview_path = file;
      if (file && update && update.changes.preview_path === undefined) update.changes.preview_path = file;
    }
    await this.transaction(async ({ adapters, library }) => {
      // A file catalogued since this scan read the index (POST /adapters, the watcher's scan) is not added a second
      // time, over the client's name and version; the next scan updates that adapter like any other.
      const taken = pending.inserts.length > 0 ? await adapters.cataloguedPaths(pending.inserts.map((i) => i.adapter.file_path)) : new Set<string>();
      if (taken.size > 0) {
        const dropped = new Set(pending.inserts.filter((i) => taken.has(i.adapter.file_path)).map((i) => i.adapter.id));
        pending.inserts = pending.inserts.filter((i) => !dropped.has(i.adapter.id));
        pending.metadata = pending.metadata.filter((m) => !dropped.has(m.adapter_id));
      }
      await adapters.insertMany(pending.inserts);
      await adapters.updateFromSources(pending.updates);
      await library.upsertMetadata(pending.metadata);
      await adapters.addSourceTags(pending.tags);
      if (pending.restored.length > 0) await adapters.setMissing(pending.restored, false, now);
      await library.deleteIssues(pending.resolvedIssues);
      await library.upsertIssues(pending.issues);
    });
    const changed = [...pending.inserts.map((i) => i.adapter.id), ...pending.updates.map((u) => u.id), ...pending.tags.map((t) => t.id), ...pending.restored];
    await this.onAdaptersChanged(changed);
  }

  /** A cover image embedded in the header (modelspec.thumbnail) becomes the preview when there is no preview file. */
  private saveEmbeddedThumbnail(id: string, thumbnail: NonNullable<LoraAnalysis['embeddedThumbnail']>): string | null {
    const ext = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/webp': 'webp', 'image/gif': 'gif' }[thumbnail.mime] ?? 'png';
    const dir = path.join(this.dataDir, 'previews', 'embedded');
    const file = path.join(dir, `${id}.${ext}`);
    try {
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(file, Buffer.from(thumbnail.data, 'base64'));
      return file;
    } catch (error) {
      this.logger.warn({ err: error, id }, 'could not save an embedded preview');
      return null;
    }
  }
}

const parsedMtimes = new WeakMap<object, number>();
function mtimeMs(row: IndexRow): number {
  let ms = parsedMtimes.get(row);
  if (ms === undefined) {
    ms = row.file_mtime ? Date.parse(row.file_mtime) : NaN;
    parsedMtimes.set(row, ms);
  }
  return ms;
}

function emptySummary(dryRun: boolean, roots: string[], started: Date): ScanSummary {
  return {
    dry_run: dryRun,
    roots,
    roots_unavailable: [],
    files_seen: 0,
    added: 0,
    updated: 0,
    unchanged: 0,
    missing: 0,
    restored: 0,
    relinked: 0,
    issues: 0,
    added_paths: [],
    updated_paths: [],
    missing_paths: [],
    relinked_paths: [],
    errors: [],
    sidecar_errors: [],
    walk_errors: [],
    started_at: started.toISOString(),
    finished_at: started.toISOString(),
    duration_ms: 0,
  };
}

function addError(summary: ScanSummary, error: { path: string; code: string; reason: string }): void {
  summary.issues++;
  if (summary.errors.length < LISTED_PATHS) summary.errors.push(error);
}

function counts(s: ScanSummary) {
  return { seen: s.files_seen, added: s.added, updated: s.updated, unchanged: s.unchanged, missing: s.missing, restored: s.restored, relinked: s.relinked, issues: s.issues, ms: s.duration_ms };
}

export function describe(s: ScanSummary): string {
  const verb = s.dry_run ? 'would add' : 'added';
  const truncated = s.roots_truncated?.length ? `; the walk of ${s.roots_truncated.length} root(s) stopped at LIBRARY_MAX_ENTRIES` : '';
  return `${s.files_seen} files: ${verb} ${s.added}, updated ${s.updated}, unchanged ${s.unchanged}, missing ${s.missing}, re-linked ${s.relinked}, restored ${s.restored}, not catalogued ${s.issues}${truncated}`;
}
