import fs from 'node:fs';
import path from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { DirectoryIndex, findSidecars, type SidecarRef } from './sidecars.ts';

/**
 * Walks library roots: nested folders, symlinks followed (each real directory and file visited once, so a link
 * loop ends), dot-folders skipped. For every `.safetensors` it records one stat of the file and one of each sidecar
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
  directories: number;
}

export interface WalkOptions {
  signal?: AbortSignal;
  onDirectory?: (directories: number, files: number) => void;
  /** The LoRA files of each folder as it is read; the walk waits for the returned promise (back-pressure). */
  onFiles?: (files: readonly FoundFile[]) => Promise<void> | void;
  /** Only these files or folders (absolute, inside a root): the watcher's incremental scans. */
  only?: readonly string[];
}

const MODEL_EXT = /\.safetensors$/i;

export async function walkLibrary(roots: readonly string[], options: WalkOptions = {}): Promise<WalkResult> {
  const result: WalkResult = { files: [], walkedRoots: [], unavailableRoots: [], errors: [], directories: 0 };
  const seenDirs = new Set<string>();
  const seenFiles = new Set<string>();

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
    result.walkedRoots.push(root);
    const starts = options.only ? options.only.filter((p) => isInside(root, p)) : [root];
    for (const start of starts) {
      let st: fs.Stats;
      try {
        st = fs.statSync(start);
      } catch {
        continue; // a watched path that is gone: nothing to find, the caller marks it missing
      }
      if (st.isDirectory()) {
        await walkDirectory(root, start, result, seenDirs, seenFiles, options);
      } else if (st.isFile() && MODEL_EXT.test(start)) {
        const dir = path.dirname(start);
        const index = new DirectoryIndex(safeReaddirNames(dir, result));
        const before = result.files.length;
        addFile(root, dir, path.basename(start), path.join(dir, path.basename(start)), st, index, result, seenFiles);
        if (options.onFiles && result.files.length > before) await options.onFiles(result.files.slice(before));
      }
    }
  }
  return result;
}

async function walkDirectory(
  root: string,
  start: string,
  result: WalkResult,
  seenDirs: Set<string>,
  seenFiles: Set<string>,
  options: WalkOptions,
): Promise<void> {
  const stack = [start];
  while (stack.length > 0) {
    options.signal?.throwIfAborted();
    const dir = stack.pop()!;
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
      }
      if (isDir) {
        if (!name.startsWith('.')) stack.push(path.join(dir, name));
      } else if (isFile && MODEL_EXT.test(name)) {
        const file = path.join(dir, name);
        let st: fs.Stats;
        try {
          st = fs.statSync(file);
        } catch (error) {
          result.errors.push({ path: file, reason: errorText(error) });
          continue;
        }
        addFile(root, dir, name, file, st, index, result, seenFiles);
      }
    }
    options.onDirectory?.(result.directories, result.files.length);
    if (options.onFiles && result.files.length > before) await options.onFiles(result.files.slice(before));
    // Stat calls are synchronous; let requests in between folders.
    else await yieldToLoop();
  }
}

/** `file` is `path.join(dir, name)`. */
function addFile(root: string, dir: string, name: string, file: string, st: fs.Stats, index: DirectoryIndex, result: WalkResult, seenFiles: Set<string>): void {
  const id = `${st.dev}:${st.ino}`;
  if (seenFiles.has(id)) return;
  seenFiles.add(id);
  const { sidecars, preview } = findSidecars(dir, name, index);
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
