import fs from 'node:fs';
import path from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { DirectoryIndex, findSidecars, type SidecarRef } from './sidecars.ts';

/**
 * Walks library roots: nested folders, symlinks followed when their target lies inside a root (each real directory
 * and file visited once, so a link loop ends), dot-folders skipped. A link leading out of the roots is reported, not
 * followed, unless links out are allowed. Every walk is bounded: at most `maxEntries` folder entries per root and
 * `maxDepth` levels, so no root (however large, or however linked) can exhaust memory or hold the server. For every `.safetensors` it records one stat of the file and one of each sidecar
 * next to it; nothing is opened. A root that cannot be read is reported, not walked, so its files are never taken
 * for deleted when a drive is unmounted.
 */
export interface FoundFile {
  path: string;
  root: string;
  relativePath: string;
  size: number;
  mtimeMs: number;
  sidecars: SidecarRef[];
  preview: string | null;
  /** Names, sizes and times of the sidecars and preview: a change means they must be read again. */
  signature: string;
}

export interface WalkResult {
  files: FoundFile[];
  /** Roots that were walked (their catalogued files that were not found are missing). */
  walkedRoots: string[];
  unavailableRoots: Array<{ root: string; reason: string }>;
  /** Folders or files that could not be read during the walk. */
  errors: Array<{ path: string; reason: string }>;
  /** Roots whose walk stopped at `maxEntries`: not in `walkedRoots`, as their unseen files are not known to be gone. */
  truncatedRoots: Array<{ root: string; reason: string }>;
  directories: number;
}

export interface WalkOptions {
  signal?: AbortSignal;
  onDirectory?: (directories: number, files: number) => void;
  /** The LoRA files of each folder as it is read; the walk waits for the returned promise (back-pressure). */
  onFiles?: (files: readonly FoundFile[]) => Promise<void> | void;
  /** Only these files or folders (absolute, inside a root): the watcher's incremental scans. */
  only?: readonly string[];
  /** Folder entries read per root before the walk of that root stops (default 1,000,000). */
  maxEntries?: number;
  /** Folder levels below a root that are descended (default 32). */
  maxDepth?: number;
  /** Real paths of every root a link may lead into; default: the real paths of `roots`. */
  realRoots?: readonly string[];
  /** Follow links whose target lies outside every root. */
  allowLinksOut?: boolean;
}

export const DEFAULT_MAX_ENTRIES = 1_000_000;
export const DEFAULT_MAX_DEPTH = 32;
const LINK_OUT = 'symbolic link leads outside the library roots (set LIBRARY_ALLOW_LINKS_OUT=true to follow it)';

/** What one walk carries from folder to folder. */
interface WalkContext {
  result: WalkResult;
  seenDirs: Set<string>;
  seenFiles: Set<string>;
  options: WalkOptions;
  realRoots: readonly string[];
  /** Entries read so far under the current root. */
  entries: number;
}

class WalkBoundReached extends Error {}

const MODEL_EXT = /\.safetensors$/i;

export async function walkLibrary(roots: readonly string[], options: WalkOptions = {}): Promise<WalkResult> {
  const result: WalkResult = { files: [], walkedRoots: [], unavailableRoots: [], errors: [], truncatedRoots: [], directories: 0 };
  const realRoots = options.realRoots ?? roots.map((r) => realOrNull(r) ?? r);
  const ctx: WalkContext = { result, seenDirs: new Set(), seenFiles: new Set(), options, realRoots, entries: 0 };
  const maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;

  for (const root of roots) {
    let rootStat: fs.Stats;
    try {
      rootStat = fs.statSync(root);
      if (!rootStat.isDirectory()) throw new Error('not a directory');
      fs.accessSync(root, fs.constants.R_OK | fs.constants.X_OK);
    } catch (error) {
      result.unavailableRoots.push({ root, reason: errorText(error) });
      continue;
    }
    ctx.entries = 0;
    try {
      await walkRoot(root, ctx);
      result.walkedRoots.push(root);
    } catch (error) {
      if (!(error instanceof WalkBoundReached)) throw error;
      result.truncatedRoots.push({ root, reason: `the walk stopped after ${maxEntries} entries (LIBRARY_MAX_ENTRIES); files beyond were not looked at` });
    }
  }
  return result;
}

