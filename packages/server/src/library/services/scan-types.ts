import type { FoundFile } from '../../lib/library-walk.ts';

export type LibraryWalkFile = FoundFile;

/** One file a scan could not catalogue. */
export interface ScanIssue {
  path: string;
  code: string;
  reason: string;
}

export interface ScanProgress {
  phase: 'walking' | 'reading' | 'saving' | 'done';
  progress: number;
  done: number;
  total: number;
  message: string;
  /** The walk is still finding files, so `total` is not known yet and `progress` means nothing. */
  indeterminate?: boolean;
}

export interface ScanOptions {
  /** Roots to scan (each must be a configured root); default all. */
  roots?: readonly string[];
  /** Only these files or folders (the watcher's incremental scans). */
  paths?: readonly string[];
  dryRun?: boolean;
  /** Re-read files even when their size and mtime are unchanged. */
  force?: boolean;
  signal?: AbortSignal;
  onProgress?: (progress: ScanProgress) => void;
}

/** At most this many paths are listed per category; counts are always complete. */
export const LISTED_PATHS = 1000;
