import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ConflictDecision, ConflictResolution, ImportConfig, ImportConflict, ImportFieldDifference } from '@lora-manager/contract';
import { BadRequestError } from '../../errors.ts';
import { ManifestError, safeSegment } from '../../lib/archive-manifest.ts';
import { isTerminalStatus } from '../../lib/job-statuses.ts';
import { RECIPE_PREVIEW_DIR, recipePreviewContentType } from '../../lib/recipes/preview-file.ts';
import type { ArchiveRepository, ExistingAdapterKey } from '../repositories/archive.repository.ts';
import { HashingStream } from './hashing.ts';
import { adapterDifferences } from './import-diff.ts';
import type { UserDataDocument } from './user-data.ts';
import type { ArchiveAdapter, ArchiveContents, ArchiveFile, ArchiveResult, RecipesDocument, SettingsDocument } from './import-reader.ts';
import { PREVIEW_EXTENSIONS } from '../../lib/sidecars.ts';
import { FileConfinement, modelStem, toPosix } from './library-files.ts';
import type { WriteZone } from './write-guard.ts';

export interface ImportOptions {
  mode: 'merge' | 'replace' | 'dry-run';
  conflict: ConflictResolution;
  validate: boolean;
  backupBefore: boolean;
  targetRoot: string | null;
  decisions: Record<string, ConflictDecision>;
  /** Replace settings set here with the archive's (settings not set here are always added). */
  importSettings: boolean;
  /** Replace ratings, favourites and notes set here with the archive's (unset ones are always filled). */
  overwriteUserData: boolean;
}

export function importOptionsFrom(config: ImportConfig, defaults: Partial<ImportConfig> = {}): ImportOptions {
  const merged = { ...defaults, ...stripUndefined(config) };
  const rawMode = merged.mode ?? 'merge';
  const mode = rawMode === 'merge' || rawMode === 'replace' ? rawMode : 'dry-run';
  return {
    mode,
    conflict: merged.conflict_resolution ?? (mode === 'replace' ? 'overwrite' : 'ask'),
    validate: merged.validate ?? true,
    backupBefore: merged.backup_before ?? true,
    targetRoot: merged.target_root ?? null,
    decisions: merged.decisions ?? {},
    importSettings: merged.import_settings ?? mode === 'replace',
    overwriteUserData: merged.overwrite_user_data ?? mode === 'replace',
  };
}

export type PlannedAction = 'create' | 'overwrite' | 'rename' | 'skip' | 'unchanged';

export interface PlannedFile {
  file: ArchiveFile;
  target: string;
  rootKind: 'library' | 'data';
  root: string;
  relativePath: string;
  /** write: nothing there; replace: a different file is there; reuse: the same bytes are already there. */
  mode: 'write' | 'replace' | 'reuse';
}

/** Where the adapter's LoRA file is when the archive does not carry it (metadata-only archives). */
export interface Location {
  file_path: string;
  library_root: string | null;
  relative_path: string | null;
  missing: boolean;
}

export interface PlannedAdapter {
  source: ArchiveAdapter;
  action: PlannedAction;
  /** The adapter's id in this catalogue after the import. */
  id: string;
  name: string;
  version: string | null;
  files: PlannedFile[];
  location: Location | null;
  conflicts: ImportConflict[];
  unresolved: boolean;
}

/** One file to extract, stage and move into place. */
export interface StagedWrite {
  target: string;
  entry: string;
  sha256: string;
  size: number;
  /** Modification time to restore (ISO), or null. */
  mtime: string | null;
  /** Which kind of place the file belongs in: checked again by real path before anything is written. */
  zone: WriteZone;
}

export interface PlannedResult {
  source: ArchiveResult;
  /** A result with this id already here is history already kept: only its missing images come back. */
  action: 'create' | 'unchanged';
  writes: StagedWrite[];
}

export interface ImportPlan {
  adapters: PlannedAdapter[];
  results: PlannedResult[];
  deleteIds: string[];
  importRoot: string | null;
  unresolved: ImportConflict[];
  /** Files to stage and move (new or replacing), one per target. */
  writes: StagedWrite[];
  /** Adapters whose LoRA files the import replaces: a pre-import backup keeps their files. */
  replacedFileAdapterIds: string[];
  settings: SettingsDocument | null;
  /** Recipes the archive carries; those whose id exists here are kept as they are. */
  recipes: RecipesDocument | null;
  /** Previews of the new recipes that will be in DATA_DIR/recipes after the import, by recipe id. */
  recipePreviews: Map<string, { file: string; contentType: string | null }>;
  /** Settings set here give way to the archive's only when asked (import_settings). */
  overwriteSettings: boolean;
  userData: UserDataDocument | null;
  warnings: string[];
}

