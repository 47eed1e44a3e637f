import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ExportConfig, ExportEstimate } from '@lora-manager/contract';
import type { Logger } from 'pino';
import yazl from 'yazl';
import {
  ARCHIVE_FORMAT,
  ARCHIVE_FORMAT_VERSION,
  MANIFEST_NAME,
  SETTINGS_NAME,
  RECIPES_NAME,
  USER_DATA_NAME,
  type Manifest,
  type ManifestEntry,
} from '../../lib/archive-manifest.ts';
import type { Clock } from '../../lib/clock.ts';
import { useNativeCrc32ForYazl } from '../../lib/zip-crc.ts';
import { RECIPE_PREVIEW_DIR } from '../../lib/recipes/preview-file.ts';
import { realPathOf } from '../../lib/root-policy.ts';
import type { AdapterRepository } from '../../library/repositories/adapter.repository.ts';
import type { ArchiveRepository } from '../repositories/archive.repository.ts';
import type { LibraryRootsService } from '../../library/services/library-roots.service.ts';
import {
  exportOptionsFrom,
  ExportPlanner,
  resultDocument,
  type ExportOptions,
  type ExportPlan,
  type PlannedAsset,
  type PlannedFile,
  type PlannedRecipePreview,
} from './export-plan.ts';
import { ExportEstimator } from './export-estimate.ts';
import { MetadataDocuments } from './metadata-documents.ts';
import { HashingStream } from './hashing.ts';
import { settingForExport } from './imported-settings.ts';
import { userDataDocument } from './user-data.ts';
import { FileConfinement } from './library-files.ts';

export interface ArchiveProgress {
  bytes: number;
  totalBytes: number;
  message: string;
  /** 0–1 over the whole operation. */
  fraction: number;
}

export interface ExportSummary {
  adapterCount: number;
  fileCount: number;
  bytesRead: number;
  entries: number;
  manifest: Manifest;
}

export interface ExportRun {
  plan: ExportPlan;
  /** The ZIP as it is built; nothing is buffered beyond the stream's own high-water mark. */
  stream: Readable;
  /** Resolves when the last byte has been produced; rejects (and the stream errors) on failure or abort. */
  done: Promise<ExportSummary>;
}

export interface RunOptions {
  signal?: AbortSignal;
  onProgress?: (p: ArchiveProgress) => void;
}

useNativeCrc32ForYazl();

/** Used until an export of this server has measured its own rate. */
const DEFAULT_RATE_BPS = 100 * 1024 * 1024;
const VERSION = '0.1.0';
/** Files below this are read whole instead of streamed. */
const SMALL_FILE_BYTES = 1024 * 1024;
/** What ArchiveExportService needs; one object, so call sites name each part. */
export interface ArchiveExportOptions {
  adapters: AdapterRepository;
  archive: ArchiveRepository;
  roots: LibraryRootsService;
  dataDir: string;
  outputDir: string;
  clock: Clock;
  logger: Logger;
}

/** Streams archives: one plan, one pass over the files, hashes taken on the way, manifest written last. */
export class ArchiveExportService {
  private readonly planner: ExportPlanner;
  private readonly estimator: ExportEstimator;
  private measuredRate: number | null = null;

  private readonly adapters: AdapterRepository;
  private readonly archive: ArchiveRepository;
  private readonly roots: LibraryRootsService;
  private readonly dataDir: string;
  private readonly clock: Clock;
  private readonly logger: Logger;

  constructor(options: ArchiveExportOptions) {
    this.adapters = options.adapters;
    this.archive = options.archive;
    this.roots = options.roots;
    this.dataDir = options.dataDir;
    this.clock = options.clock;
    this.logger = options.logger;
    this.estimator = new ExportEstimator(options.archive, (ids) =>
      this.planner.plan({ ...exportOptionsFrom({ loras: true, lora_files: false }), selection: { ids } }),
    );
    const recipesDir = path.join(options.dataDir, RECIPE_PREVIEW_DIR);
    this.planner = new ExportPlanner(options.adapters, options.archive, () => this.confinement(), options.outputDir, recipesDir);
  }

  async confinement(): Promise<FileConfinement> {
    const real = { roots: await this.roots.realList(), dataDir: realPathOf(this.dataDir), allowLinksOut: this.roots.policy.allowLinksOut };
    return new FileConfinement(await this.roots.list(), this.dataDir, real);
  }

