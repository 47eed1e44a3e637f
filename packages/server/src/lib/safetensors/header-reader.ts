import fs from 'node:fs';
import { nativeHeaderAddon, NativeStatus, type NativeHeaderAddon } from '../native-header-reader.ts';
import { DTYPE_BITS, MAX_HEADER_SIZE, SafetensorsError, type ReadOptions, type TensorInfo } from './format.ts';
import { HeaderParser } from './header-parser.ts';
import { DTYPES, ROW_BYTES, TensorTable } from './tensor-table.ts';
/**
 * A reader for the safetensors header that never touches tensor data. It applies the reference implementation's
 * checks (huggingface/safetensors `SafeTensors::read_metadata` + `Metadata::validate`) in the same order and
 * survives any byte string: every input ends in a header or a SafetensorsError with a stable code.
 *
 * The header JSON is read by a strict parser made for this grammar instead of JSON.parse: a LoRA header is
 * thousands of small tensor entries, and building them straight from the bytes is several times faster than
 * JSON.parse + a walk (it is what keeps a first scan of 10,000 files inside its budget). It accepts exactly the
 * JSON that JSON.parse accepts for this shape, and additionally refuses duplicate keys.
 */

export interface SafetensorsHeader {
  /** N: the length of the JSON header in bytes. */
  headerLength: number;
  /** 8 + N: where the data buffer starts in the file. */
  dataOffset: number;
  fileSize: number;
  /** `__metadata__`, or null when the file has none. */
  metadata: Record<string, string> | null;
  /** Every tensor, compactly, in data order. */
  table: TensorTable;
  /** The same tensors as objects (built on first use). */
  readonly tensors: TensorInfo[];
}

/** Read and validate the header of the file at `path`: 8 bytes, then N bytes, never the data. */
export function readSafetensorsHeader(path: string, options: ReadOptions = {}): SafetensorsHeader & { raw: Buffer } {
  return readHeader(path, options, (n) => Buffer.allocUnsafe(n), null);
}

/**
 * Reads header after header into the same buffers, for a scan that reads thousands in a row: each result is valid
 * only until the next `read` (its table and raw bytes are overwritten), which saves the allocations and the garbage
 * collection that would otherwise cost as much as the parsing. Where the native reader is built it reads the header
 * and fills the table; anything it does not take whole is read again here by the JavaScript reader, which decides.
 */
export class HeaderReader {
  private raw = Buffer.allocUnsafe(1 << 20);
  private storage: ArrayBuffer | null = null;
  private order = new Uint32Array(0);
  private readonly out = new Float64Array(5);
  private readonly native = configuredNativeAddon();
  /** Headers taken whole by the native reader, and those the JavaScript reader read (errors included). */
  readonly counts = { native: 0, javascript: 0 };

  read(path: string, options: ReadOptions = {}): SafetensorsHeader & { raw: Buffer } {
    const header = this.native && this.readNative(this.native, path, options);
    if (header) {
      this.counts.native++;
      return header;
    }
    this.counts.javascript++;
    return this.readJs(path, options);
  }

  private readJs(path: string, options: ReadOptions): SafetensorsHeader & { raw: Buffer } {
    const header = readHeader(
      path,
      options,
      (n) => {
        if (this.raw.length < n) this.raw = Buffer.allocUnsafe(Math.max(n, this.raw.length * 2));
        return this.raw.subarray(0, n);
      },
      this.storage,
    );
    this.storage = header.table.storage;
    return header;
  }

  /** The native fast path, or null when the JavaScript reader must decide. */
  private readNative(native: NativeHeaderAddon, path: string, options: ReadOptions): (SafetensorsHeader & { raw: Buffer }) | null {
    const out = this.out;
    for (let attempt = 0; attempt < 2; attempt++) {
      const table = new TensorTable(this.raw, 16, this.storage);
      this.storage = table.storage;
      const rows = table.nameStart.length;
      if (this.order.length < rows) this.order = new Uint32Array(rows);
      const status = native.read(
        path,
        this.raw,
        headerLimit(options),
        out,
        table.begin,
        table.end,
        table.elements,
        table.dims,
        table.nameStart,
        table.nameEnd,
        table.nameHash,
        table.nameEscaped,
        table.dtypeCode,
        table.ndim,
        this.order,
      );
      if (status === NativeStatus.grow) {
        // Beyond anything a LoRA or checkpoint needs: not worth keeping buffers that size around for the scan.
        if (out[0] > NATIVE_MAX_HEADER) return null;
        this.makeRoom(out[0]);
        continue;
      }
      if (status !== NativeStatus.ok) return null;
      const headerLength = out[0];
      table.count = out[2];
      table.order = this.order.subarray(0, table.count);
      const raw = this.raw.subarray(0, headerLength);
      let metadata: Record<string, string> | null = null;
      if (out[3] >= 0) {
        try {
          metadata = new HeaderParser(raw, table).metadataAt(out[3], out[4]);
        } catch {
          return null; // the JavaScript reader reports it, with the same message as always
        }
      }
      return Object.assign(headerResult(table, headerLength, out[1], metadata), { raw });
    }
    return null;
  }