type FileState = 'absent' | 'same' | 'differs';

/** Decides, for each adapter of an archive, what happens to its row and its files. Reads only. */
export class ImportPlanner {
  constructor(
    private readonly archive: ArchiveRepository,
    private readonly roots: () => Promise<string[]>,
    private readonly dataDir: string,
    private readonly outputDir: string,
  ) {}

  async plan(contents: ArchiveContents, options: ImportOptions, onBytes?: (n: number) => void): Promise<ImportPlan> {
    const roots = await this.roots();
    const confinement = new FileConfinement(roots, this.dataDir);
    const importRoot = this.importRoot(roots, options.targetRoot);
    const existing = await this.archive.findExisting(
      contents.adapters.map((a) => a.manifest.id),
      contents.adapters.map((a) => a.doc.name),
    );
    const byId = new Map(existing.map((e) => [e.id, e]));
    const current = new Map((await this.archive.adaptersByIds(existing.map((e) => e.id))).map((a) => [a.id, a]));
    const differences = (other: ExistingAdapterKey, doc: ArchiveAdapter['doc']) => {
      const row = current.get(other.id);
      return row ? adapterDifferences(doc, row) : [];
    };
    const byNameVersion = new Map(existing.map((e) => [nameVersionKey(e.name, e.version), e]));
    const claimedTargets = new Map<string, string>();
    const claimedNames = new Set<string>();
    const planned: PlannedAdapter[] = [];
    const warnings: string[] = [];

    for (const source of contents.adapters) {
      const archiveId = source.manifest.id;
      const version = source.doc.version ?? null;
      let files = await this.targets(source, importRoot, confinement);
      const states = await Promise.all(files.map((f) => this.state(f, claimedTargets, onBytes)));
      const idMatch = byId.get(archiveId);
      const nvMatch = byNameVersion.get(nameVersionKey(source.doc.name, version));
      // The same adapter unless a field a person could change differs: hashes computed since, updated_at and other
      // derived fields are not conflicts.
      const idDifferences = idMatch ? differences(idMatch, source.doc) : [];
      const sameRow = idMatch !== undefined && idMatch.name === source.doc.name && idMatch.version === version && idDifferences.length === 0;

      const conflicts: ImportConflict[] = [];
      const conflict = (reason: ImportConflict['reason'], other: ExistingAdapterKey | null, at: string | null, fields?: ImportFieldDifference[]) =>
        conflicts.push({ archive_id: archiveId, name: source.doc.name, version, reason, existing_id: other?.id ?? null, path: at, ...(fields ? { differences: fields } : {}) });
      if (idMatch && !sameRow) conflict('same_id', idMatch, null, idDifferences);
      if (nvMatch && nvMatch.id !== idMatch?.id) conflict('same_name_version', nvMatch, null, differences(nvMatch, source.doc));
      files.forEach((f, i) => states[i] === 'differs' && conflict('file_differs', null, f.target));

      let action: PlannedAction = sameRow ? 'unchanged' : 'create';
      let id = archiveId;
      let name = source.doc.name;
      let unresolved = false;
      if (conflicts.length > 0) {
        const decision: ConflictResolution = (options.decisions[archiveId] as ConflictDecision | undefined) ?? options.conflict;
        const match = idMatch ?? nvMatch ?? null;
        if (decision === 'ask') {
          unresolved = true;
        } else if (decision === 'skip') {
          action = 'skip';
          id = match?.id ?? archiveId;
          files = [];
        } else if (decision === 'overwrite') {
          action = match ? 'overwrite' : 'create';
          id = match?.id ?? archiveId;
        } else {
          action = 'rename';
          id = idMatch ? randomUUID() : archiveId;
          name = await this.uniqueName(source.doc.name, version, claimedNames);
          if (states.some((s) => s === 'differs')) files = await this.renamedTargets(files, claimedTargets);
        }
      }
      claimedNames.add(nameVersionKey(name, version));

      const finalFiles: PlannedFile[] = [];
      for (const [i, f] of files.entries()) {
        const state = action === 'rename' ? await this.state(f, claimedTargets) : states[i];
        if (state === 'differs' && action !== 'overwrite' && action !== 'create') {
          if (!unresolved) warnings.push(`${f.target} exists with other content and was left as it is`);
          continue;
        }
        finalFiles.push({ ...f, mode: state === 'absent' ? 'write' : state === 'same' ? 'reuse' : 'replace' });
        if (!unresolved && action !== 'skip') claimedTargets.set(f.target, f.file.sha256);
      }
      const location = finalFiles.some((f) => f.file.manifest.kind === 'primary' || f.file.manifest.kind === 'primary_local')
        ? null
        : await this.locate(source, roots, importRoot, confinement);
      planned.push({ source, action, id, name, version, files: finalFiles, location, conflicts, unresolved });
    }

    const unresolved = planned.filter((p) => p.unresolved).flatMap((p) => p.conflicts);
    let deleteIds: string[] = [];
    if (options.mode === 'replace') {
      const keep = new Set(planned.map((p) => p.id));
      deleteIds = (await this.archive.allAdapterIds()).filter((id) => !keep.has(id));
    }
    const results = await this.planResults(contents.results, warnings, onBytes);
    const writes = new Map<string, StagedWrite>();
    for (const p of planned) {
      if (p.unresolved || p.action === 'skip') continue;
      for (const f of p.files) {
        if (f.mode === 'reuse' || writes.has(f.target)) continue;
        const zone = f.rootKind === 'data' ? 'data' : 'library';
        writes.set(f.target, { target: f.target, entry: f.file.entry, sha256: f.file.sha256, size: f.file.size, mtime: f.file.manifest.mtime ?? null, zone });
      }
    }
    for (const r of results) for (const w of r.writes) if (!writes.has(w.target)) writes.set(w.target, w);
    const recipePreviews = await this.planRecipePreviews(contents, warnings, onBytes);
    for (const w of recipePreviews.writes) if (!writes.has(w.target)) writes.set(w.target, w);
    const replacedFileAdapterIds = planned.filter((p) => p.action === 'overwrite' && p.files.some((f) => f.mode === 'replace')).map((p) => p.id);
    return {
      adapters: planned,
      results,
      deleteIds,
      importRoot,
      unresolved,
      writes: [...writes.values()],
      replacedFileAdapterIds,
      settings: contents.settings,
      overwriteSettings: options.importSettings,
      userData: contents.userData,
      recipes: contents.recipes,
      recipePreviews: recipePreviews.attach,
      warnings,
    };
  }

