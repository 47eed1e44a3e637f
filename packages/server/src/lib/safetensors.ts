import fs from 'node:fs';
import { nativeHeaderAddon, NativeStatus, type NativeHeaderAddon } from './native-header-reader.ts';

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

/** The reference reader's limit (decimal 100 MB). */
export const MAX_HEADER_SIZE = 100_000_000;

export type SafetensorsErrorCode =
  | 'header_too_small'
  | 'header_too_large'
  | 'invalid_header_length'
  | 'invalid_header'
  | 'invalid_header_json'
  | 'invalid_offset'
  | 'validation_overflow'
  | 'misaligned_slice'
  | 'tensor_invalid_info'
  | 'metadata_incomplete_buffer'
  | 'io_error';

export class SafetensorsError extends Error {
  constructor(
    readonly code: SafetensorsErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SafetensorsError';
  }
}

export interface TensorInfo {
  name: string;
  dtype: string;
  shape: number[];
  /** Offsets into the data buffer (which starts at `dataOffset` in the file), end exclusive. */
  begin: number;
  end: number;
}

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

/** Bits per element. Unknown dtypes are kept as they are and skip the size check (the list keeps growing). */
export const DTYPE_BITS: Readonly<Record<string, number>> = {
  BOOL: 8,
  F4: 4,
  F6_E2M3: 6,
  F6_E3M2: 6,
  U8: 8,
  I8: 8,
  F8_E5M2: 8,
  F8_E4M3: 8,
  F8_E8M0: 8,
  F8_E4M3FNUZ: 8,
  F8_E5M2FNUZ: 8,
  I16: 16,
  U16: 16,
  F16: 16,
  BF16: 16,
  I32: 32,
  U32: 32,
  F32: 32,
  C64: 64,
  F64: 64,
  I64: 64,
  U64: 64,
};

export interface ReadOptions {
  /** Refuse headers longer than this; at most MAX_HEADER_SIZE. */
  maxHeaderSize?: number;
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

const DTYPES = Object.keys(DTYPE_BITS);
/** Scratch space of the duplicate check, reused from header to header (one parse runs at a time per thread). */
let slots = new Int32Array(8192);
let used = new Uint8Array(8192);
const DTYPE_CODES = new Map(DTYPES.map((d, i) => [d, i]));
const UNKNOWN_DTYPE = 255;
const MAX_DIMS_INLINE = 4;
const U64_RANGE = 2 ** 64;
/** Bytes per row across every column (Float64 columns first so each view stays aligned). */
const ROW_BYTES = 8 * 3 + 8 * MAX_DIMS_INLINE + 4 * 3 + 3;

/**
 * The tensors of one header as columns (names stay as byte ranges of the header until asked for), so a header with
 * thousands of entries costs a few typed arrays instead of thousands of objects.
 */
export class TensorTable {
  count = 0;
  nameStart: Int32Array;
  nameEnd: Int32Array;
  /** 1 when the name has escapes or non-ASCII bytes and must be decoded, not sliced. */
  nameEscaped: Uint8Array;
  nameHash: Int32Array;
  dtypeCode: Uint8Array;
  begin: Float64Array;
  end: Float64Array;
  ndim: Uint8Array;
  /** The first four dimensions of each tensor; longer shapes keep the rest in `extraDims`. */
  dims: Float64Array;
  elements: Float64Array;
  /** Order of the tensors by data offset (filled by validate). */
  order: Uint32Array = new Uint32Array(0);
  private readonly extraDims = new Map<number, number[]>();
  private readonly otherDtypes = new Map<number, string>();
  private readonly decodedNames = new Map<number, string>();

  /** The one allocation behind every column (a HeaderReader hands it to the next table). */
  storage: ArrayBuffer;