  /** Buffers for a header of `headerLength` bytes: every tensor entry takes at least 48 of them. */
  private makeRoom(headerLength: number): void {
    if (this.raw.length < headerLength) this.raw = Buffer.allocUnsafe(Math.max(headerLength, this.raw.length * 2));
    const rows = Math.floor(headerLength / 48) + 2;
    if (!this.storage || this.storage.byteLength < rows * ROW_BYTES) this.storage = new ArrayBuffer(Math.max(rows, 1024) * ROW_BYTES);
  }
}

const NATIVE_MAX_HEADER = 16 * 2 ** 20;

/** The native addon with this file's dtype table, or null. */
function configuredNativeAddon(): NativeHeaderAddon | null {
  const addon = nativeHeaderAddon();
  addon?.configure(DTYPES, DTYPES.map((d) => DTYPE_BITS[d]));
  return addon;
}

function readHeader(
  path: string,
  options: ReadOptions,
  allocate: (n: number) => Buffer,
  storage: ArrayBuffer | null,
): SafetensorsHeader & { raw: Buffer } {
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch (error) {
    throw new SafetensorsError('io_error', `cannot open: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  try {
    const fileSize = fs.fstatSync(fd).size;
    const prefix = Buffer.alloc(8);
    const got = readFully(fd, prefix, 0);
    const headerLength = checkPrefix(prefix.subarray(0, got), fileSize, options);
    const raw = allocate(headerLength);
    if (readFully(fd, raw, 8) !== headerLength) throw new SafetensorsError('invalid_header_length', 'file ended inside the header');
    // Not a spread: that would call the lazy `tensors` getter.
    return Object.assign(parseHeaderBytes(raw, fileSize, storage), { raw });
  } finally {
    fs.closeSync(fd);
  }
}

/** Validate a whole file held in memory (tests, fuzzing, uploads). */
export function parseSafetensors(bytes: Uint8Array, options: ReadOptions = {}): SafetensorsHeader {
  const headerLength = checkPrefix(bytes.subarray(0, 8), bytes.length, options);
  return parseHeaderBytes(bytes.subarray(8, 8 + headerLength), bytes.length);
}

function readFully(fd: number, buffer: Buffer, position: number): number {
  let done = 0;
  try {
    while (done < buffer.length) {
      const n = fs.readSync(fd, buffer, done, buffer.length - done, position + done);
      if (n === 0) break;
      done += n;
    }
  } catch (error) {
    throw new SafetensorsError('io_error', `cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return done;
}

/** Steps 1–3 of the reference: the 8-byte little-endian length, its limit, and that the header fits the file. */
function checkPrefix(prefix: Uint8Array, fileSize: number, options: ReadOptions): number {
  if (prefix.length < 8) throw new SafetensorsError('header_too_small', `file is ${fileSize} bytes, shorter than the 8-byte header length`);
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  const limit = headerLimit(options);
  if (n > BigInt(limit)) throw new SafetensorsError('header_too_large', `header length ${n} exceeds the limit of ${limit} bytes`);
  const headerLength = Number(n);
  if (8 + headerLength > fileSize) {
    throw new SafetensorsError('invalid_header_length', `header length ${headerLength} runs past the end of the ${fileSize}-byte file`);
  }
  return headerLength;
}

function headerLimit(options: ReadOptions): number {
  return Math.min(options.maxHeaderSize ?? MAX_HEADER_SIZE, MAX_HEADER_SIZE);
}

/** Steps 4–6: parse the JSON header, then validate offsets against the shapes and the file length. */
export function parseHeaderBytes(header: Uint8Array, fileSize: number, storage: ArrayBuffer | null = null): SafetensorsHeader {
  const bytes = Buffer.from(header.buffer, header.byteOffset, header.length);
  const table = new TensorTable(bytes, Math.max(16, Math.ceil(header.length / 110)), storage);
  const metadata = new HeaderParser(bytes, table).parse();
  table.checkDuplicates();
  table.validate(header.length, fileSize);
  return headerResult(table, header.length, fileSize, metadata);
}

function headerResult(table: TensorTable, headerLength: number, fileSize: number, metadata: Record<string, string> | null): SafetensorsHeader {
  let tensors: TensorInfo[] | undefined;
  return {
    headerLength,
    dataOffset: 8 + headerLength,
    fileSize,
    metadata,
    table,
    get tensors() {
      tensors ??= table.toArray();
      return tensors;
    },
  };
}
