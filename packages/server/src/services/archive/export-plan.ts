import fs from 'node:fs/promises';
import path from 'node:path';
import type { Adapter, CompressionLevel, ExportConfig } from '@lora-manager/contract';
import { BadRequestError } from '../../errors.ts';
import { safeSegment, type FileKind, type ManifestFile } from '../../lib/archive-manifest.ts';
import { tagKey } from '../../lib/tags.ts';
import { normaliseIso } from '../../lib/time.ts';
import type { AdapterRepository } from '../../repositories/adapter.repository.ts';
import type { AdapterSelection, ArchiveRepository } from '../../repositories/archive.repository.ts';
import { DirectoryCache, type FileConfinement, toPosix } from './library-files.ts';

/** What goes into one archive, decided from an ExportConfig (or by a backup). */
export interface ExportOptions {
  selection: AdapterSelection;
  files: boolean;
  sidecars: boolean;
  previews: boolean;
  results: boolean;
  resultImages: boolean;
  resultsFrom: string | null;
  resultsTo: string | null;
  settings: boolean;
  compression: CompressionLevel;
  /** Only these adapters get their LoRA files included (pre-import backups keep the files an import replaces). */
  filesOnlyFor?: ReadonlySet<string>;
}

export interface PlannedFile {
  absPath: string;
  archivePath: string;
  kind: FileKind;
  size: number;
  mtime: Date;
  /** Stored (not deflated) unless compression is maximum: weights and images do not shrink. */
  binary: boolean;
  manifest: ManifestFile;
}

export interface PlannedAdapter {
  id: string;
  name: string;
  version: string | null;
  metadataPath: string;
  metadataBytes: number;
  files: PlannedFile[];
  /** Candidates that were not included, kept in the manifest with `exists: false` as the original did. */
  absent: ManifestFile[];
}

export interface ExportPlan {
  options: ExportOptions;
  adapters: PlannedAdapter[];
  fileCount: number;
  fileBytes: number;
  metadataBytes: number;
}

const UNSUPPORTED: Array<[keyof ExportConfig, string]> = [
  ['encrypt', 'encrypted archives'],
  ['split_archives', 'split archives'],
  ['lora_embeddings', 'embeddings (they are recomputed from the adapters after an import)'],
  ['analytics', 'analytics (export them from the analytics page)'],
  ['user_data', 'recipes (not stored by this server yet)'],
];

/** ExportConfig → ExportOptions, refusing what the original silently ignored. */
export function exportOptionsFrom(config: ExportConfig): ExportOptions {
  if (!config.loras) throw new BadRequestError('export_loras_required', 'LoRA export must be enabled');
  if ((config.format ?? 'zip').toLowerCase() !== 'zip') throw new BadRequestError('export_format_unsupported', 'Only ZIP exports are supported');
  const refused = UNSUPPORTED.filter(([key]) => config[key] === true).map(([, what]) => what);
  if (refused.length > 0) {
    throw new BadRequestError('export_option_unsupported', `This server cannot export ${refused.join(', ')}`, 'Turn these options off and try again.');
  }
  const ranged = (config.generation_range ?? 'all') !== 'all';
  return {
    selection: {
      ids: config.adapter_ids,
      tagKeys: (config.tags ?? []).map(tagKey).filter(Boolean),
      tagMode: config.tag_mode ?? 'any',
      createdFrom: dateBound(config.adapter_date_from, 'adapter_date_from', false),
      createdTo: dateBound(config.adapter_date_to, 'adapter_date_to', true),
    },
    files: config.lora_files ?? true,
    sidecars: config.lora_metadata ?? true,
    previews: config.previews ?? true,
    results: config.generations ?? false,
    resultImages: config.generation_images ?? true,
    resultsFrom: ranged ? dateBound(config.date_from, 'date_from', false) : null,
    resultsTo: ranged ? dateBound(config.date_to, 'date_to', true) : null,
    settings: config.system_config ?? false,
    compression: config.compression ?? 'balanced',
  };
}

/** A date or time from the client as an ISO bound; a bare date as `to` means the end of that day. */
function dateBound(value: string | null | undefined, field: string, endOfDay: boolean): string | null {
  if (value === null || value === undefined || value.trim() === '') return null;
  const bare = /^\d{4}-\d{2}-\d{2}$/.test(value.trim());
  const iso = normaliseIso(bare ? `${value.trim()}T00:00:00Z` : value);
  if (!iso) throw new BadRequestError('invalid_date', `${field} is not a date`, `Got "${value}"; use 2025-01-31 or an ISO-8601 time.`);
  return bare && endOfDay ? new Date(Date.parse(iso) + 86_400_000 - 1).toISOString() : iso;
}