  constructor(
    /** The header bytes the names are ranges of. */
    readonly header: Uint8Array,
    capacity: number,
    storage: ArrayBuffer | null = null,
  ) {
    // All columns are views of one allocation: one typed-array allocation per header instead of ten. Every column of
    // a row is written when the row is parsed, so reused storage needs no clearing.
    let rows = Math.max(16, capacity);
    if (storage && storage.byteLength >= rows * ROW_BYTES) rows = Math.floor(storage.byteLength / ROW_BYTES);
    const buffer = storage && storage.byteLength >= rows * ROW_BYTES ? storage : new ArrayBuffer(rows * ROW_BYTES);
    this.storage = buffer;
    let at = 0;
    const take = <T>(make: (buffer: ArrayBuffer, offset: number, length: number) => T, length: number, width: number): T => {
      const view = make(buffer, at, length);
      at += length * width;
      return view;
    };
    this.begin = take((b, o, n) => new Float64Array(b, o, n), rows, 8);
    this.end = take((b, o, n) => new Float64Array(b, o, n), rows, 8);
    this.elements = take((b, o, n) => new Float64Array(b, o, n), rows, 8);
    this.dims = take((b, o, n) => new Float64Array(b, o, n), rows * MAX_DIMS_INLINE, 8);
    this.nameStart = take((b, o, n) => new Int32Array(b, o, n), rows, 4);
    this.nameEnd = take((b, o, n) => new Int32Array(b, o, n), rows, 4);
    this.nameHash = take((b, o, n) => new Int32Array(b, o, n), rows, 4);
    this.nameEscaped = take((b, o, n) => new Uint8Array(b, o, n), rows, 1);
    this.dtypeCode = take((b, o, n) => new Uint8Array(b, o, n), rows, 1);
    this.ndim = take((b, o, n) => new Uint8Array(b, o, n), rows, 1);
  }

  /** Start a new row; returns its index. */
  add(): number {
    if (this.count === this.nameStart.length) this.grow();
    return this.count++;
  }

  private grow(): void {
    const bigger = new TensorTable(this.header, this.nameStart.length * 2);
    this.storage = bigger.storage;
    bigger.begin.set(this.begin);
    bigger.end.set(this.end);
    bigger.elements.set(this.elements);
    bigger.dims.set(this.dims);
    bigger.nameStart.set(this.nameStart);
    bigger.nameEnd.set(this.nameEnd);
    bigger.nameHash.set(this.nameHash);
    bigger.nameEscaped.set(this.nameEscaped);
    bigger.dtypeCode.set(this.dtypeCode);
    bigger.ndim.set(this.ndim);
    this.begin = bigger.begin;
    this.end = bigger.end;
    this.elements = bigger.elements;
    this.dims = bigger.dims;
    this.nameStart = bigger.nameStart;
    this.nameEnd = bigger.nameEnd;
    this.nameHash = bigger.nameHash;
    this.nameEscaped = bigger.nameEscaped;
    this.dtypeCode = bigger.dtypeCode;
    this.ndim = bigger.ndim;
  }

  setDecodedName(i: number, name: string): void {
    this.decodedNames.set(i, name);
  }

  setOtherDtype(i: number, dtype: string): void {
    this.dtypeCode[i] = UNKNOWN_DTYPE;
    this.otherDtypes.set(i, dtype);
  }

  setExtraDims(i: number, dims: number[]): void {
    this.extraDims.set(i, dims);
  }

  /** The tensor's name; with `dropSuffix`, without its last that many characters. */
  name(i: number, dropSuffix = 0): string {
    if (this.nameEscaped[i]) {
      const full = this.decodedNames.get(i)!;
      return dropSuffix ? full.slice(0, full.length - dropSuffix) : full;
    }
    return (this.header as LatinSliceable).latin1Slice(this.nameStart[i], this.nameEnd[i] - dropSuffix);
  }

  /** Does the name end with these ASCII bytes (ignoring its last `drop` bytes)? Answers without building the string. */
  nameEndsWith(i: number, suffix: Uint8Array, drop = 0): boolean {
    if (this.nameEscaped[i]) {
      const name = this.name(i);
      return name.slice(0, name.length - drop).endsWith(Buffer.from(suffix).toString('latin1'));
    }
    const end = this.nameEnd[i] - drop;
    const start = end - suffix.length;
    if (start < this.nameStart[i]) return false;
    const h = this.header;
    for (let k = suffix.length - 1; k >= 0; k--) if (h[start + k] !== suffix[k]) return false;
    return true;
  }

  /** Do the name's bytes at `at` equal `pattern`? */
  nameHasAt(i: number, at: number, pattern: Uint8Array): boolean {
    if (this.nameEscaped[i]) return this.name(i).startsWith(Buffer.from(pattern).toString('latin1'), at);
    const start = this.nameStart[i] + at;
    if (start + pattern.length > this.nameEnd[i]) return false;
    const h = this.header;
    for (let k = 0; k < pattern.length; k++) if (h[start + k] !== pattern[k]) return false;
    return true;
  }

