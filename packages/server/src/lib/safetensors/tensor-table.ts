import { DTYPE_BITS, SafetensorsError, type TensorInfo } from './format.ts';

/** Buffer#latin1Slice (what toString('latin1') calls, present since Node 6) skips toString's argument checks. */
export type LatinSliceable = Uint8Array & { latin1Slice(start: number, end: number): string };

export const DTYPES = Object.keys(DTYPE_BITS);
/** Scratch space of the duplicate check, reused from header to header (one parse runs at a time per thread). */
let slots = new Int32Array(8192);
let used = new Uint8Array(8192);
export const DTYPE_CODES = new Map(DTYPES.map((d, i) => [d, i]));
const UNKNOWN_DTYPE = 255;
export const MAX_DIMS_INLINE = 4;
export const U64_RANGE = 2 ** 64;
/** Bytes per row across every column (Float64 columns first so each view stays aligned). */
export const ROW_BYTES = 8 * 3 + 8 * MAX_DIMS_INLINE + 4 * 3 + 3;

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