async function walkRoot(root: string, ctx: WalkContext): Promise<void> {
  const { options, result } = ctx;
  const starts = options.only ? options.only.filter((p) => isInside(root, p)) : [root];
  for (const start of starts) {
    let st: fs.Stats;
    try {
      st = fs.statSync(start);
    } catch {
      continue; // a watched path that is gone: nothing to find, the caller marks it missing
    }
    // A watched path may lie below a link: it is read only when it really lies inside the roots.
    if (start !== root && !leadsInside(start, ctx)) {
      result.errors.push({ path: start, reason: LINK_OUT });
      continue;
    }
    if (st.isDirectory()) {
      const depth = path.relative(root, start).split(path.sep).filter(Boolean).length;
      await walkDirectory(root, start, depth, ctx);
    } else if (st.isFile() && MODEL_EXT.test(start)) {
      const dir = path.dirname(start);
      const index = new DirectoryIndex(safeReaddirNames(dir, result));
      const before = result.files.length;
      addFile(root, dir, path.basename(start), path.join(dir, path.basename(start)), st, index, ctx);
      if (options.onFiles && result.files.length > before) await options.onFiles(result.files.slice(before));
    }
  }
}

/** Whether `p` (a link, or a path below one) really lies inside a root, or links out are allowed. */
function leadsInside(p: string, ctx: WalkContext): boolean {
  if (ctx.options.allowLinksOut) return true;
  const real = realOrNull(p);
  return real !== null && ctx.realRoots.some((r) => isInside(r, real));
}

/** For a file in a folder already known to lie inside: only a link needs resolving. */
function staysInside(file: string, ctx: WalkContext): boolean {
  if (ctx.options.allowLinksOut || !fs.lstatSync(file, { throwIfNoEntry: false })?.isSymbolicLink()) return true;
  if (leadsInside(file, ctx)) return true;
  ctx.result.errors.push({ path: file, reason: LINK_OUT });
  return false;
}

function realOrNull(p: string): string | null {
  try {
    return fs.realpathSync.native(p);
  } catch {
    return null;
  }
}

async function walkDirectory(root: string, start: string, startDepth: number, ctx: WalkContext): Promise<void> {
  const { result, seenDirs, options } = ctx;
  const maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  const stack: Array<{ dir: string; depth: number }> = [{ dir: start, depth: startDepth }];
  while (stack.length > 0) {
    options.signal?.throwIfAborted();
    const { dir, depth } = stack.pop()!;
    let dirStat: fs.Stats;
    let entries: fs.Dirent[];
    try {
      dirStat = fs.statSync(dir);
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch (error) {
      result.errors.push({ path: dir, reason: errorText(error) });
      continue;
    }
    const id = `${dirStat.dev}:${dirStat.ino}`;
    if (seenDirs.has(id)) continue;
    seenDirs.add(id);
    result.directories++;
    ctx.entries += entries.length;
    if (ctx.entries > maxEntries) throw new WalkBoundReached();
    const index = new DirectoryIndex(entries.map((e) => e.name));
    const before = result.files.length;
    for (const entry of entries) {
      const name = entry.name;
      let isDir = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        try {
          const target = fs.statSync(path.join(dir, name));
          isDir = target.isDirectory();
          isFile = target.isFile();
        } catch {
          result.errors.push({ path: path.join(dir, name), reason: 'broken symbolic link' });
          continue;
        }
        // Only links that matter are resolved: folders and LoRA files.
        if ((isDir && !name.startsWith('.')) || (isFile && MODEL_EXT.test(name))) {
          if (!leadsInside(path.join(dir, name), ctx)) {
            result.errors.push({ path: path.join(dir, name), reason: LINK_OUT });
            continue;
          }
        }
      }
      if (isDir) {
        if (name.startsWith('.')) continue;
        if (depth >= maxDepth) result.errors.push({ path: path.join(dir, name), reason: `deeper than ${maxDepth} folder levels (LIBRARY_MAX_DEPTH): not walked` });
        else stack.push({ dir: path.join(dir, name), depth: depth + 1 });
      } else if (isFile && MODEL_EXT.test(name)) {
        const file = path.join(dir, name);
        let st: fs.Stats;
        try {
          st = fs.statSync(file);
        } catch (error) {
          result.errors.push({ path: file, reason: errorText(error) });
          continue;
        }
        addFile(root, dir, name, file, st, index, ctx);
      }
    }
    options.onDirectory?.(result.directories, result.files.length);
    if (options.onFiles && result.files.length > before) await options.onFiles(result.files.slice(before));
    // Stat calls are synchronous; let requests in between folders.
    else await yieldToLoop();
  }
}

