import type { Stats } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { isInside, locateInRoots } from '../../lib/paths.ts';

/** Sidecar conventions of A1111, SDNext, Civitai Helper, ComfyUI-Lora-Manager and StabilityMatrix (file-formats §3). */
const SIDECAR_SUFFIXES = ['.civitai.info', '.json', '.metadata.json', '.cm-info.json', '.txt', '.description.txt'];
const PREVIEW_EXTENSIONS = ['png', 'jpg', 'jpeg', 'webp', 'gif', 'avif', 'jxl', 'mp4', 'webm'];
const PREVIEW_SUFFIXES = [
  ...PREVIEW_EXTENSIONS.map((e) => `.preview.${e}`),
  ...PREVIEW_EXTENSIONS.map((e) => `.${e}`),
  ...['png', 'jpg', 'jpeg', 'webp'].map((e) => `.thumb.${e}`),
];

export interface Located {
  rootKind: 'library' | 'data';
  root: string;
  /** `/`-separated, below the root. */
  relativePath: string;
}

/** The model path without its extension: the stem every sidecar convention builds on. */
export function modelStem(file: string): string {
  const ext = path.extname(file);
  return ext ? file.slice(0, -ext.length) : file;
}

/**
 * Where files may be read from and written to: inside a library root, or inside DATA_DIR but never in the folders
 * that hold the database, backups, exports, uploads or staging (those are not library content).
 */
export class FileConfinement {
  private readonly dataExcluded: string[];

  constructor(
    private readonly roots: readonly string[],
    private readonly dataDir: string,
    /** The same places by real path, for `locateReal`; null: no real-path check. */
    private readonly real: { roots: readonly string[]; dataDir: string; allowLinksOut: boolean } | null = null,
  ) {
    this.dataExcluded = ['backups', 'exports', 'staging', 'uploads', 'tmp'].map((d) => path.join(dataDir, d));
  }

  /**
   * Like `locate`, and the file's real path must lie inside too: a symbolic link planted in a root (or swapped in for
   * a catalogued file) does not lead out of it, unless links out are allowed. A missing file is located as named;
   * the caller reports it missing.
   */
  async locateReal(file: string, realPath?: (file: string) => Promise<string | null>): Promise<Located | null> {
    const located = this.locate(file);
    if (!located || !this.real) return located;
    const real = realPath ? await realPath(file) : await fs.realpath(file).catch(() => null);
    if (real === null) return located;
    if (located.rootKind === 'library' && this.real.allowLinksOut) return located;
    if (this.real.roots.some((root) => isInside(root, real))) return located;
    return new FileConfinement([], this.real.dataDir).locate(real)?.rootKind === 'data' ? located : null;
  }

  /** Where an absolute path lies, or null when it is outside everything we may touch. */
  locate(file: string): Located | null {
    const resolved = path.resolve(file);
    const inRoot = locateInRoots(this.roots, resolved);
    if (inRoot) return { rootKind: 'library', root: inRoot.root, relativePath: toPosix(inRoot.relativePath) };
    if (isInside(this.dataDir, resolved) && !this.dataExcluded.some((d) => isInside(d, resolved))) {
      const relative = path.relative(this.dataDir, resolved);
      if (relative && !/\.db(-wal|-shm)?$/.test(relative)) return { rootKind: 'data', root: this.dataDir, relativePath: toPosix(relative) };
    }
    return null;
  }

  /** An archive-supplied relative path resolved under `base`, or null when it would leave it. */
  static resolveUnder(base: string, relative: string): string | null {
    if (!relative || relative.includes('\0') || relative.includes('\\') || path.posix.isAbsolute(relative) || /^[a-zA-Z]:/.test(relative)) return null;
    const segments = relative.split('/');
    if (segments.some((s) => s === '..' || s === '.' || s === '')) return null;
    const target = path.resolve(base, ...segments);
    return isInside(base, target) && target !== path.resolve(base) ? target : null;
  }
}

export function toPosix(p: string): string {
  return p.split(path.sep).join('/');
}

/** Directory listings cached for one export: sidecars and previews are found by name, not by a stat per guess. */
export class DirectoryCache {
  private readonly listings = new Map<string, Promise<Set<string>>>();
  private readonly realDirs = new Map<string, Promise<string | null>>();

  /**
   * A file's real path from its directory's (resolved once per directory) and one lstat of the file: the same answer
   * as fs.realpath, which walks every component of every file. Also returns that lstat (null: missing), so a plain
   * file needs no second stat. A link is resolved in full.
   */
  async inspect(file: string): Promise<{ real: string | null; stat: Stats | null }> {
    const lstat = await fs.lstat(file).catch(() => null);
    if (!lstat) return { real: null, stat: null };
    if (lstat.isSymbolicLink()) {
      const [real, stat] = await Promise.all([fs.realpath(file).catch(() => null), fs.stat(file).catch(() => null)]);
      return { real, stat };
    }
    const dir = path.dirname(file);
    let realDir = this.realDirs.get(dir);
    if (!realDir) {
      realDir = fs.realpath(dir).catch(() => null);
      this.realDirs.set(dir, realDir);
    }
    const resolvedDir = await realDir;
    return { real: resolvedDir === null ? null : path.join(resolvedDir, path.basename(file)), stat: lstat };
  }

  list(dir: string): Promise<Set<string>> {
    let listing = this.listings.get(dir);
    if (!listing) {
      listing = fs.readdir(dir).then(
        (names) => new Set(names),
        () => new Set<string>(),
      );
      this.listings.set(dir, listing);
    }
    return listing;
  }

  async sidecars(modelFile: string): Promise<string[]> {
    return this.withSuffixes(modelFile, SIDECAR_SUFFIXES);
  }

  async previews(modelFile: string): Promise<string[]> {
    return this.withSuffixes(modelFile, PREVIEW_SUFFIXES);
  }

  private async withSuffixes(modelFile: string, suffixes: readonly string[]): Promise<string[]> {
    const dir = path.dirname(modelFile);
    const stem = path.basename(modelStem(modelFile));
    const names = await this.list(dir);
    return suffixes.filter((s) => names.has(stem + s)).map((s) => path.join(dir, stem + s));
  }
}