  /** The decimal number at byte `at` of the name, or -1. */
  nameNumberAt(i: number, at: number): number {
    if (this.nameEscaped[i]) {
      const m = /^\d+/.exec(this.name(i).slice(at));
      return m ? Number(m[0]) : -1;
    }
    const h = this.header;
    let k = this.nameStart[i] + at;
    const end = this.nameEnd[i];
    let n = -1;
    for (; k < end && h[k] >= 0x30 && h[k] <= 0x39; k++) n = (n < 0 ? 0 : n * 10) + (h[k] - 0x30);
    return n;
  }

  /** The name's last dot-separated part, or its last two when the last is `weight` or `bias` (`lora_down.weight`). */
  nameTail(i: number): string {
    if (this.nameEscaped[i]) {
      const parts = this.name(i).split('.');
      const last = parts.at(-1)!;
      return (last === 'weight' || last === 'bias') && parts.length > 1 ? `${parts.at(-2)}.${last}` : last;
    }
    const h = this.header;
    const start = this.nameStart[i];
    let k = this.nameEnd[i] - 1;
    while (k >= start && h[k] !== 0x2e) k--;
    const last = k + 1;
    // "weight" or "bias": include the part before.
    const len = this.nameEnd[i] - last;
    if (k > start && ((len === 6 && h[last] === 0x77 && h[last + 5] === 0x74) || (len === 4 && h[last] === 0x62 && h[last + 3] === 0x73))) {
      k--;
      while (k >= start && h[k] !== 0x2e) k--;
    }
    return (this.header as LatinSliceable).latin1Slice(k + 1, this.nameEnd[i]);
  }

  dtype(i: number): string {
    const code = this.dtypeCode[i];
    return code === UNKNOWN_DTYPE ? this.otherDtypes.get(i)! : DTYPES[code];
  }

  dim(i: number, d: number): number {
    if (d >= this.ndim[i]) return NaN;
    if (d < MAX_DIMS_INLINE) return this.dims[i * MAX_DIMS_INLINE + d];
    return this.extraDims.get(i)![d - MAX_DIMS_INLINE];
  }

  shape(i: number): number[] {
    const out: number[] = [];
    for (let d = 0; d < this.ndim[i]; d++) out.push(this.dim(i, d));
    return out;
  }

  info(i: number): TensorInfo {
    return { name: this.name(i), dtype: this.dtype(i), shape: this.shape(i), begin: this.begin[i], end: this.end[i] };
  }

  /** Tensors as objects in data order. */
  toArray(): TensorInfo[] {
    return Array.from(this.order, (i) => this.info(i));
  }

  /** JSON.parse would keep the last of two equal keys; the format forbids them, so the file is refused. */
  checkDuplicates(): void {
    const n = this.count;
    if (n < 2) return;
    // An open-addressing set of the name hashes finds out in one pass whether any two are equal at all; only then
    // are names compared.
    const size = 1 << Math.ceil(Math.log2(n * 2));
    if (slots.length < size) {
      slots = new Int32Array(size);
      used = new Uint8Array(size);
    } else {
      used.fill(0, 0, size);
    }
    const mask = size - 1;
    const hashes = this.nameHash;
    let collision = false;
    for (let i = 0; i < n && !collision; i++) {
      const h = hashes[i];
      let k = (h ^ (h >>> 15)) & mask;
      while (used[k]) {
        if (slots[k] === h) {
          collision = true;
          break;
        }
        k = (k + 1) & mask;
      }
      used[k] = 1;
      slots[k] = h;
    }
    if (!collision) return;
    const seen = new Map<number, string[]>();
    for (let i = 0; i < n; i++) {
      const name = this.name(i);
      const bucket = seen.get(hashes[i]);
      if (bucket?.includes(name)) throw new SafetensorsError('invalid_header_json', `duplicate tensor "${name}"`);
      if (bucket) bucket.push(name);
      else seen.set(hashes[i], [name]);
    }
  }

