import { grown, shrunk, typed } from './typed.ts';

/**
 * Interned strings in one byte buffer, looked up through an open-addressing hash table of typed arrays: a string
 * costs its UTF-8 bytes and about 16 bytes of table, where a `Map<string, number>` plus a `string[]` cost about 100
 * (a string object, a map entry, an array slot). The index holds hundreds of thousands of terms, most used by one
 * adapter, so this is most of what it saves. Ids are dense, from 0, in the order strings were first interned; a
 * string is never removed (a rebuild drops what is no longer used).
 */
export class StringTable {
  private bytes = typed(Uint8Array, 4096);
  /** End offset of each string in `bytes`; a string starts where the previous one ends. */
  private ends = typed(Int32Array, 1024);
  private hashes = typed(Int32Array, 1024);
  /** Id + 1 per bucket, 0 when empty; its length is a power of two, at most 2/3 full. */
  private table = typed(Int32Array, 2048);
  private count = 0;
  /** The string being looked up, as UTF-8 (lookups compare bytes, never build a string). */
  private key = new Uint8Array(256);
  private keyLength = 0;
  private static readonly encoder = new TextEncoder();
  private static readonly decoder = new TextDecoder();

  get size(): number {
    return this.count;
  }

  /** Bytes held by the arrays. */
  get byteLength(): number {
    return this.bytes.byteLength + this.ends.byteLength + this.hashes.byteLength + this.table.byteLength + this.key.byteLength;
  }

  lookup(text: string): number | undefined {
    const id = this.table[this.bucket(this.encode(text))];
    return id === 0 ? undefined : id - 1;
  }

  /** The id of `text`, added when new. */
  intern(text: string): number {
    const hash = this.encode(text);
    let bucket = this.bucket(hash);
    if (this.table[bucket] !== 0) return this.table[bucket] - 1;
    const id = this.count++;
    const start = this.start(id);
    this.bytes = grown(this.bytes, start + this.keyLength);
    this.bytes.set(this.key.subarray(0, this.keyLength), start);
    this.ends = grown(this.ends, this.count);
    this.hashes = grown(this.hashes, this.count);
    this.ends[id] = start + this.keyLength;
    this.hashes[id] = hash;
    if (this.count * 3 > this.table.length * 2) {
      this.rehash(this.table.length * 2);
      bucket = this.bucket(hash);
    }
    this.table[bucket] = id + 1;
    return id;
  }

  /** Drops the spare room of the string arrays (after a bulk load). */
  trim(): void {
    this.bytes = shrunk(this.bytes, Math.max(this.start(this.count), 16));
    this.ends = shrunk(this.ends, Math.max(this.count, 16));
    this.hashes = shrunk(this.hashes, this.ends.length);
  }

  get(id: number): string {
    const start = this.start(id);
    const end = this.ends[id];
    let ascii = true;
    for (let i = start; i < end; i++) if (this.bytes[i] > 0x7f) ascii = false;
    const view = this.bytes.subarray(start, end);
    // fromCharCode takes the bytes as arguments: fast for the short strings terms are, bounded for the rest.
    return ascii && view.length < 1024 ? String.fromCharCode.apply(null, view as unknown as number[]) : StringTable.decoder.decode(view);
  }

  private start(id: number): number {
    return id === 0 ? 0 : this.ends[id - 1];
  }

  /** Writes `text` as UTF-8 to `key` and returns its FNV-1a hash. */
  private encode(text: string): number {
    if (this.key.length < text.length * 3) this.key = new Uint8Array(text.length * 3);
    let n = 0;
    for (; n < text.length; n++) {
      const c = text.charCodeAt(n);
      if (c > 0x7f) break;
      this.key[n] = c;
    }
    // Anything past ASCII goes through the encoder (surrogate pairs and all); terms are mostly ASCII.
    this.keyLength = n === text.length ? n : StringTable.encoder.encodeInto(text, this.key).written;
    // An int32 from the start, as Math.imul returns and the hashes array stores (the empty string keeps this value).
    let hash = 0x811c9dc5 | 0;
    for (let i = 0; i < this.keyLength; i++) hash = Math.imul(hash ^ this.key[i], 0x01000193);
    return hash;
  }

  /** The bucket holding the current key, or the empty bucket where it would go (linear probing). */
  private bucket(hash: number): number {
    const mask = this.table.length - 1;
    for (let b = hash & mask; ; b = (b + 1) & mask) {
      const entry = this.table[b];
      if (entry === 0 || (this.hashes[entry - 1] === hash && this.keyEquals(entry - 1))) return b;
    }
  }

  private keyEquals(id: number): boolean {
    const start = this.start(id);
    if (this.ends[id] - start !== this.keyLength) return false;
    for (let i = 0; i < this.keyLength; i++) if (this.bytes[start + i] !== this.key[i]) return false;
    return true;
  }

  private rehash(size: number): void {
    this.table = typed(Int32Array, size);
    const mask = size - 1;
    for (let id = 0; id < this.count; id++) {
      let b = this.hashes[id] & mask;
      while (this.table[b] !== 0) b = (b + 1) & mask;
      this.table[b] = id + 1;
    }
  }
}
