import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { Logger } from 'pino';
import { AppError, BadRequestError, NotFoundError } from '../../errors.ts';
import type { Clock } from '../../lib/clock.ts';
import { isInside } from '../../lib/paths.ts';
import { isPreviewVideo } from '../../lib/sidecars.ts';
import type { AdapterRepository } from '../repositories/adapter.repository.ts';
import type { LibraryRootsService } from './library-roots.service.ts';
import type { LibrarySettingsService } from './library-settings.service.ts';

export interface PreviewFile {
  path: string;
  contentType: string;
  size: number;
  etag: string;
}

const CONTENT_TYPES: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.avif': 'image/avif',
  '.jxl': 'image/jxl',
  '.mp4': 'video/mp4',
  '.webm': 'video/webm',
};

export const MAX_PREVIEW_UPLOAD = 20 * 1024 * 1024;
const DEFAULT_THUMB = 256;

/** What PreviewService needs; one object, so call sites name each part. */
export interface PreviewServiceOptions {
  adapters: AdapterRepository;
  roots: LibraryRootsService;
  settings: LibrarySettingsService;
  clock: Clock;
  logger: Logger;
  dataDir: string;
}

/**
 * Previews: the file found next to the LoRA (or uploaded, or from CivitAI), and WebP thumbnails made once with
 * sharp and kept in the data directory. An upload is written beside the LoRA as NAME.preview.png only when the
 * user allowed writing into library folders; otherwise it lives in the data directory.
 */
export class PreviewService {
  private readonly making = new Map<string, Promise<void>>();

  private readonly adapters: AdapterRepository;
  private readonly roots: LibraryRootsService;
  private readonly settings: LibrarySettingsService;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly dataDir: string;

  constructor(options: PreviewServiceOptions) {
    this.adapters = options.adapters;
    this.roots = options.roots;
    this.settings = options.settings;
    this.clock = options.clock;
    this.logger = options.logger;
    this.dataDir = options.dataDir;
  }

  async preview(id: string, thumbnail: { width: number } | null): Promise<PreviewFile> {
    const adapter = await this.adapters.findById(id);
    if (!adapter) throw new NotFoundError('adapter_not_found', 'adapter not found');
    const servable = adapter.preview_path ? await this.servable(adapter.preview_path) : null;
    // One answer for "none", "gone" and "not ours to serve": a stored path must not tell what exists on the machine.
    if (!servable) throw new NotFoundError('preview_not_found', 'this adapter has no preview');
    const { file, st } = servable;
    const original: PreviewFile = { path: file, contentType: contentType(file), size: st.size, etag: etagOf(file, st) };
    if (!thumbnail || isPreviewVideo(file)) return original;
    const width = Math.min(1024, Math.max(32, Math.round(thumbnail.width || DEFAULT_THUMB)));
    const key = createHash('sha256').update(`${file}|${st.size}|${st.mtimeMs}|${width}`).digest('hex').slice(0, 24);
    const thumb = path.join(this.dataDir, 'thumbnails', key.slice(0, 2), `${key}.webp`);
    if (!fs.existsSync(thumb)) await this.makeThumbnail(file, thumb, width);
    const ts = fs.statSync(thumb);
    return { path: thumb, contentType: 'image/webp', size: ts.size, etag: `"${key}"` };
  }

  /**
   * The real path of a stored preview when it may be served: an image (or preview video) by extension, whose real
   * path lies inside a library root or our own previews folder, never elsewhere in DATA_DIR (database, backups).
   * The stored path can come from a sidecar, an imported archive or a link planted in a root, so it is not trusted.
   */
  private async servable(stored: string): Promise<{ file: string; st: fs.Stats } | null> {
    const real = await fs.promises.realpath(stored).catch(() => null);
    if (!real || !(path.extname(stored).toLowerCase() in CONTENT_TYPES) || !(path.extname(real).toLowerCase() in CONTENT_TYPES)) return null;
    const ownPreviews = await fs.promises.realpath(path.join(this.dataDir, 'previews')).catch(() => null);
    const realData = await fs.promises.realpath(this.dataDir).catch(() => path.resolve(this.dataDir));
    const inOwnPreviews = ownPreviews !== null && isInside(ownPreviews, real);
    if (!inOwnPreviews) {
      if (isInside(realData, real)) return null;
      if ((await this.roots.confine(stored)) !== real) return null;
    }
    const st = await fs.promises.stat(real).catch(() => null);
    return st?.isFile() ? { file: real, st } : null;
  }

  private async makeThumbnail(source: string, target: string, width: number): Promise<void> {
    // Two requests for the same thumbnail share one resize.
    let job = this.making.get(target);
    if (!job) {
      job = (async () => {
        fs.mkdirSync(path.dirname(target), { recursive: true });
        const tmp = `${target}.${process.pid}.${Date.now()}.tmp`;
        try {
          await sharp(source, { animated: false, limitInputPixels: 100_000_000 }).rotate().resize({ width, withoutEnlargement: true }).webp({ quality: 80 }).toFile(tmp);
          fs.renameSync(tmp, target);
        } catch (error) {
          fs.rmSync(tmp, { force: true });
          throw new AppError(422, 'preview_unreadable', 'the preview image cannot be read', (error as Error).message);
        }
      })().finally(() => this.making.delete(target));
      this.making.set(target, job);
    }
    await job;
  }

  /** Store an uploaded image as the adapter's preview (PNG). */
  async upload(id: string, bytes: Buffer): Promise<{ path: string; beside_file: boolean }> {
    const adapter = await this.adapters.findById(id);
    if (!adapter) throw new NotFoundError('adapter_not_found', 'adapter not found');
    if (bytes.length === 0) throw new BadRequestError('preview_empty', 'the upload is empty');
    let png: Buffer;
    try {
      png = await sharp(bytes, { limitInputPixels: 100_000_000 }).rotate().png().toBuffer();
    } catch (error) {
      throw new AppError(422, 'preview_not_an_image', 'the upload is not an image sharp can read', (error as Error).message);
    }
    const { writePreviews } = await this.settings.values();
    let target = path.join(this.dataDir, 'previews', 'user', `${id}.png`);
    let beside = false;
    if (writePreviews && !adapter.missing) {
      const candidate = adapter.file_path.replace(/\.safetensors$/i, '') + '.preview.png';
      try {
        // The folder beside the LoRA may have been swapped for a link out of the roots since it was catalogued.
        if ((await this.roots.confine(path.dirname(candidate))) === null) throw new Error('outside the library roots');
        fs.accessSync(path.dirname(candidate), fs.constants.W_OK);
        target = candidate;
        beside = true;
      } catch {
        this.logger.info({ id, dir: path.dirname(candidate) }, 'library folder is read-only; keeping the preview in the data directory');
      }
    }
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const tmp = `${target}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, png);
    fs.renameSync(tmp, target);
    const now = this.clock.now().toISOString();
    // The user's preview from now on: a rescan or CivitAI keeps it.
    await this.adapters.update(id, { preview_path: target, updated_at: now }, undefined, ['preview_path']);
    return { path: target, beside_file: beside };
  }
}

function contentType(file: string): string {
  return CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

function etagOf(file: string, st: fs.Stats): string {
  return `"${createHash('sha1').update(`${file}|${st.size}|${st.mtimeMs}`).digest('hex').slice(0, 20)}"`;
}