  options(config: ExportConfig): ExportOptions {
    return exportOptionsFrom(config);
  }

  /** Plan an export; every plan also teaches the estimator what this library's side files weigh. */
  async plan(options: ExportOptions): Promise<ExportPlan> {
    const plan = await this.planner.plan(options);
    this.estimator.learn(plan);
    return plan;
  }

  /**
   * Size and time from the sizes the catalogue records, without reading the disk: instant however large the library
   * (statting every file took 10–31 s on a 2,000-LoRA library under load).
   */
  async estimate(config: ExportConfig): Promise<ExportEstimate> {
    if (!config.loras) return { size: '0 Bytes', time: '0 seconds', bytes: 0, seconds: 0, adapter_count: 0, file_count: 0, result_count: 0 };
    return this.estimator.estimate(this.options(config), this.measuredRate ?? DEFAULT_RATE_BPS);
  }

  /** `lora_export_YYYYmmdd_HHMMSS.zip` in server local time, as the original named it. */
  fileName(prefix = 'lora_export'): string {
    const d = this.clock.now();
    const p = (n: number) => String(n).padStart(2, '0');
    return `${prefix}_${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}_${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}.zip`;
  }

  start(plan: ExportPlan, run: RunOptions = {}): ExportRun {
    const zip = new yazl.ZipFile();
    const vanished = new Set<string>();
    // yazl's typings call it a ReadableStream; it is a Node PassThrough.
    const output = zip.outputStream as unknown as Readable;
    const entries: ManifestEntry[] = [];
    const totalBytes = plan.fileBytes + plan.metadataBytes;
    let bytes = 0;
    let current: Readable | null = null;
    let failed: Error | null = null;
    const level = compressionLevels(plan.options.compression);
    const tick = (n: number, message: string) => {
      bytes += n;
      run.onProgress?.({ bytes, totalBytes, message, fraction: totalBytes > 0 ? Math.min(0.99, bytes / totalBytes) : 0 });
    };

    const fail = (error: Error) => {
      if (failed) return;
      failed = error;
      current?.destroy(error);
      output.destroy(error);
    };
    zip.on('error', (error: Error) => fail(error));
    const onAbort = () => fail(abortError(run.signal));
    run.signal?.addEventListener('abort', onAbort, { once: true });

    /** Add an entry whose bytes are produced when its turn comes, hashed on the way into the archive. */
    const addLazy = (name: string, options: { compressionLevel: number; mtime?: Date }, produce: () => Promise<Readable>, onDone?: (sha: string, size: number) => void) => {
      zip.addReadStreamLazy(name, { compressionLevel: options.compressionLevel, mtime: options.mtime ?? this.clock.now() }, (cb) => {
        if (failed) return cb(failed, undefined as never);
        produce().then(
          (source) => {
            const hashing = new HashingStream((n) => tick(n, name));
            hashing.on('end', () => {
              const sha = hashing.digest();
              entries.push({ path: name, size: hashing.bytes, sha256: sha });
              onDone?.(sha, hashing.bytes);
            });
            source.on('error', (error) => fail(error));
            current = source;
            cb(null, source.pipe(hashing));
          },
          (error: Error) => cb(error, undefined as never),
        );
      });
    };

    const documents = new MetadataDocuments(this.adapters, this.archive, plan.adapters.map((a) => a.id));
    for (const adapter of plan.adapters) {
      addLazy(adapter.metadataPath, { compressionLevel: level.text }, async () => {
        // An adapter deleted since planning keeps its planned identity so the manifest stays consistent.
        const doc =
          (await documents.take(adapter.id)) ?? JSON.stringify({ id: adapter.id, name: adapter.name, version: adapter.version, deleted: true });
        return Readable.from([Buffer.from(doc)]);
      });
      for (const file of adapter.files) {
        addLazy(file.archivePath, { compressionLevel: file.binary ? level.binary : level.text, mtime: file.mtime }, () => this.openFile(file, vanished), (sha, size) => {
          file.manifest.sha256 = sha;
          file.manifest.size = size;
        });
      }
    }
    for (const result of plan.results) {
      addLazy(result.metadataPath, { compressionLevel: level.text }, async () => {
        const [rows] = await this.archive.resultRows([result.id]);
        const doc = rows ? resultDocument(rows) : JSON.stringify({ id: result.id, deleted: true });
        return Readable.from([Buffer.from(doc)]);
      });
      for (const asset of result.assets) {
        addLazy(asset.archivePath, { compressionLevel: level.binary, mtime: asset.mtime }, () => this.openFile(asset, vanished), (sha, size) => {
          asset.manifest.sha256 = sha;
          asset.manifest.size = size;
        });
      }
    }
    if (plan.options.settings) {
      addLazy(SETTINGS_NAME, { compressionLevel: level.text }, async () => {
        const rows = await this.archive.allSettings();
        const doc = rows.flatMap((r) => {
          const value = settingForExport(r.key, safeJson(r.value));
          return value === undefined ? [] : [{ key: r.key, value, updated_at: r.updated_at }];
        });
        return Readable.from([Buffer.from(JSON.stringify(doc, null, 2))]);
      });
    }
    if (plan.options.userData) {
      addLazy(USER_DATA_NAME, { compressionLevel: level.text }, async () => {
        const doc = await userDataDocument(this.archive, plan.adapters.map((a) => a.id), plan.results.map((r) => r.id));
        return Readable.from([Buffer.from(JSON.stringify(doc, null, 2))]);
      });
    }
    if (plan.options.recipes) {
      addLazy(RECIPES_NAME, { compressionLevel: level.text }, async () => Readable.from([Buffer.from(JSON.stringify(await this.archive.allRecipes()))]));
      for (const preview of plan.recipePreviews) {
        addLazy(preview.archivePath, { compressionLevel: level.binary, mtime: preview.mtime }, () => this.openFile(preview, vanished), (sha, size) => {
          preview.manifest.sha256 = sha;
          preview.manifest.size = size;
        });
      }
    }
    let manifest: Manifest | null = null;
    // Last: by now every other entry has been streamed and hashed.
    zip.addReadStreamLazy(MANIFEST_NAME, { compressionLevel: level.text, mtime: this.clock.now() }, (cb) => {
      manifest = this.manifest(plan, entries, vanished);
      cb(null, Readable.from([Buffer.from(JSON.stringify(manifest, null, 2))]));
    });
    zip.end();

    const started = Date.now();
    const done = new Promise<ExportSummary>((resolve, reject) => {
      output.on('end', () => {
        run.signal?.removeEventListener('abort', onAbort);
        const seconds = (Date.now() - started) / 1000;
        if (bytes > 64 * 1024 * 1024 && seconds > 0) this.measuredRate = bytes / seconds;
        resolve({ adapterCount: plan.adapters.length, fileCount: plan.fileCount, bytesRead: bytes, entries: entries.length + 1, manifest: manifest! });
      });
      output.on('close', () => {
        run.signal?.removeEventListener('abort', onAbort);
        if (failed) reject(failed);
        else if (!output.readableEnded) reject(new Error('export stream closed before the archive was complete'));
      });
      output.on('error', (error) => reject(failed ?? error));
    });
    done.catch(() => undefined);
    return { plan, stream: output, done };
  }