  /** The reference's Metadata::validate: contiguous offsets from 0, sizes that match shapes, exact file length. */
  validate(headerLength: number, fileSize: number): void {
    const n = this.count;
    const order = new Uint32Array(n);
    let sorted = true;
    for (let i = 0; i < n; i++) {
      order[i] = i;
      if (i > 0 && (this.begin[i] < this.begin[i - 1] || (this.begin[i] === this.begin[i - 1] && this.end[i] < this.end[i - 1]))) sorted = false;
    }
    if (!sorted) order.sort((a, b) => this.begin[a] - this.begin[b] || this.end[a] - this.end[b]);
    this.order = order;
    let start = 0;
    for (let k = 0; k < n; k++) {
      const i = order[k];
      const begin = this.begin[i];
      const end = this.end[i];
      if (begin !== start || end < begin) throw new SafetensorsError('invalid_offset', `tensor "${this.name(i)}" has invalid offsets [${begin}, ${end}]`);
      const count = this.elements[i];
      if (count < 0) throw new SafetensorsError('validation_overflow', `tensor "${this.name(i)}" has too many elements`);
      const code = this.dtypeCode[i];
      if (code !== UNKNOWN_DTYPE) {
        const total = count * DTYPE_BITS[DTYPES[code]];
        if (total > Number.MAX_SAFE_INTEGER) throw new SafetensorsError('validation_overflow', `tensor "${this.name(i)}" is too large`);
        if (total % 8 !== 0) throw new SafetensorsError('misaligned_slice', `tensor "${this.name(i)}" does not end on a byte boundary`);
        if (end - begin !== total / 8) {
          throw new SafetensorsError('tensor_invalid_info', `tensor "${this.name(i)}" spans ${end - begin} bytes, its shape and dtype need ${total / 8}`);
        }
      }
      start = end;
    }
    if (8 + headerLength + start !== fileSize) {
      throw new SafetensorsError(
        'metadata_incomplete_buffer',
        `header and tensors account for ${8 + headerLength + start} bytes but the file has ${fileSize}`,
      );
    }
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const MAX_DEPTH = 64;
/** 1 for bytes that may appear in a string as themselves and need no decoding: printable ASCII but `"` and `\`. */
const PLAIN = new Uint8Array(256);
for (let c = 0x20; c < 0x80; c++) PLAIN[c] = c === 0x22 || c === 0x5c ? 0 : 1;

// Byte values used by the parser.
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const ascii = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));
const DTYPE_FIELD = ascii('"dtype":');
const CODE_F16 = DTYPES.indexOf('F16');
const CODE_F32 = DTYPES.indexOf('F32');
const CODE_BF16 = DTYPES.indexOf('BF16');
const SHAPE_FIELD = ascii(',"shape":');
const OFFSETS_FIELD = ascii(',"data_offsets":');
const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;

/** Buffer#latin1Slice (what toString('latin1') calls, present since Node 6) skips toString's argument checks. */
type LatinSliceable = Uint8Array & { latin1Slice(start: number, end: number): string };

/** A strict JSON reader for `{name: {dtype, shape, data_offsets, …}, __metadata__?: {string: string}}`. */
class HeaderParser {
  private i = 0;
  private readonly b: Uint8Array;
  /** Set by `key()`: where the last plain key was, its hash, or its decoded text. */
  private keyStart = 0;
  private keyEnd = 0;
  private keyHash = 0;
  private keyDecoded: string | null = null;

  /** `header` is the table's header: names are byte ranges of it. */
  constructor(
    header: Buffer,
    readonly table: TensorTable,
  ) {
    this.b = header;
  }

  parse(): Record<string, string> | null {
    let metadata: Record<string, string> | null = null;
    let sawMetadata = false;
    this.ws();
    if (this.b[this.i] !== OPEN_BRACE) this.fail(this.i >= this.b.length ? 'header is empty' : 'header is not a JSON object');
    this.i++;
    this.ws();
    if (this.b[this.i] === CLOSE_BRACE) {
      this.i++;
    } else {
      for (;;) {
        if (this.compactEntry()) {
          // Taken whole by the fast path; continue with the separator.
        } else {
          this.entry();
          if (this.metadataSeen) {
            if (sawMetadata) this.fail('duplicate key "__metadata__"');
            sawMetadata = true;
            metadata = this.metadataValue;
            this.metadataSeen = false;
          }
        }
        this.ws();
        const c = this.b[this.i++];
        if (c === CLOSE_BRACE) break;
        if (c !== COMMA) this.fail('expected "," or "}"', this.i - 1);
        this.ws();
      }
    }
    this.ws();
    if (this.i !== this.b.length) this.fail('unexpected data after the header object');
    return metadata;
  }

  /** `__metadata__`'s value alone, found between `start` and `end` by the native reader. */
  metadataAt(start: number, end: number): Record<string, string> | null {
    this.i = start;
    const metadata = this.metadata();
    if (this.i !== end) this.fail('unexpected data after __metadata__');
    return metadata;
  }

  private metadataSeen = false;
  private metadataValue: Record<string, string> | null = null;

  /** One `"key": value` pair of the top-level object, any spelling. */
  private entry(): void {
    {
      {
        this.key();
        this.ws();
        this.expect(COLON);
        this.ws();
        if (this.keyIs('__metadata__')) {
          this.metadataSeen = true;
          this.metadataValue = this.metadata();
        } else {
          this.tensor();
        }
      }
    }
  }

