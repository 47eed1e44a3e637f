import fs from 'node:fs/promises';
import path from 'node:path';
import type { Adapter, CompressionLevel, ExportConfig } from '@lora-manager/contract';
import { BadRequestError } from '../../errors.ts';
import {
  RECIPE_PREVIEW_FOLDER,
  safeSegment,
  type FileKind,
  type ManifestAsset,
  type ManifestFile,
  type ManifestRecipePreview,
  type ManifestResult,
} from '../../lib/archive-manifest.ts';
import { isInside } from '../../lib/paths.ts';
import { RECIPE_PREVIEW_FILE } from '../../lib/recipes/preview-file.ts';
import { tagKey } from '../../lib/tags.ts';
import { normaliseIso } from '../../lib/time.ts';
import type { AdapterRepository } from '../../library/repositories/adapter.repository.ts';
import type { AdapterSelection, ArchiveRepository, ResultRows } from '../repositories/archive.repository.ts';
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
  /** The server settings, less secrets. */
  settings: boolean;
  /** user-data.json: ratings, favourites and notes (with `results`: generation history comes along). */
  userData: boolean;
  /** Recipes (with `user_data`: recipes are the user's too) as recipes.json. */
  recipes: boolean;
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

/** An image (or its thumbnail) of a generation result, below OUTPUT_DIR. */
export interface PlannedAsset {
  absPath: string;
  archivePath: string;
  size: number;
  mtime: Date;
  manifest: ManifestAsset;
}

export interface PlannedResult {
  id: string;
  metadataPath: string;
  metadataBytes: number;
  summary: Pick<ManifestResult, 'prompt' | 'status' | 'created_at' | 'finished_at'>;
  assets: PlannedAsset[];
}

/** A recipe's preview image in DATA_DIR/recipes, carried beside recipes.json. */
export interface PlannedRecipePreview {
  absPath: string;
  archivePath: string;
  size: number;
  mtime: Date;
  manifest: ManifestRecipePreview;
}

export interface ExportPlan {
  options: ExportOptions;
  adapters: PlannedAdapter[];
  results: PlannedResult[];
  recipePreviews: PlannedRecipePreview[];
  /** LoRA files, sidecars, previews, result images and recipe previews. */
  fileCount: number;
  fileBytes: number;
  metadataBytes: number;
}

const UNSUPPORTED: Array<[keyof ExportConfig, string]> = [
  ['encrypt', 'encrypted archives'],
  ['split_archives', 'split archives'],
  ['lora_embeddings', 'embeddings (they are recomputed from the adapters after an import)'],
  ['analytics', 'analytics (not recorded by this server yet)'],
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
  const userData = config.user_data ?? false;
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
    // Generation history is user data: "Quick Export All" (user_data) brings it without ticking generations too.
    results: (config.generations ?? false) || userData,
    resultImages: config.generation_images ?? true,
    resultsFrom: ranged ? dateBound(config.date_from, 'date_from', false) : null,
    resultsTo: ranged ? dateBound(config.date_to, 'date_to', true) : null,
    settings: config.system_config ?? false,
    userData,
    recipes: userData,
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
    private readonly outputDir: string,
    /** DATA_DIR/recipes, where recipe previews are kept. */
    private readonly recipesDir: string,
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
    const results = options.results ? await this.planResults(options) : [];
    const recipePreviews = options.recipes ? await this.planRecipePreviews() : [];
    let fileCount = 0;
    let fileBytes = 0;
    let metadataBytes = 0;
    for (const item of [
      ...planned.map((a) => ({ bytes: a.metadataBytes, files: a.files })),
      ...results.map((r) => ({ bytes: r.metadataBytes, files: r.assets })),
      { bytes: 0, files: recipePreviews },
    ]) {
      metadataBytes += item.bytes;
      for (const f of item.files) {
        fileCount += 1;
        fileBytes += f.size;
      }
    }
    return { options, adapters: planned, results, recipePreviews, fileCount, fileBytes, metadataBytes };
  }

  /**
   * Every recipe's preview that is a plain file of ours: a name the preview store gives (`<id>.png|jpg|webp`) and not
   * a link, so a file put in DATA_DIR/recipes by hand cannot take something else into the archive.
   */
  private async planRecipePreviews(): Promise<PlannedRecipePreview[]> {
    const out: PlannedRecipePreview[] = [];
    for (const row of await this.archive.recipePreviews()) {
      if (!RECIPE_PREVIEW_FILE.test(row.preview_file)) continue;
      const absPath = path.join(this.recipesDir, row.preview_file);
      const stat = await fs.lstat(absPath).catch(() => null);
      if (!stat?.isFile()) continue;
      const archivePath = `${RECIPE_PREVIEW_FOLDER}/${row.preview_file}`;
      out.push({
        absPath,
        archivePath,
        size: stat.size,
        mtime: stat.mtime,
        manifest: { recipe_id: row.id, file: row.preview_file, archive_path: archivePath, content_type: row.preview_type, size: stat.size, sha256: null },
      });
    }
    return out;
  }

  /** Finished generations in the range, with their images and thumbnails when chosen (only files under OUTPUT_DIR). */
  private async planResults(options: ExportOptions): Promise<PlannedResult[]> {
    const ids = await this.archive.selectResultIds({ from: options.resultsFrom, to: options.resultsTo });
    const out: PlannedResult[] = [];
    for (let i = 0; i < ids.length; i += 500) {
      for (const rows of await this.archive.resultRows(ids.slice(i, i + 500))) {
        const base = `results/${safeSegment(rows.delivery.id)}`;
        const assets: PlannedAsset[] = [];
        if (options.resultImages) {
          for (const image of rows.images) {
            for (const relative of [image.file, image.thumbnail]) {
              if (!relative) continue;
              const absPath = path.resolve(this.outputDir, relative);
              if (!isInside(this.outputDir, absPath)) continue;
              const stat = await fs.stat(absPath).catch(() => null);
              if (!stat?.isFile()) continue;
              const archivePath = `${base}/${assets.length}_${safeSegment(path.basename(absPath))}`;
              assets.push({
                absPath,
                archivePath,
                size: stat.size,
                mtime: stat.mtime,
                manifest: {
                  filename: path.basename(absPath),
                  archive_path: archivePath,
                  content_type: relative === image.file ? image.content_type : 'image/webp',
                  size: stat.size,
                  sha256: null,
                  relative_path: toPosix(relative),
                  mtime: stat.mtime.toISOString(),
                },
              });
            }
          }
        }
        out.push({
          id: rows.delivery.id,
          metadataPath: `${base}/metadata.json`,
          metadataBytes: Buffer.byteLength(resultDocument(rows)),
          summary: { prompt: rows.delivery.prompt, status: rows.job.status, created_at: rows.delivery.created_at, finished_at: rows.job.finished_at },
          assets,
        });
      }
    }
    return out;
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
      const inspected = await dirs.inspect(absPath);
      const located = await confinement.locateReal(absPath, async () => inspected.real);
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
      const stat = inspected.stat;
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

/** results/<id>/metadata.json: the result's rows as stored (delivery, job, images, LoRAs used). */
export function resultDocument(rows: ResultRows): string {
  return JSON.stringify(rows, null, 2);
}
