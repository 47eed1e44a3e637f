import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs/promises';

/**
 * File hashes the SD ecosystem uses (reference/file-formats-and-apis.md §2.4), computed in one streamed pass:
 * - SHA-256 of the whole file (CivitAI `SHA256`); AutoV2 is its first 10 hex characters;
 * - AutoV1 / "legacy" / `sshs_legacy_hash`: SHA-256 of the 64 KiB at offset 1 MiB, first 8 hex characters;
 * - the tensor-data ("addnet") hash: SHA-256 of everything after the header; AutoV3 is its first 12 characters.
 * Node's SHA-256 is OpenSSL's; reads are double-buffered so the disk and the hash work at the same time.
 */
export interface FileHashes {
  sha256: string;
  autov1: string;
  autov2: string;
  /** Present when a data offset was given. */
  dataHash: string | null;
  size: number;
}

export interface HashOptions {
  /** Where the tensor data starts (8 + header length); also computes the tensor-data hash. */
  dataOffset?: number | null;
  signal?: AbortSignal;
  /** Called after each chunk with bytes hashed so far. */
  onProgress?: (done: number, total: number) => void;
  chunkSize?: number;
}

const LEGACY_START = 0x100000;
const LEGACY_END = 0x110000;

export function autov2(sha256: string): string {
  return sha256.slice(0, 10);
}

export function autov3(dataHash: string): string {
  return dataHash.slice(0, 12);
}

export async function hashFile(file: string, options: HashOptions = {}): Promise<FileHashes> {
  const chunkSize = options.chunkSize ?? 4 * 1024 * 1024;
  const handle = await fs.open(file, 'r');
  try {
    const size = (await handle.stat()).size;
    const full = createHash('sha256');
    const legacy = createHash('sha256');
    const dataOffset = options.dataOffset ?? null;
    const data: Hash | null = dataOffset !== null ? createHash('sha256') : null;
    const buffers = [Buffer.allocUnsafe(chunkSize), Buffer.allocUnsafe(chunkSize)];
    let position = 0;
    let which = 0;
    let pending = size > 0 ? handle.read(buffers[0], 0, chunkSize, 0) : null;
    while (pending) {
      const { bytesRead } = await pending;
      if (bytesRead === 0) break;
      const chunk = buffers[which].subarray(0, bytesRead);
      const start = position;
      position += bytesRead;
      options.signal?.throwIfAborted();
      // Start the next read before hashing this chunk.
      which ^= 1;
      pending = position < size ? handle.read(buffers[which], 0, chunkSize, position) : null;
      full.update(chunk);
      sliceUpdate(legacy, chunk, start, LEGACY_START, LEGACY_END);
      if (data && dataOffset !== null) sliceUpdate(data, chunk, start, dataOffset, Number.MAX_SAFE_INTEGER);
      options.onProgress?.(position, size);
    }
    const sha256 = full.digest('hex');
    return { sha256, autov2: autov2(sha256), autov1: legacy.digest('hex').slice(0, 8), dataHash: data ? data.digest('hex') : null, size: position };
  } finally {
    await handle.close();
  }
}

/** Feed the part of `chunk` (which starts at file offset `start`) that falls in [from, to). */
function sliceUpdate(hash: Hash, chunk: Buffer, start: number, from: number, to: number): void {
  const a = Math.max(from, start);
  const b = Math.min(to, start + chunk.length);
  if (a < b) hash.update(chunk.subarray(a - start, b - start));
}
