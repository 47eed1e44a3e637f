import fs from 'node:fs';

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
  /** In file order of their data (sorted by offsets). */
  tensors: TensorInfo[];
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
    const raw = Buffer.allocUnsafe(headerLength);
    if (readFully(fd, raw, 8) !== headerLength) throw new SafetensorsError('invalid_header_length', 'file ended inside the header');
    return { ...parseHeaderBytes(raw, fileSize), raw };
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
  const limit = Math.min(options.maxHeaderSize ?? MAX_HEADER_SIZE, MAX_HEADER_SIZE);
  if (n > BigInt(limit)) throw new SafetensorsError('header_too_large', `header length ${n} exceeds the limit of ${limit} bytes`);
  const headerLength = Number(n);
  if (8 + headerLength > fileSize) {
    throw new SafetensorsError('invalid_header_length', `header length ${headerLength} runs past the end of the ${fileSize}-byte file`);
  }
  return headerLength;
}

/** Steps 4–6: parse the JSON header, then validate offsets against the shapes and the file length. */
export function parseHeaderBytes(header: Uint8Array, fileSize: number): SafetensorsHeader {
  const parsed = new HeaderParser(header).parse();
  const tensors = validate(parsed.tensors, header.length, fileSize);
  return { headerLength: header.length, dataOffset: 8 + header.length, fileSize, metadata: parsed.metadata, tensors };
}

function validate(tensors: TensorInfo[], headerLength: number, fileSize: number): TensorInfo[] {
  tensors.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let start = 0;
  for (const t of tensors) {
    if (t.begin !== start || t.end < t.begin) throw new SafetensorsError('invalid_offset', `tensor "${t.name}" has invalid offsets [${t.begin}, ${t.end}]`);
    let count = 1;
    for (const d of t.shape) {
      count *= d;
      if (count > Number.MAX_SAFE_INTEGER) throw new SafetensorsError('validation_overflow', `tensor "${t.name}" has too many elements`);
    }
    const bits = DTYPE_BITS[t.dtype];
    if (bits !== undefined) {
      const total = count * bits;
      if (total > Number.MAX_SAFE_INTEGER) throw new SafetensorsError('validation_overflow', `tensor "${t.name}" is too large`);
      if (total % 8 !== 0) throw new SafetensorsError('misaligned_slice', `tensor "${t.name}" does not end on a byte boundary`);
      if (t.end - t.begin !== total / 8) {
        throw new SafetensorsError('tensor_invalid_info', `tensor "${t.name}" spans ${t.end - t.begin} bytes, its shape and dtype need ${total / 8}`);
      }
    }
    start = t.end;
  }
  if (8 + headerLength + start !== fileSize) {
    throw new SafetensorsError(
      'metadata_incomplete_buffer',
      `header and tensors account for ${8 + headerLength + start} bytes but the file has ${fileSize}`,
    );
  }
  return tensors;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const MAX_DEPTH = 64;
/** 1 for bytes that may appear in a string as themselves and need no decoding: printable ASCII but `"` and `\\`. */
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

/** Buffer#latin1Slice (what toString('latin1') calls, present since Node 6) skips toString's argument checks. */
type LatinSliceable = Buffer & { latin1Slice(start: number, end: number): string };

/** A strict JSON reader for `{name: {dtype, shape, data_offsets, …}, __metadata__?: {string: string}}`. */
class HeaderParser {
  private i = 0;
  private readonly buf: LatinSliceable;

  constructor(private readonly b: Uint8Array) {
    this.buf = Buffer.from(b.buffer, b.byteOffset, b.length) as LatinSliceable;
  }

  parse(): { metadata: Record<string, string> | null; tensors: TensorInfo[] } {
    const tensors: TensorInfo[] = [];
    const names = new Set<string>();
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
        const key = this.string();
        this.ws();
        this.expect(COLON);
        this.ws();
        if (key === '__metadata__') {
          if (sawMetadata) this.fail('duplicate key "__metadata__"');
          sawMetadata = true;
          metadata = this.metadata();
        } else {
          if (names.has(key)) this.fail(`duplicate tensor "${key}"`);
          names.add(key);
          tensors.push(this.tensor(key));
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
    return { metadata, tensors };
  }

  private tensor(name: string): TensorInfo {
    this.expect(OPEN_BRACE);
    this.ws();
    let dtype: string | undefined;
    let shape: number[] | undefined;
    let offsets: number[] | undefined;
    if (this.b[this.i] === CLOSE_BRACE) this.fail(`tensor "${name}" has no dtype`);
    for (;;) {
      const field = this.string();
      this.ws();
      this.expect(COLON);
      this.ws();
      if (field === 'dtype') {
        if (dtype !== undefined) this.fail(`tensor "${name}" repeats dtype`);
        dtype = this.string();
      } else if (field === 'shape') {
        if (shape !== undefined) this.fail(`tensor "${name}" repeats shape`);
        shape = this.uintArray();
      } else if (field === 'data_offsets') {
        if (offsets !== undefined) this.fail(`tensor "${name}" repeats data_offsets`);
        offsets = this.uintArray();
        if (offsets.length !== 2) this.fail(`tensor "${name}" data_offsets must be [begin, end]`);
      } else {
        this.skipValue(1);
      }
      this.ws();
      const c = this.b[this.i++];
      if (c === CLOSE_BRACE) break;
      if (c !== COMMA) this.fail('expected "," or "}"', this.i - 1);
      this.ws();
    }
    if (dtype === undefined || shape === undefined || offsets === undefined) {
      this.fail(`tensor "${name}" lacks ${dtype === undefined ? 'dtype' : shape === undefined ? 'shape' : 'data_offsets'}`);
    }
    return { name, dtype, shape, begin: offsets[0], end: offsets[1] };
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
      const key = this.string();
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
      return this.buf.latin1Slice(start, i);
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

  private uintArray(): number[] {
    this.expect(OPEN_BRACKET);
    this.ws();
    const out: number[] = [];
    if (this.b[this.i] === CLOSE_BRACKET) {
      this.i++;
      return out;
    }
    for (;;) {
      out.push(this.uint());
      this.ws();
      const c = this.b[this.i++];
      if (c === CLOSE_BRACKET) return out;
      if (c !== COMMA) this.fail('expected "," or "]"', this.i - 1);
      this.ws();
    }
  }

  /** A non-negative integer as serde reads a u64/usize: no sign, fraction or exponent; beyond 2^53 is refused. */
  private uint(): number {
    const b = this.b;
    const start = this.i;
    let c = b[this.i];
    if (c === 0x30) {
      this.i++;
    } else if (c !== undefined && c >= 0x31 && c <= 0x39) {
      let n = 0;
      while (c !== undefined && c >= 0x30 && c <= 0x39) {
        n = n * 10 + (c - 0x30);
        c = b[++this.i];
      }
      if (n > Number.MAX_SAFE_INTEGER) this.fail('integer too large', start);
      this.checkNumberEnd(start);
      return n;
    } else {
      this.fail('expected a non-negative integer', start);
    }
    this.checkNumberEnd(start);
    return 0;
  }

  private checkNumberEnd(start: number): void {
    const c = this.b[this.i];
    if (c === 0x2e || c === 0x65 || c === 0x45 || (c !== undefined && c >= 0x30 && c <= 0x39)) {
      this.fail('expected a non-negative integer', start);
    }
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
