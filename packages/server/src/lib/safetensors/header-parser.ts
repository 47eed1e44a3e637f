import { SafetensorsError } from './format.ts';
import { DTYPE_CODES, DTYPES, MAX_DIMS_INLINE, TensorTable, U64_RANGE, type LatinSliceable } from './tensor-table.ts';

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

/** A strict JSON reader for `{name: {dtype, shape, data_offsets, …}, __metadata__?: {string: string}}`. */
export class HeaderParser {
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