  /** Results are history: new ones are added with their images under OUTPUT_DIR; known ones only get missing images back. */
  private async planResults(results: readonly ArchiveResult[], warnings: string[], onBytes?: (n: number) => void): Promise<PlannedResult[]> {
    const existing = await this.archive.existingResultIds(results.map((r) => r.manifest.id));
    const out: PlannedResult[] = [];
    for (const source of results) {
      if (!isTerminalStatus(source.doc.job.status)) {
        warnings.push(`result ${source.manifest.id} was ${source.doc.job.status} when exported and was left out`);
        continue;
      }
      const action = existing.has(source.manifest.id) ? 'unchanged' : 'create';
      const writes: StagedWrite[] = [];
      for (const file of source.files) {
        const target = FileConfinement.resolveUnder(this.outputDir, file.relativePath);
        if (!target) throw new ManifestError('zip_entry_unsafe', `Unsafe archive path detected: ${file.relativePath}`);
        const stat = await fs.stat(target).catch(() => null);
        if (stat) {
          const same = stat.isFile() && stat.size === file.size && (await hashFile(target, onBytes)) === file.sha256;
          if (!same) warnings.push(`${target} exists with other content and was left as it is`);
          continue;
        }
        writes.push({ target, entry: file.entry, sha256: file.sha256, size: file.size, mtime: file.mtime, zone: 'output' });
      }
      out.push({ source, action, writes });
    }
    return out;
  }

