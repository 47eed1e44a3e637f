import fs from 'node:fs/promises';
import path from 'node:path';
import { ManifestError } from '../../lib/archive-manifest.ts';
import { isInside } from '../../lib/paths.ts';
import { RECIPE_PREVIEW_DIR } from '../../lib/recipes/preview-file.ts';

/** The folder in each library root where an import stages its files before they move into place (see staging.ts). */
export const ROOT_STAGING_DIR = '.lora-manager-staging';

/** Where a file an import writes belongs: a library root, DATA_DIR's previews, OUTPUT_DIR (result images), or DATA_DIR's recipe previews. */
export type WriteZone = 'library' | 'data' | 'output' | 'recipes';

/** DATA_DIR folders that are the server's own, never import content, even if a root or OUTPUT_DIR was put there. */
const RESERVED_DATA_FOLDERS = ['backups', 'staging', 'thumbnails', 'exports', 'uploads', 'tmp', 'deliveries'];

/**
 * The last word on where an import may write. Paths in the plan are checked lexically; this resolves symbolic links
 * (of the roots, of DATA_DIR and of every existing folder on the way to the file) and decides on the real parent
 * folder, so a linked folder inside a root, a root that contains DATA_DIR, or a link into DATA_DIR cannot take a
 * write where it must not go. DATA_DIR is off limits except for its `previews/` (adapter previews the server keeps
 * there), its `recipes/` (recipe previews, only in the `recipes` zone) and a root or OUTPUT_DIR configured inside it.
 */
export class ImportWriteGuard {
  constructor(
    private readonly dataDir: string,
    private readonly outputDir: string,
  ) {}

  /**
   * May a path an archive names (an adapter's preview_path and the like, not a file it carries) be stored? Only an
   * absolute path without `..` whose real location is in a library root or DATA_DIR/previews: the catalogue must not
   * point at /etc/passwd or the database, whatever later serves or deletes what it points at.
   */
  async mayReference(value: string, roots: readonly string[]): Promise<boolean> {
    if (!path.isAbsolute(value) || value.includes('\0') || value.split(/[\\/]/).includes('..')) return false;
    const real = await fs.realpath(value).catch(() => value); // a link is judged by where it leads
    return this.allows(real, ['library', 'data'], roots);
  }

  /** Would a write of `target` pass in one of `zones`? */
  async allows(target: string, zones: readonly WriteZone[], roots: readonly string[]): Promise<boolean> {
    for (const zone of zones) {
      const ok = await this.assertWritable([{ target, zone }], roots).then(
        () => true,
        (error: unknown) => (error instanceof ManifestError ? false : Promise.reject(error)),
      );
      if (ok) return true;
    }
    return false;
  }

  /** Throws `archive_target_forbidden` (DATA_DIR's own files) or `archive_target_outside_roots` for the first bad target. */
  async assertWritable(writes: ReadonlyArray<{ target: string; zone: WriteZone }>, roots: readonly string[]): Promise<void> {
    if (writes.length === 0) return;
    const dataDir = await realOrSelf(this.dataDir);
    const zones: Record<WriteZone, string[]> = {
      library: await Promise.all(roots.map(realOrSelf)),
      data: [await realOrSelf(path.join(this.dataDir, 'previews'))],
      output: [await realOrSelf(this.outputDir)],
      recipes: [await realOrSelf(path.join(this.dataDir, RECIPE_PREVIEW_DIR))],
    };
    for (const { target, zone } of writes) {
      const parent = await realParent(target);
      if (parent === null) throw outside(target);
      if (isInside(dataDir, parent) && !zones[zone].some((z) => isOwnFolderInside(dataDir, z) && isInside(z, parent))) {
        throw new ManifestError('archive_target_forbidden', `The archive would write ${target}, which is one of the server's own files in DATA_DIR; nothing was imported`);
      }
      if (!zones[zone].some((z) => isInside(z, parent))) throw outside(target);
      if (parent.split(path.sep).includes(ROOT_STAGING_DIR)) {
        throw new ManifestError('archive_target_forbidden', `The archive would write ${target}, inside a staging folder of the imports; nothing was imported`);
      }
    }
  }
}

function outside(target: string): ManifestError {
  return new ManifestError('archive_target_outside_roots', `The archive would write ${target}, which leads out of the library roots (a linked folder?); nothing was imported`);
}

/** A root or OUTPUT_DIR inside DATA_DIR is a place imports may write only when it is not one of the server's folders. */
function isOwnFolderInside(dataDir: string, zone: string): boolean {
  if (zone === dataDir || !isInside(dataDir, zone)) return false;
  const first = path.relative(dataDir, zone).split(path.sep)[0];
  return !RESERVED_DATA_FOLDERS.includes(first) && !/\.db(-wal|-shm|-journal)?$/.test(first);
}

/** A zone's real path; one that does not exist yet is resolved through its deepest existing folder. */
async function realOrSelf(dir: string): Promise<string> {
  return (await realPath(dir)) ?? path.resolve(dir);
}

/** The real path of `file`'s folder (null: see realPath). */
async function realParent(file: string): Promise<string | null> {
  return realPath(path.dirname(path.resolve(file)));
}

/**
 * The real path of `dir`: the deepest folder on the way that exists, resolved, with the missing rest appended (those
 * folders will be created as plain folders). Null when something on the way exists but cannot be resolved (a
 * dangling link): writing there would follow the link wherever it points later.
 */
async function realPath(dir: string): Promise<string | null> {
  const missing: string[] = [];
  let current = path.resolve(dir);
  for (;;) {
    const real = await fs.realpath(current).catch(() => null);
    if (real !== null) return path.join(real, ...missing);
    if ((await fs.lstat(current).catch(() => null)) !== null) return null;
    const up = path.dirname(current);
    if (up === current) return null;
    missing.unshift(path.basename(current));
    current = up;
  }
}
