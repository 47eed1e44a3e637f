import { ignoreAdapterChanges, type AdaptersChanged } from '../../events/adapter-changes.ts';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Adapter, type ImportConfig, type ImportFileResult, type ImportReport } from '@lora-manager/contract';
import type { Logger } from 'pino';
import { AppError } from '../../errors.ts';
import { MANIFEST_NAME, MAX_MANIFEST_BYTES, ManifestError, parseManifest } from '../../lib/archive-manifest.ts';
import type { Clock } from '../../lib/clock.ts';
import { USER_OWNABLE_FIELDS } from '../../lib/user-fields.ts';
import { NotAZipError, ZipReader } from '../../lib/zip-reader.ts';
import { ZipRejectedError, type ZipLimits } from '../../lib/zip-safety.ts';
import type { NewAdapter } from '../../library/repositories/adapter.repository.ts';
import type { ArchiveRepository, ArchiveUnitOfWork, TagRow } from '../repositories/archive.repository.ts';
import type { ArchiveProgress, RunOptions } from './archive-export.service.ts';
import { HashingStream } from './hashing.ts';
import { ImportPlanner, importOptionsFrom, type ImportOptions, type ImportPlan, type PlannedAdapter } from './import-plan.ts';
import { hashEntry, readArchive, type ArchiveContents } from './import-reader.ts';
import type { StagingArea, StagingSession } from './staging.ts';
import { settingForImport } from './imported-settings.ts';
import { applyUserData } from './user-data.ts';
import { ImportWriteGuard } from './write-guard.ts';

/** What imports need from the backups: the pre-import backup `backup_before` asks for, and a backup's archive to restore. */
export interface BackupStore {
  createPreImport(replacedFileAdapterIds: readonly string[], source: string): Promise<{ id: string }>;
  file(id: string): Promise<{ path: string; fileName: string }>;
}

/** Restoring a backup is an import that makes the catalogue what the backup holds, overwriting what differs. */
export const RESTORE_DEFAULTS: Partial<ImportConfig> = { mode: 'replace', conflict_resolution: 'overwrite', backup_before: true };

export class ImportCancelledError extends Error {
  readonly code = 'import_cancelled';
  constructor() {
    super('The import was cancelled before it changed anything');
  }
}

/** Fields of an adapter row an archive may set (its id, tags and times are handled separately). */
const ADAPTER_FIELDS = Object.keys(Adapter.properties).filter((k) => !['id', 'tags', 'created_at', 'updated_at'].includes(k));
/** Adapter fields that hold a path on the exporting machine (file_path is placed by the planner). */
const REFERENCED_PATH_FIELDS = ['preview_path', 'json_file_path', 'primary_file_local_path'];
const ALLOWED_SETTING = /^[A-Za-z0-9_.:-]{1,200}$/;

/** What ArchiveImportService needs; one object, so call sites name each part. */
export interface ArchiveImportOptions {
  archive: ArchiveRepository;
  /** The library roots an archive's files may be placed under. */
  roots: () => Promise<string[]>;
  staging: StagingArea;
  backups: BackupStore;
  dataDir: string;
  outputDir: string;
  limits: ZipLimits;
  clock: Clock;
  logger: Logger;
  /** Called after an import brought in generation history (analytics rebuilds its roll-ups from the jobs). */
  onHistoryImported?: () => Promise<void>;
  /** Told which adapters a committed import created, changed or deleted. */
  onAdaptersChanged?: AdaptersChanged;
}

/**
 * Imports archives. Per archive: check the zip's directory (before anything is written), read and verify the
 * manifest and metadata, plan every adapter's fate, stage the files on the destination's file system, then commit
 * the database changes and a commit marker in one transaction, and only then move the staged files into place.
 * A failure at any point before the commit leaves the database and the library as they were.
 */
export class ArchiveImportService {
  private readonly planner: ImportPlanner;
  private readonly guard: ImportWriteGuard;
  private readonly rootPolicy: { dataDir: string; outputDir: string };
  /** One import at a time in this process: plans must not race each other's writes. */
  private queue: Promise<unknown> = Promise.resolve();

