import fs from 'node:fs/promises';
import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
import { isDirectoryName, ZipDirectoryChecker, type ZipLimits } from './zip-safety.ts';

export class NotAZipError extends Error {
  constructor(
    readonly code: 'not_a_zip' | 'archive_corrupt',
    message: string,
  ) {
    super(message);
    this.name = 'NotAZipError';
  }
}

export interface ZipEntryInfo {
  name: string;
  size: number;
  compressedSize: number;
  mtime: Date;
  raw: yauzl.Entry;
}

/** Local file header, empty archive, spanned archive: the ways a ZIP file can begin. */
const ZIP_MAGICS = ['504b0304', '504b0506', '504b0708'];

/** True when the file starts like a ZIP archive (cheap; `open` does the real check). */
export async function looksLikeZip(file: string): Promise<boolean> {
  const handle = await fs.open(file, 'r');
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await handle.read(head, 0, 4, 0);
    return bytesRead === 4 && ZIP_MAGICS.includes(head.toString('hex'));
  } finally {
    await handle.close();
  }
}

/**
 * A ZIP file opened for reading with its whole central directory checked first (names, links, duplicates, sizes,
 * ratios, count): construction fails before a single entry is extracted. Entries are then read in any order.
 * yauzl verifies while streaming that each entry inflates to exactly its declared size.
 */
export class ZipReader {
  private constructor(
    private readonly zip: yauzl.ZipFile,
    readonly entries: Map<string, ZipEntryInfo>,
    readonly totals: { entries: number; uncompressedBytes: number; compressedBytes: number },
  ) {}

  static async open(file: string, limits: ZipLimits): Promise<ZipReader> {
    if (!(await looksLikeZip(file))) throw new NotAZipError('not_a_zip', 'File is not a zip file');
    let zip: yauzl.ZipFile;
    try {
      // Names are decoded and validated by us (zip-safety.ts), so every unsafe name gets the same stable code.
      zip = await yauzl.openPromise(file, { lazyEntries: true, autoClose: false, decodeStrings: false, validateEntrySizes: true });
    } catch (error) {
      throw new NotAZipError('archive_corrupt', `The zip file cannot be read: ${(error as Error).message}`);
    }
    const checker = new ZipDirectoryChecker(limits);
    const entries = new Map<string, ZipEntryInfo>();
    try {
      for await (const entry of zip.eachEntry()) {
        const raw = entry as unknown as { fileNameRaw: Buffer; extraFields: Array<{ id: number; data: Buffer }> };
        const name = yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, raw.fileNameRaw, raw.extraFields, false);
        checker.add({
          name,
          versionMadeBy: entry.versionMadeBy,
          externalFileAttributes: entry.externalFileAttributes,
          generalPurposeBitFlag: entry.generalPurposeBitFlag,
          compressionMethod: entry.compressionMethod,
          compressedSize: entry.compressedSize,
          uncompressedSize: entry.uncompressedSize,
        });
        if (isDirectoryName(name)) continue;
        entries.set(name, { name, size: entry.uncompressedSize, compressedSize: entry.compressedSize, mtime: entry.getLastModDate(), raw: entry });
      }
      return new ZipReader(zip, entries, checker.finish());
    } catch (error) {
      zip.close();
      if (error instanceof Error && error.name === 'ZipRejectedError') throw error;
      throw new NotAZipError('archive_corrupt', `The zip file cannot be read: ${(error as Error).message}`);
    }
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  async stream(name: string): Promise<Readable> {
    const entry = this.entries.get(name);
    if (!entry) throw new Error(`no entry ${name}`);
    return this.zip.openReadStreamPromise(entry.raw);
  }

  /** A whole (small) entry in memory; refuses entries above `maxBytes`. */
  async buffer(name: string, maxBytes: number): Promise<Buffer> {
    const entry = this.entries.get(name);
    if (!entry) throw new Error(`no entry ${name}`);
    if (entry.size > maxBytes) throw new Error(`${name} is ${entry.size} bytes, more than the ${maxBytes} allowed`);
    const chunks: Buffer[] = [];
    for await (const chunk of await this.stream(name)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  close(): void {
    this.zip.close();
  }
}
