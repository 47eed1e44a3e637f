import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { Logger } from 'pino';
import { AppError, BadRequestError, NotFoundError } from '../../errors.ts';
import type { Clock } from '../../lib/clock.ts';
import { isInside } from '../../lib/paths.ts';
import { isPreviewVideo } from '../../lib/sidecars.ts';
import type { AdapterRepository } from '../../repositories/adapter.repository.ts';
import type { LibraryRootsService } from '../library-roots.service.ts';
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

/**
 * Previews: the file found next to the LoRA (or uploaded, or from CivitAI), and WebP thumbnails made once with
 * sharp and kept in the data directory. An upload is written beside the LoRA as NAME.preview.png only when the
 * user allowed writing into library folders; otherwise it lives in the data directory.
 */
export class PreviewService {
  private readonly making = new Map<string, Promise<void>>();

  constructor(
    private readonly adapters: AdapterRepository,
    private readonly roots: LibraryRootsService,
    private readonly settings: LibrarySettingsService,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly dataDir: string,
  ) {}

  async preview(id: string, thumbnail: { width: number } | null): Promise<PreviewFile> {
    const adapter = await this.adapters.findById(id);
    if (!adapter) throw new NotFoundError('adapter_not_found', 'adapter not found');
    if (!adapter.preview_path) throw new NotFoundError('preview_not_found', 'this adapter has no preview');
    const file = adapter.preview_path;
    // Only files under a library root or our data directory are ever served.
    const allowed = [...(await this.roots.list()), this.dataDir];
    if (!allowed.some((root) => isInside(root, file))) throw new NotFoundError('preview_not_found', 'the preview is outside the library');
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch {
      throw new NotFoundError('preview_not_found', 'the preview file is gone; rescan the library');
    }
    const original: PreviewFile = { path: file, contentType: contentType(file), size: st.size, etag: etagOf(file, st) };
    if (!thumbnail || isPreviewVideo(file)) return original;
    const width = Math.min(1024, Math.max(32, Math.round(thumbnail.width || DEFAULT_THUMB)));
    const key = createHash('sha256').update(`${file}|${st.size}|${st.mtimeMs}|${width}`).digest('hex').slice(0, 24);
    const thumb = path.join(this.dataDir, 'thumbnails', key.slice(0, 2), `${key}.webp`);
    if (!fs.existsSync(thumb)) await this.makeThumbnail(file, thumb, width);
    const ts = fs.statSync(thumb);
    return { path: thumb, contentType: 'image/webp', size: ts.size, etag: `"${key}"` };
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