  private readonly archive: ArchiveRepository;
  private readonly roots: () => Promise<string[]>;
  private readonly staging: StagingArea;
  private readonly backups: BackupStore;
  private readonly dataDir: string;
  private readonly limits: ZipLimits;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly onHistoryImported: (() => Promise<void>) | null;
  private readonly onAdaptersChanged: AdaptersChanged;

  constructor(options: ArchiveImportOptions) {
    const { archive, roots, dataDir, outputDir } = options;
    this.archive = archive;
    this.roots = roots;
    this.staging = options.staging;
    this.backups = options.backups;
    this.dataDir = dataDir;
    this.limits = options.limits;
    this.clock = options.clock;
    this.logger = options.logger;
    this.onHistoryImported = options.onHistoryImported ?? null;
    this.onAdaptersChanged = options.onAdaptersChanged ?? ignoreAdapterChanges;
    this.planner = new ImportPlanner(archive, roots, dataDir, outputDir);
    this.guard = new ImportWriteGuard(dataDir, outputDir);
    this.rootPolicy = { dataDir, outputDir };
  }

  options(config: ImportConfig, defaults?: Partial<ImportConfig>): ImportOptions {
    return importOptionsFrom(config, defaults);
  }

  /** Check that every upload opens as a ZIP before any of them is imported (a non-ZIP is the client's error). */
  async assertZips(files: ReadonlyArray<{ path: string; name: string }>): Promise<void> {
    for (const file of files) {
      let reader: ZipReader | null = null;
      try {
        reader = await ZipReader.open(file.path, this.limits);
      } catch (error) {
        if (error instanceof NotAZipError) throw Object.assign(error, { file: file.name });
        if (error instanceof ZipRejectedError) continue; // a hostile archive is reported per file, with its reason
        throw error;
      } finally {
        reader?.close();
      }
    }
  }

  async importFiles(files: ReadonlyArray<{ path: string; name: string }>, options: ImportOptions, run: RunOptions = {}): Promise<ImportReport> {
    const results: ImportFileResult[] = [];
    for (const [index, file] of files.entries()) {
      const scale = (p: ArchiveProgress): ArchiveProgress => ({ ...p, message: files.length > 1 ? `${file.name} (${index + 1}/${files.length}): ${p.message}` : p.message });
      results.push(await this.importArchive(file.path, file.name, options, { ...run, onProgress: (p) => run.onProgress?.(scale(p)) }));
    }
    const ok = results.filter((r) => r.status === 'imported' || r.status === 'validated').length;
    if (this.onHistoryImported && results.some((r) => r.status === 'imported' && r.results_imported > 0)) {
      await this.onHistoryImported().catch((error: unknown) => this.logger.warn({ err: error }, 'analytics roll-ups were not rebuilt after the import'));
    }
    return { success: ok === results.length, processed_files: ok, total_files: results.length, results };
  }

  /** Restore a backup (same checks and guarantees as any import). */
  async restoreBackup(id: string, config: ImportConfig, run: RunOptions = {}): Promise<ImportReport> {
    const file = await this.restorableBackup(id);
    return this.importFiles([{ path: file.path, name: file.fileName }], this.options(config, RESTORE_DEFAULTS), run);
  }

  /**
   * The archive of a backup that can be restored. A backup file that is there but hostile or damaged (unsafe or
   * linked entries, a bomb, no or a bad manifest) is a 422 with the reason's own code, as an upload would be
   * reported; only a file that is really gone is backup_file_missing.
   */
  async restorableBackup(id: string): Promise<{ path: string; fileName: string }> {
    const file = await this.backups.file(id);
    let reader: ZipReader | null = null;
    try {
      reader = await ZipReader.open(file.path, this.limits);
      if (!reader.has(MANIFEST_NAME)) throw new ManifestError('manifest_missing', 'Archive missing manifest.json');
      parseManifest(await reader.buffer(MANIFEST_NAME, MAX_MANIFEST_BYTES));
    } catch (error) {
      if (error instanceof ZipRejectedError || error instanceof NotAZipError || error instanceof ManifestError) {
        throw new AppError(422, error.code, 'The backup cannot be restored', `${file.fileName}: ${error.message}`);
      }
      throw error;
    } finally {
      reader?.close();
    }
    return file;
  }