/** `file` is `path.join(dir, name)`. */
function addFile(root: string, dir: string, name: string, file: string, st: fs.Stats, index: DirectoryIndex, ctx: WalkContext): void {
  const { result, seenFiles } = ctx;
  const id = `${st.dev}:${st.ino}`;
  if (seenFiles.has(id)) return;
  seenFiles.add(id);
  const found = findSidecars(dir, name, index);
  // A sidecar or preview that is a link out of the roots is never read (its text would land in the catalogue).
  const sidecars = found.sidecars.filter((s) => staysInside(s.path, ctx));
  const preview = found.preview && staysInside(found.preview, ctx) ? found.preview : null;
  // Metadata sidecars are stat-ed so an edit made in another tool is seen; a preview only by name (its pixels do not
  // change the catalogue, and a new preview file changes the listing).
  const parts: string[] = [];
  for (const s of sidecars) {
    const ss = fs.statSync(s.path, { throwIfNoEntry: false });
    parts.push(ss ? `${path.basename(s.path)}:${ss.size}:${Math.trunc(ss.mtimeMs)}` : `${path.basename(s.path)}:?`);
  }
  if (preview) parts.push(path.basename(preview));
  result.files.push({
    path: file,
    root,
    relativePath: path.relative(root, file),
    size: st.size,
    mtimeMs: st.mtimeMs,
    sidecars,
    preview,
    signature: parts.join('|'),
  });
}

function safeReaddirNames(dir: string, result: WalkResult): string[] {
  try {
    return fs.readdirSync(dir);
  } catch (error) {
    result.errors.push({ path: dir, reason: errorText(error) });
    return [];
  }
}

function isInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

function errorText(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  if (e.code === 'ENOENT') return 'does not exist';
  if (e.code === 'EACCES' || e.code === 'EPERM') return 'permission denied';
  if (e.code === 'ELOOP') return 'too many levels of symbolic links';
  return e.code ? `${e.code}: ${e.message}` : e.message;
}

/**
 * Counts the entries below `root` (links not followed, dot-folders skipped, `maxDepth` levels), stopping as soon as
 * there are more than `limit`: how the watcher decides whether a root is small enough to watch. Reads folders
 * asynchronously, so counting a large tree never holds the server.
 */
export async function countEntries(root: string, limit: number, maxDepth: number = DEFAULT_MAX_DEPTH): Promise<number> {
  let count = 0;
  const stack: Array<{ dir: string; depth: number }> = [{ dir: root, depth: 0 }];
  while (stack.length > 0 && count <= limit) {
    const { dir, depth } = stack.pop()!;
    const entries = await fs.promises.readdir(dir, { withFileTypes: true }).catch(() => []);
    count += entries.length;
    if (depth >= maxDepth) continue;
    for (const entry of entries) if (entry.isDirectory() && !entry.name.startsWith('.')) stack.push({ dir: path.join(dir, entry.name), depth: depth + 1 });
  }
  return count;
}