export class ExportPlanner {
  constructor(
    private readonly adapters: AdapterRepository,
    private readonly archive: ArchiveRepository,
    private readonly confinement: () => Promise<FileConfinement>,
  ) {}

  /** Decide every entry and stat every file: the estimate and the archive come from the same plan. */
  async plan(options: ExportOptions): Promise<ExportPlan> {
    const ids = await this.archive.selectAdapterIds(options.selection);
    const confinement = await this.confinement();
    const dirs = new DirectoryCache();
    const planned: PlannedAdapter[] = [];
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = await this.adapters.findByIds(ids.slice(i, i + 500));
      const tagRows = await this.archive.tagRows(chunk.map((a) => a.id));
      for (const adapter of chunk) {
        const metadata = metadataDocument(adapter, tagRows.get(adapter.id) ?? []);
        planned.push(await this.planAdapter(adapter, Buffer.byteLength(metadata), options, confinement, dirs));
      }
    }
    let fileCount = 0;
    let fileBytes = 0;
    let metadataBytes = 0;
    for (const a of planned) {
      metadataBytes += a.metadataBytes;
      for (const f of a.files) {
        fileCount += 1;
        fileBytes += f.size;
      }
    }
    return { options, adapters: planned, fileCount, fileBytes, metadataBytes };
  }

  private async planAdapter(
    adapter: Adapter,
    metadataBytes: number,
    options: ExportOptions,
    confinement: FileConfinement,
    dirs: DirectoryCache,
  ): Promise<PlannedAdapter> {
    const base = `adapters/${safeSegment(adapter.id)}`;
    const withFiles = options.files && (!options.filesOnlyFor || options.filesOnlyFor.has(adapter.id));
    const candidates: Array<{ kind: FileKind; file: string; wanted: boolean }> = [
      { kind: 'primary', file: adapter.file_path, wanted: withFiles },
    ];
    if (adapter.primary_file_local_path) candidates.push({ kind: 'primary_local', file: adapter.primary_file_local_path, wanted: withFiles });
    if (adapter.json_file_path) candidates.push({ kind: 'metadata', file: adapter.json_file_path, wanted: options.sidecars });
    if (options.sidecars) for (const file of await dirs.sidecars(adapter.file_path)) candidates.push({ kind: 'sidecar', file, wanted: true });
    if (adapter.preview_path) candidates.push({ kind: 'preview', file: adapter.preview_path, wanted: options.previews });
    if (options.previews) for (const file of await dirs.previews(adapter.file_path)) candidates.push({ kind: 'preview', file, wanted: true });

    const files: PlannedFile[] = [];
    const absent: ManifestFile[] = [];
    const seen = new Set<string>();
    for (const candidate of candidates) {
      const absPath = path.resolve(candidate.file);
      if (seen.has(absPath)) continue;
      seen.add(absPath);
      const originalName = path.basename(absPath);
      const located = confinement.locate(absPath);
      const entry: ManifestFile = {
        kind: candidate.kind,
        original_path: absPath,
        original_name: originalName,
        exists: false,
        size: null,
        archive_path: null,
        sha256: null,
        relative_path: located?.relativePath ?? null,
        root_kind: located?.rootKind ?? null,
        mtime: null,
        note: null,
      };
      if (!located) {
        absent.push({ ...entry, note: 'outside the library roots: not read' });
        continue;
      }
      const stat = await fs.stat(absPath).catch(() => null);
      if (!stat?.isFile()) {
        absent.push({ ...entry, note: 'missing on disk' });
        continue;
      }
      if (!candidate.wanted) {
        absent.push({ ...entry, size: stat.size, mtime: stat.mtime.toISOString(), note: 'not chosen for this export' });
        continue;
      }
      const archivePath = `${base}/files/${files.length}_${safeSegment(originalName)}`;
      files.push({
        absPath,
        archivePath,
        kind: candidate.kind,
        size: stat.size,
        mtime: stat.mtime,
        binary: candidate.kind === 'primary' || candidate.kind === 'primary_local' || candidate.kind === 'preview',
        manifest: { ...entry, exists: true, size: stat.size, archive_path: archivePath, mtime: stat.mtime.toISOString() },
      });
    }
    return { id: adapter.id, name: adapter.name, version: adapter.version, metadataPath: `${base}/metadata.json`, metadataBytes, files, absent };
  }
}

/** adapters/<id>/metadata.json: every field of the adapter plus its exact tag rows (origins and removals included). */
export function metadataDocument(adapter: Adapter, tagRows: ReadonlyArray<{ tag: string; origin: string; position: number }>): string {
  return JSON.stringify({ ...adapter, tag_rows: tagRows }, null, 2);
}

export function relativeTo(root: string, file: string): string {
  return toPosix(path.relative(root, file));
}