  /** Import one archive; never throws for a bad archive, it answers with a result that says why. */
  async importArchive(file: string, name: string, options: ImportOptions, run: RunOptions = {}): Promise<ImportFileResult> {
    const result = emptyResult(name);
    const work = this.queue.then(() => this.importLocked(file, result, options, run));
    this.queue = work.catch(() => undefined);
    return work;
  }

  private async importLocked(file: string, result: ImportFileResult, options: ImportOptions, run: RunOptions): Promise<ImportFileResult> {
    let reader: ZipReader | null = null;
    let session: StagingSession | null = null;
    const progress = new Progress(run.onProgress);
    try {
      progress.phase('checking the archive', 0, 0, 0.05);
      reader = await ZipReader.open(file, this.limits);
      const contents = await readArchive(reader, (n) => progress.add(n));
      result.format_version = contents.formatVersion;
      result.warnings.push(...contents.warnings);
      checkCancelled(run.signal);

      progress.phase('comparing with the library', 0, 0.05, 0.1);
      const plan = await this.planner.plan(contents, options, (n) => progress.add(n));
      await this.guard.assertWritable(plan.writes, await this.roots());
      await this.confineReferencedPaths(plan, await this.roots());
      result.warnings.push(...plan.warnings);
      result.conflicts = plan.adapters.flatMap((p) => p.conflicts);
      checkCancelled(run.signal);

      if (options.mode === 'dry-run') return await this.dryRun(reader, contents, plan, options, result, progress, run.signal);
      if (plan.unresolved.length > 0) {
        result.status = 'conflict';
        result.code = 'import_conflicts';
        result.detail = `${plan.unresolved.length} conflict(s) need a decision (conflict_resolution skip, overwrite or rename, or per-adapter decisions); nothing was imported`;
        result.adapters = plan.adapters.map((p) => adapterResult(p, p.unresolved ? 'conflict' : 'validated'));
        return result;
      }
      const changes = plan.adapters.some((p) => p.action !== 'skip' && (p.action !== 'unchanged' || p.files.some((f) => f.mode !== 'reuse')));
      if (options.backupBefore && (changes || plan.deleteIds.length > 0 || plan.settings)) {
        progress.phase('backing up', 0, 0.1, 0.15);
        result.backup_id = (await this.backups.createPreImport(plan.replacedFileAdapterIds, result.file)).id;
      }
      checkCancelled(run.signal);

      const importId = randomUUID();
      const writes = plan.writes;
      session = await this.staging.begin(importId, writes.map((w) => ({ to: w.target, mtime: w.mtime })));
      progress.phase('extracting', writes.reduce((n, w) => n + w.size, 0), 0.15, 0.95);
      for (const write of writes) {
        checkCancelled(run.signal);
        await this.stage(reader, write.entry, write.sha256, session.stagedPath(write.target), progress, run.signal);
      }
      checkCancelled(run.signal);
      // Again just before the commit: a folder on the way may have been swapped for a link while we extracted.
      await this.guard.assertWritable(writes, await this.roots());

      progress.phase('committing', 0, 0.95, 0.99);
      await this.archive.transaction((uow) => this.commit(uow, importId, plan, result, options));
      await this.onAdaptersChanged([...plan.deleteIds, ...plan.adapters.filter((p) => p.action !== 'skip').map((p) => p.id)]);
      const staged = session;
      session = null; // committed: from here on the files belong in the library, whatever happens
      const { failed } = await staged.finish();
      if (failed.length > 0) result.warnings.push(`${failed.length} file(s) could not be moved into place yet; they will be on the next start`);
      result.files_written = writes.length;
      result.bytes_written = writes.reduce((n, w) => n + w.size, 0);
      result.status = 'imported';
      progress.done();
      return result;
    } catch (error) {
      return this.failed(result, error);
    } finally {
      reader?.close();
      if (session) await session.discard().catch((error: unknown) => this.logger.error({ err: error }, 'could not remove staged files'));
    }
  }