  /**
   * The common case in one pass with local variables: `"name":{"dtype":"F16","shape":[a,b],"data_offsets":[x,y]}`
   * exactly as writers emit it (plain ASCII name; F16, BF16 or F32). Anything else — spaces, escapes, other dtypes,
   * extra fields, a number that is not a plain integer — returns false without consuming input, and the general
   * path reads the same bytes (and reports any error).
   */
  private compactEntry(): boolean {
    const b = this.b;
    let i = this.i;
    if (b[i] !== QUOTE) return false;
    const start = ++i;
    let h = FNV_OFFSET;
    let c = b[i];
    while (PLAIN[c] === 1) {
      h = Math.imul(h ^ c, FNV_PRIME);
      c = b[++i];
    }
    if (c !== QUOTE) return false;
    const end = i++;
    // `__metadata__` (12 bytes starting with "__") goes the general way.
    if (end - start === 12 && b[start] === 0x5f && b[start + 1] === 0x5f) return false;
    if (b[i] !== COLON || b[i + 1] !== OPEN_BRACE) return false;
    i += 2;
    for (let k = 0; k < DTYPE_FIELD.length; k++) if (b[i + k] !== DTYPE_FIELD[k]) return false;
    i += DTYPE_FIELD.length;
    // "F16" | "F32" | "BF16"
    let dtype: number;
    if (b[i] !== QUOTE) return false;
    if (b[i + 1] === 0x46 && b[i + 4] === QUOTE && b[i + 2] === 0x31 && b[i + 3] === 0x36) {
      dtype = CODE_F16;
      i += 5;
    } else if (b[i + 1] === 0x46 && b[i + 4] === QUOTE && b[i + 2] === 0x33 && b[i + 3] === 0x32) {
      dtype = CODE_F32;
      i += 5;
    } else if (b[i + 1] === 0x42 && b[i + 2] === 0x46 && b[i + 3] === 0x31 && b[i + 4] === 0x36 && b[i + 5] === QUOTE) {
      dtype = CODE_BF16;
      i += 6;
    } else {
      return false;
    }
    for (let k = 0; k < SHAPE_FIELD.length; k++) if (b[i + k] !== SHAPE_FIELD[k]) return false;
    i += SHAPE_FIELD.length;
    if (b[i] !== OPEN_BRACKET) return false;
    i++;
    const t = this.table;
    const row = t.count === t.nameStart.length ? -1 : t.count;
    if (row < 0) return false; // let the general path grow the table
    let ndim = 0;
    let count = 1;
    if (b[i] === CLOSE_BRACKET) {
      i++;
    } else {
      for (;;) {
        c = b[i];
        let n = 0;
        if (c === 0x30) {
          i++;
        } else if (c >= 0x31 && c <= 0x39) {
          while (c >= 0x30 && c <= 0x39) {
            n = n * 10 + (c - 0x30);
            c = b[++i];
          }
          if (n > Number.MAX_SAFE_INTEGER) return false;
        } else {
          return false;
        }
        c = b[i];
        if (c === 0x2e || c === 0x65 || c === 0x45 || (c >= 0x30 && c <= 0x39)) return false;
        if (ndim >= MAX_DIMS_INLINE) return false;
        t.dims[row * MAX_DIMS_INLINE + ndim] = n;
        ndim++;
        if (count >= 0) count = count * n >= U64_RANGE ? -1 : count * n;
        i++;
        if (c === CLOSE_BRACKET) break;
        if (c !== COMMA) return false;
      }
    }
    for (let k = 0; k < OFFSETS_FIELD.length; k++) if (b[i + k] !== OFFSETS_FIELD[k]) return false;
    i += OFFSETS_FIELD.length;
    if (b[i] !== OPEN_BRACKET) return false;
    i++;
    let first = 0;
    let second = 0;
    for (let k = 0; k < 2; k++) {
      c = b[i];
      let n = 0;
      if (c === 0x30) {
        i++;
      } else if (c >= 0x31 && c <= 0x39) {
        while (c >= 0x30 && c <= 0x39) {
          n = n * 10 + (c - 0x30);
          c = b[++i];
        }
        if (n > Number.MAX_SAFE_INTEGER) return false;
      } else {
        return false;
      }
      c = b[i];
      if (c !== (k === 0 ? COMMA : CLOSE_BRACKET)) return false;
      if (k === 0) first = n;
      else second = n;
      i++;
    }
    if (b[i] !== CLOSE_BRACE) return false;
    i++;
    t.count++;
    t.nameStart[row] = start;
    t.nameEnd[row] = end;
    t.nameHash[row] = h;
    t.nameEscaped[row] = 0;
    t.dtypeCode[row] = dtype;
    t.ndim[row] = ndim;
    t.elements[row] = count > Number.MAX_SAFE_INTEGER ? -1 : count;
    t.begin[row] = first;
    t.end[row] = second;
    this.i = i;
    return true;
  }