  /**
   * The previews of the recipes this import adds (a recipe already here keeps its own), written to DATA_DIR/recipes.
   * A file already there with the same bytes is used as it is; one with other bytes is never overwritten, and that
   * recipe comes without its preview.
   */
  private async planRecipePreviews(
    contents: ArchiveContents,
    warnings: string[],
    onBytes?: (n: number) => void,
  ): Promise<{ attach: ImportPlan['recipePreviews']; writes: StagedWrite[] }> {
    const attach: ImportPlan['recipePreviews'] = new Map();
    const writes: StagedWrite[] = [];
    if (!contents.recipes || contents.recipePreviews.length === 0) return { attach, writes };
    const carried = new Set(contents.recipes.map((r) => r.recipe.id));
    const existing = await this.archive.existingRecipeIds([...carried]);
    for (const preview of contents.recipePreviews) {
      if (!carried.has(preview.recipeId) || existing.has(preview.recipeId)) continue;
      const target = path.join(this.dataDir, RECIPE_PREVIEW_DIR, preview.file);
      const stat = await fs.lstat(target).catch(() => null);
      if (stat) {
        const same = stat.isFile() && stat.size === preview.size && (await hashFile(target, onBytes)) === preview.sha256;
        if (!same) {
          warnings.push(`${target} exists with other content and was left as it is; recipe ${preview.recipeId} comes without its preview`);
          continue;
        }
      } else {
        writes.push({ target, entry: preview.entry, sha256: preview.sha256, size: preview.size, mtime: null, zone: 'recipes' });
      }
      attach.set(preview.recipeId, { file: preview.file, contentType: recipePreviewContentType(preview.file) });
    }
    return { attach, writes };
  }

  private importRoot(roots: string[], requested: string | null): string | null {
    if (requested) {
      const wanted = path.resolve(requested);
      if (!roots.includes(wanted)) {
        throw new BadRequestError('target_root_invalid', 'target_root must be one of the library roots', `Library roots: ${roots.join(', ') || 'none'}`);
      }
      return wanted;
    }
    return roots[0] ?? null;
  }

  /** Target path of every file the archive carries, confined to the import root or DATA_DIR. */
  private async targets(source: ArchiveAdapter, importRoot: string | null, confinement: FileConfinement): Promise<PlannedFile[]> {
    const out: PlannedFile[] = [];
    for (const file of source.files) {
      const m = file.manifest;
      const rootKind = m.root_kind === 'data' ? 'data' : 'library';
      // The original's archives carry no relative path: it put files in <root>/<adapter id>/<name>.
      const relative = m.relative_path ?? `${safeSegment(source.manifest.id)}/${safeSegment(path.basename(m.original_name))}`;
      const base = rootKind === 'data' ? this.dataDir : importRoot;
      if (base === null) {
        throw new ManifestError('no_library_root', 'No library root to import LoRA files into: set LORA_PATHS or add a library root');
      }
      const target = FileConfinement.resolveUnder(base, relative);
      if (!target || (rootKind === 'data' && !confinement.locate(target))) {
        throw new ManifestError('zip_entry_unsafe', `Unsafe archive path detected: ${relative}`);
      }
      if (!importableFile(relative, rootKind)) {
        throw new ManifestError('archive_file_type_refused', `The archive would write ${relative}, which is not a LoRA, sidecar or preview file; nothing was imported`);
      }
      out.push({ file, target, rootKind, root: base, relativePath: toPosix(path.relative(base, target)), mode: 'write' });
    }
    return out;
  }

  /** Is the target free, already holding these bytes, or holding something else? */
  private async state(f: PlannedFile, claimed: Map<string, string>, onBytes?: (n: number) => void): Promise<FileState> {
    const claimedSha = claimed.get(f.target);
    if (claimedSha !== undefined) return claimedSha === f.file.sha256 ? 'same' : 'differs';
    const stat = await fs.stat(f.target).catch(() => null);
    if (!stat) return 'absent';
    if (!stat.isFile() || stat.size !== f.file.size) return 'differs';
    return (await hashFile(f.target, onBytes)) === f.file.sha256 ? 'same' : 'differs';
  }

  /** New targets for a renamed adapter: the primary's stem gets " (2)", " (3)", … and its sidecars follow it. */
  private async renamedTargets(files: PlannedFile[], claimed: Map<string, string>): Promise<PlannedFile[]> {
    const primary = files.find((f) => f.file.manifest.kind === 'primary') ?? files[0];
    const stem = path.basename(modelStem(primary.target));
    for (let n = 2; n < 10_000; n++) {
      const renamed = files.map((f) => ({ ...f, target: renameTarget(f.target, stem, n) }));
      const free = await Promise.all(renamed.map(async (f) => !claimed.has(f.target) && !(await fs.stat(f.target).catch(() => null))));
      if (free.every(Boolean)) return renamed.map((f) => ({ ...f, relativePath: toPosix(path.relative(f.root, f.target)) }));
    }
    throw new ManifestError('rename_failed', `No free file name for ${primary.target}`);
  }