  /**
   * Paths an adapter row names without the archive carrying the file are the exporting machine's: keep one only when
   * it is safe to point at here (see ImportWriteGuard.mayReference), otherwise store null. Paths of files the archive
   * carries are rewritten to where they are written and need no check.
   */
  private async confineReferencedPaths(plan: ImportPlan, roots: readonly string[]): Promise<void> {
    for (const p of plan.adapters) {
      const doc = p.source.doc as Record<string, unknown>;
      const carried = new Set(p.files.map((f) => f.file.manifest.original_path));
      for (const key of REFERENCED_PATH_FIELDS) {
        const value = doc[key];
        if (typeof value !== 'string' || carried.has(value)) continue;
        if (!(await this.guard.mayReference(value, roots))) doc[key] = null;
      }
      if (typeof doc.library_root === 'string' && !roots.includes(doc.library_root)) doc.library_root = null;
    }
  }

  private async dryRun(
    reader: ZipReader,
    contents: ArchiveContents,
    plan: ImportPlan,
    options: ImportOptions,
    result: ImportFileResult,
    progress: Progress,
    signal?: AbortSignal,
  ): Promise<ImportFileResult> {
    if (options.validate && contents.formatVersion >= 1) {
      const files = contents.adapters.flatMap((a) => a.files);
      progress.phase('verifying checksums', files.reduce((n, f) => n + f.size, 0), 0.1, 0.99);
      for (const f of files) {
        if ((await hashEntry(reader, f.entry, (n) => progress.add(n), signal)) !== f.sha256) {
          throw new ManifestError('checksum_mismatch', `Checksum mismatch for ${f.entry}`);
        }
      }
    }
    result.status = plan.unresolved.length > 0 ? 'conflict' : 'validated';
    if (plan.unresolved.length > 0) {
      result.code = 'import_conflicts';
      result.detail = `${plan.unresolved.length} conflict(s) would need a decision`;
    }
    result.adapters = plan.adapters.map((p) => adapterResult(p, p.unresolved ? 'conflict' : 'validated'));
    result.files_written = plan.writes.length;
    result.bytes_written = plan.writes.reduce((n, w) => n + w.size, 0);
    result.deleted = plan.deleteIds.length;
    result.results_imported = plan.results.filter((r) => r.action === 'create').length;
    progress.done();
    return result;
  }

  /** Stream one entry into staging, hashing it; a checksum or size mismatch fails the whole import. */
  private async stage(reader: ZipReader, entry: string, expected: string, target: string, progress: Progress, signal?: AbortSignal): Promise<void> {
    const hashing = new HashingStream((n) => progress.add(n));
    // flush: the bytes are on disk before the commit that makes the database point at them.
    await pipeline(await reader.stream(entry), hashing, fs.createWriteStream(target, { flags: 'wx', flush: true }), signal ? { signal } : {});
    if (hashing.digest() !== expected) throw new ManifestError('checksum_mismatch', `Checksum mismatch for ${entry}`);
  }