  /**
   * Write an archive to `target` through `target.part` and a rename, so a reader never sees half an archive.
   * Returns its size and SHA-256.
   */
  async writeFile(plan: ExportPlan, target: string, run: RunOptions = {}): Promise<{ size: number; sha256: string; summary: ExportSummary }> {
    await fsp.mkdir(path.dirname(target), { recursive: true });
    const part = `${target}.part`;
    const exportRun = this.start(plan, run);
    const hashing = new HashingStream();
    try {
      await pipeline(exportRun.stream, hashing, fs.createWriteStream(part, { flush: true }));
      const summary = await exportRun.done;
      await fsp.rename(part, target);
      return { size: hashing.bytes, sha256: hashing.digest(), summary };
    } catch (error) {
      await fsp.rm(part, { force: true });
      throw error;
    }
  }

  /** Open a planned file; one that vanished since planning is noted in `vanished` (kept out of the manifest). */
  private async openFile(file: PlannedFile | PlannedAsset | PlannedRecipePreview, vanished: Set<string>): Promise<Readable> {
    const handle = await fsp.open(file.absPath, 'r').catch((error: NodeJS.ErrnoException) => {
      // A file that vanished since planning leaves an empty entry left out of the manifest; the rest is intact.
      this.logger.warn({ file: file.absPath, err: error }, 'file vanished during export');
      vanished.add(file.archivePath);
      if ('exists' in file.manifest) {
        file.manifest.exists = false;
        file.manifest.note = `could not be read during export: ${error.code ?? error.message}`;
      }
      return null;
    });
    if (!handle) return Readable.from([]);
    // A sidecar or preview is read in one go: a 1 MB stream buffer per small file was most of a metadata export's
    // time (allocation and GC), and thousands of them make one.
    if (file.size < SMALL_FILE_BYTES) {
      try {
        return Readable.from([await handle.readFile()]);
      } finally {
        await handle.close();
      }
    }
    return handle.createReadStream({ highWaterMark: 1024 * 1024 });
  }