  /** Read an object key, recording where it is instead of building a string when it needs no decoding. */
  private key(): void {
    const b = this.b;
    if (b[this.i] !== QUOTE) this.fail('expected a string');
    const start = ++this.i;
    let i = start;
    let h = FNV_OFFSET;
    let c = b[i];
    while (PLAIN[c] === 1) {
      h = Math.imul(h ^ c, FNV_PRIME);
      c = b[++i];
    }
    if (c === QUOTE) {
      this.i = i + 1;
      this.keyStart = start;
      this.keyEnd = i;
      this.keyHash = h;
      this.keyDecoded = null;
      return;
    }
    this.i = start - 1;
    const decoded = this.string();
    h = FNV_OFFSET;
    for (let k = 0; k < decoded.length; k++) h = Math.imul(h ^ decoded.charCodeAt(k), FNV_PRIME);
    this.keyStart = start;
    this.keyEnd = this.i - 1;
    this.keyHash = h;
    this.keyDecoded = decoded;
  }

  /** Consume `pattern` if the bytes at the cursor are exactly it. */
  private match(pattern: Uint8Array): boolean {
    const b = this.b;
    const i = this.i;
    for (let k = 0; k < pattern.length; k++) if (b[i + k] !== pattern[k]) return false;
    this.i = i + pattern.length;
    return true;
  }

  private keyIs(word: string): boolean {
    if (this.keyDecoded !== null) return this.keyDecoded === word;
    if (this.keyEnd - this.keyStart !== word.length) return false;
    for (let k = 0; k < word.length; k++) if (this.b[this.keyStart + k] !== word.charCodeAt(k)) return false;
    return true;
  }

  private keyText(): string {
    return this.keyDecoded ?? (this.b as LatinSliceable).latin1Slice(this.keyStart, this.keyEnd);
  }

  private tensor(): void {
    const t = this.table;
    const row = t.add();
    t.nameStart[row] = this.keyStart;
    t.nameEnd[row] = this.keyEnd;
    t.nameHash[row] = this.keyHash;
    t.nameEscaped[row] = this.keyDecoded === null ? 0 : 1;
    if (this.keyDecoded !== null) t.setDecodedName(row, this.keyDecoded);
    this.expect(OPEN_BRACE);
    let seen = 0; // bit 1 dtype, 2 shape, 4 data_offsets
    // Writers emit `"dtype":…,"shape":[…],"data_offsets":[…]` without spaces: take that shape directly, and fall
    // back to the general field loop at the first byte that differs.
    if (this.match(DTYPE_FIELD)) {
      this.ws();
      this.dtype(row);
      seen = 1;
      if (this.match(SHAPE_FIELD)) {
        this.ws();
        this.shape(row);
        seen = 3;
        if (this.match(OFFSETS_FIELD)) {
          this.ws();
          this.offsets(row);
          seen = 7;
          if (this.b[this.i] === CLOSE_BRACE) {
            this.i++;
            return;
          }
        }
      }
    }
    if (seen === 0) {
      this.ws();
      if (this.b[this.i] === CLOSE_BRACE) this.fail(`tensor "${t.name(row)}" has no dtype`);
    } else {
      // A value was just read: what follows is "," or "}".
      this.ws();
      const c = this.b[this.i++];
      if (c !== COMMA && c !== CLOSE_BRACE) this.fail('expected "," or "}"', this.i - 1);
      if (c === CLOSE_BRACE) {
        if (seen !== 7) this.fail(`tensor "${t.name(row)}" lacks ${!(seen & 2) ? 'shape' : 'data_offsets'}`);
        return;
      }
      this.ws();
    }
    for (;;) {
      this.key();
      this.ws();
      this.expect(COLON);
      this.ws();
      if (this.keyIs('dtype')) {
        if (seen & 1) this.fail(`tensor "${t.name(row)}" repeats dtype`);
        seen |= 1;
        this.dtype(row);
      } else if (this.keyIs('shape')) {
        if (seen & 2) this.fail(`tensor "${t.name(row)}" repeats shape`);
        seen |= 2;
        this.shape(row);
      } else if (this.keyIs('data_offsets')) {
        if (seen & 4) this.fail(`tensor "${t.name(row)}" repeats data_offsets`);
        seen |= 4;
        this.offsets(row);
      } else {
        this.skipValue(1);
      }
      this.ws();
      const c = this.b[this.i++];
      if (c === CLOSE_BRACE) break;
      if (c !== COMMA) this.fail('expected "," or "}"', this.i - 1);
      this.ws();
    }
    if (seen !== 7) this.fail(`tensor "${t.name(row)}" lacks ${!(seen & 1) ? 'dtype' : !(seen & 2) ? 'shape' : 'data_offsets'}`);
  }