  private async commit(uow: ArchiveUnitOfWork, importId: string, plan: ImportPlan, result: ImportFileResult, options: ImportOptions): Promise<void> {
    const now = this.clock.now().toISOString();
    if (plan.deleteIds.length > 0) result.deleted = (await uow.adapters.deleteByIds(plan.deleteIds)).length;
    for (const p of plan.adapters) {
      const status = await this.applyAdapter(uow, p, now);
      result.adapters.push(adapterResult(p, status));
      if (status === 'created') result.created += 1;
      else if (status === 'updated') result.updated += 1;
      else if (status === 'renamed') result.renamed += 1;
      else if (status === 'skipped') result.skipped += 1;
      else if (status === 'unchanged') result.unchanged += 1;
    }
    await this.applyResults(uow, plan, result);
    if (plan.settings) await this.applySettings(uow, plan.settings, plan.overwriteSettings, now, result);
    if (plan.userData) {
      const importedIds = new Map(plan.adapters.filter((p) => !p.unresolved).map((p) => [p.source.manifest.id, p.id]));
      const { kept } = await applyUserData(uow, plan.userData, importedIds, options.overwriteUserData, now);
      if (kept > 0) result.warnings.push(`${kept} rating(s), favourite(s) or note(s) set here differ from the archive's and were kept (overwrite_user_data replaces them)`);
    }
    // After the adapters, so recipe LoRAs pointing at adapters this import brings stay matched.
    if (plan.recipes) await uow.archive.insertMissingRecipes(plan.recipes, plan.recipePreviews);
    await uow.archive.insertImport({
      id: importId,
      source: result.file,
      mode: options.mode,
      status: 'committed',
      summary: JSON.stringify({
        created: result.created,
        updated: result.updated,
        renamed: result.renamed,
        skipped: result.skipped,
        deleted: result.deleted,
        results: result.results_imported,
      }),
      created_at: now,
      committed_at: now,
    });
  }

  private async applyAdapter(uow: ArchiveUnitOfWork, p: PlannedAdapter, now: string): Promise<'created' | 'updated' | 'renamed' | 'skipped' | 'unchanged'> {
    if (p.action === 'skip') return 'skipped';
    const { fields, tagRows } = adapterRow(p, now);
    const visible = tagRows.filter((t) => t.origin !== 'removed').sort((a, b) => a.position - b.position).map((t) => t.tag);
    if (p.action === 'unchanged') {
      // The row is as the archive has it; only missing files were brought back (and the path may have moved).
      if (p.files.some((f) => f.mode !== 'reuse')) {
        await uow.adapters.update(p.id, { file_path: fields.file_path, library_root: fields.library_root, relative_path: fields.relative_path, missing: false });
        return 'updated';
      }
      return 'unchanged';
    }
    if (p.action === 'overwrite') {
      await uow.adapters.update(p.id, fields as Parameters<typeof uow.adapters.update>[1], visible, claimedOnImport(fields));
      await uow.archive.replaceTagRows(p.id, tagRows);
      return 'updated';
    }
    await uow.adapters.insert({ ...fields, id: p.id } as NewAdapter, visible, claimedOnImport(fields));
    await uow.archive.replaceTagRows(p.id, tagRows);
    return p.action === 'rename' ? 'renamed' : 'created';
  }

  /** New results with their rows as exported; the LoRAs they used point at those adapters' ids here (or nothing). */
  private async applyResults(uow: ArchiveUnitOfWork, plan: ImportPlan, result: ImportFileResult): Promise<void> {
    const created = plan.results.filter((r) => r.action === 'create');
    if (created.length === 0) return;
    const idMap = new Map(plan.adapters.filter((p) => !p.unresolved).map((p) => [p.source.manifest.id, p.id]));
    const used = created.flatMap((r) => r.source.doc.adapters.map((a) => a.adapter_id)).filter((id): id is string => typeof id === 'string');
    const known = await uow.archive.existingAdapterIds(used.map((id) => idMap.get(id) ?? id));
    for (const r of created) {
      const { delivery, job, images } = r.source.doc;
      const adapters = r.source.doc.adapters.map((a) => {
        const mapped = typeof a.adapter_id === 'string' ? (idMap.get(a.adapter_id) ?? a.adapter_id) : null;
        return { ...a, adapter_id: mapped && known.has(mapped) ? mapped : null };
      });
      await uow.archive.insertResult({ delivery, job, images, adapters });
      result.results_imported += 1;
    }
  }