  private manifest(plan: ExportPlan, entries: ManifestEntry[], vanished: ReadonlySet<string>): Manifest {
    const included = new Set(entries.map((e) => e.path));
    const adapters = plan.adapters.map((a) => ({
      id: a.id,
      name: a.name,
      version: a.version,
      metadata_path: a.metadataPath,
      files: [
        ...a.files.map((f) => (f.manifest.exists && included.has(f.archivePath) ? f.manifest : { ...f.manifest, exists: false, archive_path: null, sha256: null })),
        ...a.absent,
      ],
    }));
    const listed = entries.filter((e) => !vanished.has(e.path));
    const results = plan.results.map((r) => ({
      id: r.id,
      ...r.summary,
      metadata_path: r.metadataPath,
      assets: r.assets.filter((a) => included.has(a.archivePath) && !vanished.has(a.archivePath)).map((a) => a.manifest),
    }));
    const recipePreviews = plan.recipePreviews.filter((p) => included.has(p.archivePath) && !vanished.has(p.archivePath)).map((p) => p.manifest);
    const fileTotal = adapters.reduce((n, a) => n + a.files.filter((f) => f.exists).reduce((m, f) => m + (f.size ?? 0), 0), 0);
    const metadataTotal = listed.filter((e) => e.path.endsWith('/metadata.json')).reduce((n, e) => n + e.size, 0);
    return {
      format: ARCHIVE_FORMAT,
      format_version: ARCHIVE_FORMAT_VERSION,
      generator: `lora-manager ${VERSION}`,
      generated_at: this.clock.now().toISOString(),
      adapter_count: adapters.length,
      file_total_bytes: fileTotal,
      metadata_total_bytes: metadataTotal,
      total_bytes: fileTotal + metadataTotal,
      counts: {
        adapters: adapters.length,
        files: adapters.reduce((n, a) => n + a.files.filter((f) => f.exists).length, 0),
        results: results.length,
        images: results.reduce((n, r) => n + r.assets.length, 0),
        settings: plan.options.settings ? 1 : 0,
        recipes: plan.options.recipes ? 1 : 0,
        recipe_previews: recipePreviews.length,
        user_data: plan.options.userData ? 1 : 0,
      },
      options: {
        lora_files: plan.options.files,
        lora_metadata: plan.options.sidecars,
        previews: plan.options.previews,
        generations: plan.options.results,
        system_config: plan.options.settings,
        user_data: plan.options.userData,
        compression: plan.options.compression,
      },
      adapters,
      results,
      settings_path: plan.options.settings ? SETTINGS_NAME : null,
      recipes_path: plan.options.recipes ? RECIPES_NAME : null,
      recipe_previews: recipePreviews,
      user_data_path: plan.options.userData ? USER_DATA_NAME : null,
      entries: listed,
    };
  }
}

function compressionLevels(level: ExportOptions['compression']): { text: number; binary: number } {
  switch (level) {
    case 'none':
      return { text: 0, binary: 0 };
    case 'fast':
      return { text: 1, binary: 0 };
    case 'maximum':
      return { text: 9, binary: 9 };
    default:
      return { text: 6, binary: 0 };
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function abortError(signal?: AbortSignal): Error {
  const reason: unknown = signal?.reason;
  if (reason instanceof Error) return reason;
  const error = new Error('export cancelled');
  error.name = 'AbortError';
  return error;
}
