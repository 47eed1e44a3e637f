import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { isInside } from '../../lib/paths.ts';

export interface StoredImage {
  /** Path relative to OUTPUT_DIR. */
  file: string;
  thumbnail: string | null;
  contentType: string;
  width: number | null;
  height: number | null;
  bytes: number;
}

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,199}$/;
const FORMATS: Record<string, { ext: string; type: string }> = {
  png: { ext: 'png', type: 'image/png' },
  jpeg: { ext: 'jpg', type: 'image/jpeg' },
  webp: { ext: 'webp', type: 'image/webp' },
  gif: { ext: 'gif', type: 'image/gif' },
  avif: { ext: 'avif', type: 'image/avif' },
};

export class UnsafeOutputPathError extends Error {}

/**
 * Generated images on disk: `OUTPUT_DIR/<job id>/<n>.<ext>`, thumbnails in `thumbs/`, the live preview as
 * `preview.<ext>`. Every path read or deleted is checked to resolve inside OUTPUT_DIR, whatever a database row says.
 */
export class OutputStore {
  private realRoot: string | null = null;

  constructor(
    readonly root: string,
    private readonly thumbnailSize: number,
  ) {}

  private dirFor(id: string): string {
    if (!SAFE_ID.test(id)) throw new UnsafeOutputPathError(`unsafe job id for an output folder: ${JSON.stringify(id)}`);
    return path.join(this.root, id);
  }

  private async rootReal(): Promise<string> {
    await fs.mkdir(this.root, { recursive: true });
    this.realRoot ??= await fs.realpath(this.root);
    return this.realRoot;
  }

  /** Write one image and its thumbnail. The format comes from the bytes, not from what the server claimed. */
  async writeImage(id: string, index: number, data: Buffer): Promise<StoredImage> {
    const meta = await sharp(data).metadata();
    const format = FORMATS[meta.format ?? ''];
    if (!format) throw new Error(`the generation server returned an image in an unsupported format (${meta.format ?? 'unknown'})`);
    const dir = this.dirFor(id);
    await fs.mkdir(path.join(dir, 'thumbs'), { recursive: true });
    const name = `${index}.${format.ext}`;
    await writeAtomically(path.join(dir, name), data);

    let thumbnail: string | null = null;
    try {
      const thumb = await sharp(data)
        .resize(this.thumbnailSize, this.thumbnailSize, { fit: 'inside', withoutEnlargement: true })
        .webp({ quality: 80 })
        .toBuffer();
      await writeAtomically(path.join(dir, 'thumbs', `${index}.webp`), thumb);
      thumbnail = `${id}/thumbs/${index}.webp`;
    } catch {
      // A thumbnail is a convenience: the full image is served in its place.
    }
    return { file: `${id}/${name}`, thumbnail, contentType: format.type, width: meta.width ?? null, height: meta.height ?? null, bytes: data.length };
  }

  /** Replace the live preview of a running job; returns its relative path. */
  async writePreview(id: string, data: Buffer): Promise<string | null> {
    const meta = await sharp(data)
      .metadata()
      .catch(() => null);
    const format = FORMATS[meta?.format ?? ''];
    if (!format) return null;
    const dir = this.dirFor(id);
    await fs.mkdir(dir, { recursive: true });
    for (const other of Object.values(FORMATS)) if (other.ext !== format.ext) await fs.rm(path.join(dir, `preview.${other.ext}`), { force: true });
    await writeAtomically(path.join(dir, `preview.${format.ext}`), data);
    return `${id}/preview.${format.ext}`;
  }

  async findPreview(id: string): Promise<{ path: string; contentType: string } | null> {
    for (const format of Object.values(FORMATS)) {
      const found = await this.resolve(`${id}/preview.${format.ext}`);
      if (found) return { path: found, contentType: format.type };
    }
    return null;
  }

  async removePreview(id: string): Promise<void> {
    const dir = this.dirFor(id);
    await Promise.all(Object.values(FORMATS).map((f) => fs.rm(path.join(dir, `preview.${f.ext}`), { force: true })));
  }

  /** The absolute path of a stored file, or null when it is missing or would lie outside OUTPUT_DIR. */
  async resolve(relative: string): Promise<string | null> {
    const root = await this.rootReal();
    const candidate = path.resolve(root, relative);
    if (!isInside(root, candidate)) return null;
    const real = await fs.realpath(candidate).catch(() => null);
    if (!real || !isInside(root, real)) return null;
    const stat = await fs.stat(real).catch(() => null);
    return stat?.isFile() ? real : null;
  }

  /** Delete a job's folder. Only ever a direct child of OUTPUT_DIR named by a safe id. */
  async removeJob(id: string): Promise<void> {
    if (!SAFE_ID.test(id)) return;
    const root = await this.rootReal();
    const dir = path.join(root, id);
    const stat = await fs.lstat(dir).catch(() => null);
    if (!stat) return;
    // A symlink planted here is removed itself; its target is never followed.
    if (!stat.isDirectory()) {
      await fs.rm(dir, { force: true });
      return;
    }
    await fs.rm(dir, { recursive: true, force: true });
  }
}

async function writeAtomically(file: string, data: Buffer): Promise<void> {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await fs.writeFile(tmp, data);
  await fs.rename(tmp, file);
}