  /** Settings not set here are added; one set here gives way to the archive's only when `overwrite`. */
  private async applySettings(uow: ArchiveUnitOfWork, settings: NonNullable<ImportPlan['settings']>, overwrite: boolean, now: string, result: ImportFileResult): Promise<void> {
    const current = new Map((await uow.archive.allSettings()).map((row) => [row.key, row.value]));
    let kept = 0;
    for (const s of settings) {
      if (!ALLOWED_SETTING.test(s.key)) continue;
      const stored = current.get(s.key);
      if (stored !== undefined && !overwrite) {
        if (stored !== JSON.stringify(s.value)) kept += 1;
        continue;
      }
      const { value, warning } = settingForImport(s.key, s.value, stored === undefined ? undefined : parseStored(stored), this.rootPolicy);
      if (warning) result.warnings.push(warning);
      if (value === undefined) continue;
      await uow.archive.putSetting({ key: s.key, value: JSON.stringify(value), updated_at: s.updated_at ?? now });
    }
    if (kept > 0) result.warnings.push(`${kept} setting(s) set here differ from the archive's and were kept (import_settings replaces them)`);
  }

  private failed(result: ImportFileResult, error: unknown): ImportFileResult {
    result.status = 'error';
    result.adapters = [];
    result.created = result.updated = result.renamed = result.skipped = result.unchanged = result.deleted = 0;
    result.files_written = result.bytes_written = 0;
    if (error instanceof ManifestError || error instanceof ZipRejectedError || error instanceof NotAZipError || error instanceof ImportCancelledError) {
      result.code = error.code;
      result.detail = error.message;
    } else if (isAbort(error)) {
      result.code = 'import_cancelled';
      result.detail = 'The import was cancelled before it changed anything';
    } else if (error instanceof Error && /unexpected number of bytes|too many bytes|invalid (stored|compressed) block|unexpected end|incorrect header/i.test(error.message)) {
      result.code = 'archive_corrupt';
      result.detail = `The archive is damaged: ${error.message}`;
    } else if (error instanceof Error && 'status' in error && 'code' in error) {
      result.code = String((error as { code: unknown }).code);
      result.detail = error.message;
    } else {
      this.logger.error({ err: error, file: result.file }, 'import failed');
      result.code = 'import_failed';
      result.detail = `The import failed and nothing was changed: ${(error as Error)?.message ?? String(error)}`;
    }
    return result;
  }
}

/** Facts about where the files are now, which the import itself derives: a scan keeps refreshing them. */
const FILE_FACTS = new Set(['primary_file_name', 'primary_file_size_kb', 'primary_file_local_path', 'json_file_path', 'json_file_mtime', 'json_file_size', 'last_ingested_at']);

/**
 * The fields an import makes the user's. An archive does not say which fields its catalogue's user had set, so every
 * field that holds a value counts as set (a later scan must not rename an imported LoRA to its file's stem or drop
 * its notes for a sidecar's); the name only when it is not the file's stem, which a scan would give it anyway.
 */
function claimedOnImport(fields: Record<string, unknown>): string[] {
  const stem = typeof fields.file_path === 'string' ? path.basename(fields.file_path).replace(/\.safetensors$/i, '') : null;
  return USER_OWNABLE_FIELDS.filter((f) => {
    const value = fields[f];
    if (FILE_FACTS.has(f) || value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0)) return false;
    if (f === 'name') return value !== stem;
    if (f === 'visibility') return value !== 'Public';
    return !((f === 'nsfw_level' || f === 'supports_generation') && !value);
  });
}

