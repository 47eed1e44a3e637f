import { describe, expect, it } from 'vitest';
import { collisionKey, isLinkRecord, unsafeNameReason, ZipDirectoryChecker, ZipRejectedError, type ZipDirectoryRecord } from './zip-safety.ts';

const record = (name: string, over: Partial<ZipDirectoryRecord> = {}): ZipDirectoryRecord => ({
  name,
  versionMadeBy: 20,
  externalFileAttributes: 0,
  generalPurposeBitFlag: 0,
  compressionMethod: 8,
  compressedSize: 100,
  uncompressedSize: 200,
  ...over,
});

function rejection(records: ZipDirectoryRecord[], limits = { maxEntries: 100, maxRatio: 100, maxUncompressedBytes: 1e9 }): string | null {
  const checker = new ZipDirectoryChecker(limits);
  try {
    for (const r of records) checker.add(r);
    checker.finish();
    return null;
  } catch (error) {
    return (error as ZipRejectedError).code;
  }
}

describe('zip safety', () => {
  it('accepts ordinary relative names and refuses every way out of the target folder', () => {
    expect(unsafeNameReason('adapters/abc/files/0_x.safetensors')).toBeNull();
    expect(unsafeNameReason('a/b/')).toBeNull();
    for (const bad of ['', '../x', 'a/../../x', '/etc/passwd', 'C:\\x', 'c:x', 'a\\..\\x', 'a/./b', 'a//b', 'a\u0000b', 'x'.repeat(2000)]) {
      expect(unsafeNameReason(bad), bad).not.toBeNull();
    }
  });

  it('recognises links from Unix and macOS zippers and Windows reparse points', () => {
    expect(isLinkRecord({ versionMadeBy: (3 << 8) | 20, externalFileAttributes: (0o120777 << 16) >>> 0 })).toBe(true);
    expect(isLinkRecord({ versionMadeBy: (19 << 8) | 20, externalFileAttributes: (0o120755 << 16) >>> 0 })).toBe(true);
    expect(isLinkRecord({ versionMadeBy: (3 << 8) | 20, externalFileAttributes: (0o100644 << 16) >>> 0 })).toBe(false);
    expect(isLinkRecord({ versionMadeBy: 20, externalFileAttributes: 0x400 })).toBe(true);
  });

  it('treats names that collide on case-insensitive or normalising file systems as duplicates', () => {
    expect(collisionKey('A/Été.txt')).toBe(collisionKey('a/e\u0301té.TXT'.normalize('NFD')));
    expect(rejection([record('a.txt'), record('A.TXT')])).toBe('zip_duplicate_entry');
    expect(rejection([record('dir/'), record('dir')])).toBe('zip_duplicate_entry');
  });

  it('bounds total size, per-entry and overall ratio, and entry count', () => {
    expect(rejection([record('a', { uncompressedSize: 600, compressedSize: 600 }), record('b', { uncompressedSize: 600, compressedSize: 600 })], { maxEntries: 10, maxRatio: 100, maxUncompressedBytes: 1000 })).toBe('zip_too_large');
    expect(rejection([record('bomb', { uncompressedSize: 10 * 1024 * 1024, compressedSize: 10 * 1024 })])).toBe('zip_ratio_exceeded');
    expect(rejection([record('nothing', { uncompressedSize: 10, compressedSize: 0 })])).toBe('zip_ratio_exceeded');
    // Small, very compressible JSON is fine: ratio is only judged from 1 MiB up.
    expect(rejection([record('small.json', { uncompressedSize: 500_000, compressedSize: 500 })])).toBeNull();
    expect(rejection(Array.from({ length: 11 }, (_, i) => record(`f${i}`)), { maxEntries: 10, maxRatio: 100, maxUncompressedBytes: 1e9 })).toBe('zip_too_many_entries');
  });

  it('refuses encryption and compression methods other than store and deflate', () => {
    expect(rejection([record('e', { generalPurposeBitFlag: 1 })])).toBe('zip_encrypted');
    expect(rejection([record('bz', { compressionMethod: 12 })])).toBe('zip_unsupported_compression');
  });
});
