/**
 * Rules an archive's central directory must pass before any byte of it is written anywhere: safe entry names, no
 * links, no duplicates, and bounded size, ratio and count (zip bombs). Pure: it sees the directory records only.
 */
export interface ZipLimits {
  maxUncompressedBytes: number;
  maxRatio: number;
  maxEntries: number;
}

export type ZipProblemCode =
  | 'zip_entry_unsafe'
  | 'zip_symlink'
  | 'zip_duplicate_entry'
  | 'zip_too_large'
  | 'zip_ratio_exceeded'
  | 'zip_too_many_entries'
  | 'zip_encrypted'
  | 'zip_unsupported_compression';

export class ZipRejectedError extends Error {
  constructor(
    readonly code: ZipProblemCode,
    message: string,
    readonly entry?: string,
  ) {
    super(message);
    this.name = 'ZipRejectedError';
  }
}

/** What the checks need from a central directory record. */
export interface ZipDirectoryRecord {
  name: string;
  versionMadeBy: number;
  externalFileAttributes: number;
  generalPurposeBitFlag: number;
  compressionMethod: number;
  compressedSize: number;
  uncompressedSize: number;
}

const MAX_NAME_LENGTH = 1024;
/** Below this size an entry's ratio is not judged: tiny JSON files of spaces compress absurdly well and harm no one. */
const RATIO_FLOOR_BYTES = 1024 * 1024;
const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const WINDOWS_REPARSE_POINT = 0x400;
const HOST_UNIX = 3;
const HOST_MACOS = 19;

/** Why a name is unsafe to extract, or null. Refuses anything that could leave the target folder on any OS. */
export function unsafeNameReason(name: string): string | null {
  if (name.length === 0) return 'empty name';
  if (name.length > MAX_NAME_LENGTH) return `name longer than ${MAX_NAME_LENGTH} characters`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'control character in name';
  if (name.includes('\\')) return 'backslash in name';
  if (name.startsWith('/')) return 'absolute path';
  if (/^[a-zA-Z]:/.test(name)) return 'drive letter in name';
  const segments = (name.endsWith('/') ? name.slice(0, -1) : name).split('/');
  if (segments.some((s) => s === '..')) return 'parent directory (..) in path';
  if (segments.some((s) => s === '.' || s === '')) return 'empty or "." path segment';
  return null;
}

export function isDirectoryName(name: string): boolean {
  return name.endsWith('/');
}

/** A symbolic link (Unix mode bits from a Unix or macOS zipper) or a Windows reparse point. */
export function isLinkRecord(record: Pick<ZipDirectoryRecord, 'versionMadeBy' | 'externalFileAttributes'>): boolean {
  const host = record.versionMadeBy >>> 8;
  const attributes = record.externalFileAttributes >>> 0;
  if ((host === HOST_UNIX || host === HOST_MACOS) && ((attributes >>> 16) & S_IFMT) === S_IFLNK) return true;
  return (attributes & WINDOWS_REPARSE_POINT) !== 0;
}

/** The key two names collide on when extracted to a case-insensitive, Unicode-normalising file system. */
export function collisionKey(name: string): string {
  return name.normalize('NFC').toLowerCase().replace(/\/+$/, '');
}

/** Feed every central directory record, then `finish()`. Throws ZipRejectedError at the first problem. */
export class ZipDirectoryChecker {
  private readonly seen = new Map<string, string>();
  private uncompressed = 0;
  private compressed = 0;
  private count = 0;

  constructor(private readonly limits: ZipLimits) {}

  add(record: ZipDirectoryRecord): void {
    const { name } = record;
    this.count += 1;
    if (this.count > this.limits.maxEntries) {
      throw new ZipRejectedError('zip_too_many_entries', `the archive has more than ${this.limits.maxEntries} entries`);
    }
    const reason = unsafeNameReason(name);
    if (reason) throw new ZipRejectedError('zip_entry_unsafe', `unsafe entry name "${printable(name)}": ${reason}`, name);
    if (isLinkRecord(record)) throw new ZipRejectedError('zip_symlink', `entry "${name}" is a symbolic link`, name);
    const key = collisionKey(name);
    const previous = this.seen.get(key);
    if (previous !== undefined) {
      throw new ZipRejectedError('zip_duplicate_entry', `entry "${name}" appears twice${previous === name ? '' : ` (as "${previous}")`}`, name);
    }
    this.seen.set(key, name);
    if (isDirectoryName(name)) return;
    if ((record.generalPurposeBitFlag & 0x1) !== 0) throw new ZipRejectedError('zip_encrypted', `entry "${name}" is encrypted`, name);
    if (record.compressionMethod !== 0 && record.compressionMethod !== 8) {
      throw new ZipRejectedError('zip_unsupported_compression', `entry "${name}" uses compression method ${record.compressionMethod}`, name);
    }
    const { uncompressedSize: size, compressedSize: packed } = record;
    if (size > 0 && packed === 0) throw new ZipRejectedError('zip_ratio_exceeded', `entry "${name}" claims ${size} bytes from nothing`, name);
    if (size >= RATIO_FLOOR_BYTES && size / packed > this.limits.maxRatio) {
      throw new ZipRejectedError(
        'zip_ratio_exceeded',
        `entry "${name}" expands ${Math.round(size / packed)}:1, over the limit of ${this.limits.maxRatio}:1`,
        name,
      );
    }
    this.uncompressed += size;
    this.compressed += packed;
    if (this.uncompressed > this.limits.maxUncompressedBytes) {
      throw new ZipRejectedError(
        'zip_too_large',
        `the archive expands to more than ${this.limits.maxUncompressedBytes} bytes (ARCHIVE_MAX_UNCOMPRESSED_BYTES)`,
        name,
      );
    }
  }

  finish(): { entries: number; uncompressedBytes: number; compressedBytes: number } {
    if (this.uncompressed >= RATIO_FLOOR_BYTES && this.uncompressed / Math.max(1, this.compressed) > this.limits.maxRatio) {
      throw new ZipRejectedError(
        'zip_ratio_exceeded',
        `the archive expands ${Math.round(this.uncompressed / Math.max(1, this.compressed))}:1, over the limit of ${this.limits.maxRatio}:1`,
      );
    }
    return { entries: this.count, uncompressedBytes: this.uncompressed, compressedBytes: this.compressed };
  }
}

function printable(name: string): string {
  // eslint-disable-next-line no-control-regex
  return name.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