  private async uniqueName(name: string, version: string | null, claimed: Set<string>): Promise<string> {
    for (let n = 1; n < 10_000; n++) {
      const candidate = n === 1 ? `${name} (imported)` : `${name} (imported ${n})`;
      if (!claimed.has(nameVersionKey(candidate, version)) && !(await this.archive.nameVersionTaken(candidate, version))) return candidate;
    }
    throw new ManifestError('rename_failed', `No free name for ${name}`);
  }

  /** For an adapter whose LoRA file is not in the archive: find the file on this machine, or mark it missing. */
  private async locate(source: ArchiveAdapter, roots: string[], importRoot: string | null, confinement: FileConfinement): Promise<Location> {
    const doc = source.doc;
    const relative = doc.relative_path ? toPosix(doc.relative_path) : null;
    const candidates: Array<{ root: string; file: string }> = [];
    if (relative) {
      for (const root of [importRoot, ...roots].filter((r): r is string => r !== null)) {
        const file = FileConfinement.resolveUnder(root, relative);
        if (file) candidates.push({ root, file });
      }
    }
    for (const { root, file } of candidates) {
      if ((await fs.stat(file).catch(() => null))?.isFile()) return { file_path: file, library_root: root, relative_path: path.relative(root, file), missing: false };
    }
    const original = doc.file_path ? path.resolve(doc.file_path) : null;
    const located = original ? confinement.locate(original) : null;
    if (original && located?.rootKind === 'library' && (await fs.stat(original).catch(() => null))?.isFile()) {
      return { file_path: original, library_root: located.root, relative_path: path.relative(located.root, original), missing: false };
    }
    if (candidates.length > 0) {
      const { root, file } = candidates[0];
      return { file_path: file, library_root: root, relative_path: path.relative(root, file), missing: true };
    }
    // A path of the exporting machine outside our roots is not recorded as where the file is: only its name is kept.
    if (original && located?.rootKind === 'library') {
      return { file_path: original, library_root: located.root, relative_path: path.relative(located.root, original), missing: true };
    }
    return { file_path: path.basename(original ?? `${doc.name}.safetensors`), library_root: null, relative_path: null, missing: true };
  }
}

export function nameVersionKey(name: string, version: string | null | undefined): string {
  return `${name}\u0000${version ?? '\u0001'}`;
}

function renameTarget(target: string, stem: string, n: number): string {
  const dir = path.dirname(target);
  const base = path.basename(target);
  if (base.startsWith(stem)) return path.join(dir, `${stem} (${n})${base.slice(stem.length)}`);
  const dot = base.indexOf('.', 1);
  return path.join(dir, dot === -1 ? `${base} (${n})` : `${base.slice(0, dot)} (${n})${base.slice(dot)}`);
}

export async function hashFile(file: string, onBytes?: (n: number) => void, signal?: AbortSignal): Promise<string> {
  const hashing = new HashingStream(onBytes);
  await pipeline(createReadStream(file, { highWaterMark: 1024 * 1024 }), hashing, new Writable({ write: (_c, _e, cb) => cb() }), signal ? { signal } : {});
  return hashing.digest();
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** What an import may write into a library root: LoRA files, the sidecars we read, previews. */
const LIBRARY_FILE = new RegExp(`\\.(safetensors|json|info|txt|${PREVIEW_EXTENSIONS.join('|')})$`, 'i');
/** What it may write into DATA_DIR (its previews folder): previews only. */
const DATA_FILE = new RegExp(`\\.(${PREVIEW_EXTENSIONS.join('|')})$`, 'i');

/**
 * An archive names its files, so without this it could drop a shell script, a `.bashrc` or a git hook into a library
 * folder (which may sit inside a web UI's install) or overwrite one there. Only the kinds of file a LoRA library
 * holds, never hidden files or folders.
 */
export function importableFile(relative: string, rootKind: 'library' | 'data'): boolean {
  const segments = toPosix(relative).split('/');
  if (segments.some((s) => s.startsWith('.'))) return false;
  return (rootKind === 'data' ? DATA_FILE : LIBRARY_FILE).test(segments.at(-1) ?? '');
}