  private dtype(row: number): void {
    const b = this.b;
    const i = this.i;
    // F16, BF16 and F32 cover nearly every LoRA: match their bytes before building a string.
    if (b[i] === QUOTE && b[i + 1] === 0x46 && b[i + 4] === QUOTE) {
      if (b[i + 2] === 0x31 && b[i + 3] === 0x36) {
        this.table.dtypeCode[row] = DTYPE_CODES.get('F16')!;
        this.i += 5;
        return;
      }
      if (b[i + 2] === 0x33 && b[i + 3] === 0x32) {
        this.table.dtypeCode[row] = DTYPE_CODES.get('F32')!;
        this.i += 5;
        return;
      }
    }
    const dtype = this.string();
    const code = DTYPE_CODES.get(dtype);
    if (code === undefined) this.table.setOtherDtype(row, dtype);
    else this.table.dtypeCode[row] = code;
  }

  private shape(row: number): void {
    const t = this.table;
    this.expect(OPEN_BRACKET);
    this.ws();
    let n = 0;
    let count = 1;
    let extra: number[] | null = null;
    if (this.b[this.i] === CLOSE_BRACKET) {
      this.i++;
    } else {
      for (;;) {
        const d = this.uint();
        if (n < MAX_DIMS_INLINE) t.dims[row * MAX_DIMS_INLINE + n] = d;
        else (extra ??= []).push(d);
        n++;
        if (n > 255) this.fail('shape has too many dimensions');
        // The reference multiplies with overflow checks in 64 bits; a zero dimension makes any product legal.
        if (count >= 0) count = count * d >= U64_RANGE ? -1 : count * d;
        this.ws();
        const c = this.b[this.i++];
        if (c === CLOSE_BRACKET) break;
        if (c !== COMMA) this.fail('expected "," or "]"', this.i - 1);
        this.ws();
      }
    }
    t.ndim[row] = n;
    t.elements[row] = count > Number.MAX_SAFE_INTEGER ? -1 : count;
    if (extra) t.setExtraDims(row, extra);
  }

  private offsets(row: number): void {
    this.expect(OPEN_BRACKET);
    this.ws();
    if (this.b[this.i] === CLOSE_BRACKET) this.badOffsets(row);
    this.table.begin[row] = this.uint();
    this.ws();
    if (this.b[this.i] !== COMMA) this.badOffsets(row);
    this.i++;
    this.ws();
    this.table.end[row] = this.uint();
    this.ws();
    if (this.b[this.i] !== CLOSE_BRACKET) this.badOffsets(row);
    this.i++;
  }

  private badOffsets(row: number): never {
    return this.fail(`tensor "${this.table.name(row)}" data_offsets must be [begin, end]`);
  }

  private metadata(): Record<string, string> | null {
    if (this.literal('null')) return null;
    this.expect(OPEN_BRACE);
    const out: Record<string, string> = Object.create(null);
    this.ws();
    if (this.b[this.i] === CLOSE_BRACE) {
      this.i++;
      return out;
    }
    for (;;) {
      this.key();
      const key = this.keyText();
      this.ws();
      this.expect(COLON);
      this.ws();
      if (this.b[this.i] !== QUOTE) this.fail(`__metadata__ value of "${key}" is not a string`);
      if (Object.prototype.hasOwnProperty.call(out, key)) this.fail(`duplicate __metadata__ key "${key}"`);
      out[key] = this.string();
      this.ws();
      const c = this.b[this.i++];
      if (c === CLOSE_BRACE) return out;
      if (c !== COMMA) this.fail('expected "," or "}"', this.i - 1);
      this.ws();
    }
  }