/** The adapter row an import writes: the archive's fields with paths rewritten to where the files now are. */
function adapterRow(p: PlannedAdapter, now: string): { fields: Omit<NewAdapter, 'id'>; tagRows: TagRow[] } {
  const doc = p.source.doc as Record<string, unknown>;
  const fields: Record<string, unknown> = {};
  for (const key of ADAPTER_FIELDS) if (doc[key] !== undefined) fields[key] = doc[key];
  fields.name = p.name;
  fields.version = p.version;
  const byOriginal = new Map(p.files.map((f) => [f.file.manifest.original_path, f]));
  const remap = (value: unknown): unknown => (typeof value === 'string' ? (byOriginal.get(value)?.target ?? value) : value);

  const primary = p.files.find((f) => f.file.manifest.kind === 'primary') ?? p.files.find((f) => f.file.manifest.kind === 'primary_local');
  if (primary) {
    fields.file_path = primary.target;
    fields.library_root = primary.rootKind === 'library' ? primary.root : (doc.library_root ?? null);
    fields.relative_path = primary.relativePath.split('/').join(path.sep);
    fields.missing = false;
    // As the original did (and acceptance case 29 expects): the local path of the primary file is where it now is.
    const local = p.files.find((f) => f.file.manifest.kind === 'primary_local');
    fields.primary_file_local_path =
      local?.target ?? (!doc.primary_file_local_path || doc.primary_file_local_path === doc.file_path ? primary.target : remap(doc.primary_file_local_path));
    if (p.source.formatVersion === 0) {
      // The original's importer derived these from the file; its archives may lack them.
      fields.primary_file_name ??= path.basename(primary.target);
      fields.primary_file_size_kb ??= Math.max(1, Math.ceil(primary.file.size / 1024));
    }
  } else if (p.location) {
    Object.assign(fields, p.location);
    fields.primary_file_local_path = remap(doc.primary_file_local_path ?? null);
  }
  fields.json_file_path = remap(doc.json_file_path ?? null);
  fields.preview_path = remap(doc.preview_path ?? null);
  if (p.action === 'rename') fields.primary_file_name = path.basename(String(fields.file_path));

  const created = typeof doc.created_at === 'string' ? doc.created_at : now;
  const updated = p.action === 'rename' || typeof doc.updated_at !== 'string' ? now : doc.updated_at;
  const rows = p.source.doc.tag_rows ?? (p.source.doc.tags ?? []).map((tag, position) => ({ tag, origin: 'user' as const, position }));
  return {
    fields: { ...(fields as Omit<NewAdapter, 'id' | 'created_at' | 'updated_at'>), created_at: created, updated_at: updated },
    tagRows: rows.map((r) => ({ tag: r.tag, origin: r.origin, position: r.position })),
  };
}

function adapterResult(p: PlannedAdapter, status: ImportFileResult['adapters'][number]['status']): ImportFileResult['adapters'][number] {
  return { id: p.id, archive_id: p.source.manifest.id, name: p.name, version: p.version, status };
}

export function emptyResult(file: string): ImportFileResult {
  return {
    file,
    status: 'error',
    created: 0,
    updated: 0,
    renamed: 0,
    skipped: 0,
    unchanged: 0,
    deleted: 0,
    results_imported: 0,
    files_written: 0,
    bytes_written: 0,
    adapters: [],
    conflicts: [],
    warnings: [],
    backup_id: null,
    format_version: null,
  };
}

function checkCancelled(signal?: AbortSignal): void {
  if (signal?.aborted) throw new ImportCancelledError();
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || (error as NodeJS.ErrnoException).code === 'ABORT_ERR');
}

/** Progress in bytes within named phases, reported at most every 200 ms. */
class Progress {
  private bytes = 0;
  private total = 0;
  private message = '';
  private last = 0;
  private range: [number, number] = [0, 1];

  constructor(private readonly sink?: (p: ArchiveProgress) => void) {}

  /** A new phase covering `from`–`to` of the whole run; `total` bytes when known. */
  phase(message: string, total = 0, from = 0, to = 1): void {
    this.message = message;
    this.bytes = 0;
    this.total = total;
    this.range = [from, to];
    this.emit(true);
  }

  add(n: number): void {
    this.bytes += n;
    this.emit(false);
  }

  done(): void {
    this.message = 'done';
    this.bytes = this.total;
    this.range = [1, 1];
    this.emit(true);
  }

  private emit(force: boolean): void {
    if (!this.sink) return;
    const now = Date.now();
    if (!force && now - this.last < 200) return;
    this.last = now;
    const [from, to] = this.range;
    const within = this.total > 0 ? Math.min(1, this.bytes / this.total) : 0;
    this.sink({ bytes: this.bytes, totalBytes: this.total, message: this.message, fraction: from + (to - from) * within });
  }
}

/** Where a multipart upload is kept until its import finishes. */
export function uploadPath(dataDir: string): string {
  return path.join(dataDir, 'uploads', `${randomUUID()}.upload`);
}

function parseStored(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