  /** A JSON string. The common case (ASCII, no escapes) is sliced straight out of the buffer. */
  private string(): string {
    const b = this.b;
    if (b[this.i] !== QUOTE) this.fail('expected a string');
    const start = ++this.i;
    let i = start;
    // One table lookup per byte for the usual run of plain characters.
    while (PLAIN[b[i]] === 1) i++;
    if (b[i] === QUOTE) {
      this.i = i + 1;
      return (b as LatinSliceable).latin1Slice(start, i);
    }
    for (;;) {
      const c = b[i];
      if (c === QUOTE) break;
      if (c === undefined) this.fail('unterminated string', start - 1);
      if (c < 0x20) this.fail('control character in a string', i);
      i += c === BACKSLASH ? 2 : 1;
    }
    this.i = i + 1;
    return this.decodeString(start, i);
  }

  /** Strings with escapes or non-ASCII bytes: check UTF-8, then let JSON.parse apply the escape rules. */
  private decodeString(start: number, end: number): string {
    let text: string;
    try {
      text = utf8.decode(this.b.subarray(start - 1, end + 1));
    } catch {
      throw new SafetensorsError('invalid_header', 'header is not valid UTF-8');
    }
    try {
      return JSON.parse(text) as string;
    } catch {
      return this.fail('invalid escape in a string', start - 1);
    }
  }

  /** A non-negative integer as serde reads a u64/usize: no sign, fraction or exponent; beyond 2^53 is refused. */
  private uint(): number {
    const b = this.b;
    const start = this.i;
    let c = b[this.i];
    let n = 0;
    if (c === 0x30) {
      this.i++;
    } else if (c !== undefined && c >= 0x31 && c <= 0x39) {
      while (c !== undefined && c >= 0x30 && c <= 0x39) {
        n = n * 10 + (c - 0x30);
        c = b[++this.i];
      }
      if (n > Number.MAX_SAFE_INTEGER) this.fail('integer too large', start);
    } else {
      this.fail('expected a non-negative integer', start);
    }
    c = this.b[this.i];
    if (c === 0x2e || c === 0x65 || c === 0x45 || (c !== undefined && c >= 0x30 && c <= 0x39)) {
      this.fail('expected a non-negative integer', start);
    }
    return n;
  }

  /** Skip any JSON value (unknown fields inside a tensor entry are ignored, as serde does). */
  private skipValue(depth: number): void {
    if (depth > MAX_DEPTH) this.fail('nesting too deep');
    const c = this.b[this.i];
    if (c === QUOTE) {
      this.string();
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      const close = c === OPEN_BRACE ? CLOSE_BRACE : CLOSE_BRACKET;
      this.i++;
      this.ws();
      if (this.b[this.i] === close) {
        this.i++;
        return;
      }
      for (;;) {
        if (c === OPEN_BRACE) {
          this.string();
          this.ws();
          this.expect(COLON);
          this.ws();
        }
        this.skipValue(depth + 1);
        this.ws();
        const d = this.b[this.i++];
        if (d === close) return;
        if (d !== COMMA) this.fail('expected "," or a closing bracket', this.i - 1);
        this.ws();
      }
    } else if (!this.literal('true') && !this.literal('false') && !this.literal('null')) {
      this.skipNumber();
    }
  }

  private skipNumber(): void {
    const b = this.b;
    const start = this.i;
    const digits = () => {
      const from = this.i;
      while (b[this.i] >= 0x30 && b[this.i] <= 0x39) this.i++;
      if (this.i === from) this.fail('invalid number', start);
    };
    if (b[this.i] === 0x2d) this.i++;
    if (b[this.i] === 0x30) this.i++;
    else digits();
    if (b[this.i] === 0x2e) {
      this.i++;
      digits();
    }
    if (b[this.i] === 0x65 || b[this.i] === 0x45) {
      this.i++;
      if (b[this.i] === 0x2b || b[this.i] === 0x2d) this.i++;
      digits();
    }
  }

  private literal(word: string): boolean {
    for (let k = 0; k < word.length; k++) if (this.b[this.i + k] !== word.charCodeAt(k)) return false;
    this.i += word.length;
    return true;
  }

  private ws(): void {
    const b = this.b;
    let c = b[this.i];
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++this.i];
  }

  private expect(byte: number): void {
    if (this.b[this.i] !== byte) this.fail(`expected "${String.fromCharCode(byte)}"`);
    this.i++;
  }

  private fail(message: string, at: number = this.i): never {
    throw new SafetensorsError('invalid_header_json', `${message} at header byte ${at}`);
  }
}
