import { grown, shrunk, typed } from './typed.ts';

/** A list's first block in the pool, once it has a second value. */
const FIRST_BLOCK = 4;

/**
 * Append-only lists of ints by an int key (a term's slots, a trigger's slots), all in one Int32Array pool: a list
 * of one value (most terms belong to one adapter) is kept inline in `start`, longer ones in a block of the pool
 * that doubles when full. Blocks left behind by a move are garbage; the pool is compacted when they are over a
 * quarter of it, so appends stay O(1) amortised. `trim` packs every list to its length after a bulk load.
 */
export class PostingLists {
  /** The block's offset in the pool, or the only value while `cap` is 0. */
  private start = typed(Int32Array, 1024);
  private len = typed(Int32Array, 1024);
  private cap = typed(Int32Array, 1024);
  private keys = 0;
  private pool = typed(Int32Array, 4096);
  private used = 0;
  private garbage = 0;

  get byteLength(): number {
    return this.start.byteLength + this.len.byteLength + this.cap.byteLength + this.pool.byteLength;
  }

  length(key: number): number {
    return key < this.keys ? this.len[key] : 0;
  }

  push(key: number, value: number): void {
    if (key >= this.keys) {
      this.start = grown(this.start, key + 1);
      this.len = grown(this.len, key + 1);
      this.cap = grown(this.cap, key + 1);
      this.keys = key + 1;
    }
    const n = this.len[key];
    const cap = this.cap[key];
    if (n === 0) {
      this.start[key] = value;
    } else if (cap === 0) {
      const at = this.alloc(FIRST_BLOCK);
      this.pool[at] = this.start[key];
      this.pool[at + 1] = value;
      this.start[key] = at;
      this.cap[key] = FIRST_BLOCK;
    } else if (n === cap) {
      const at = this.alloc(cap * 2);
      // Read the start after alloc: a compaction there moves this list too.
      const from = this.start[key];
      this.pool.copyWithin(at, from, from + n);
      this.pool[at + n] = value;
      this.garbage += cap;
      this.start[key] = at;
      this.cap[key] = cap * 2;
    } else {
      this.pool[this.start[key] + n] = value;
    }
    this.len[key] = n + 1;
  }

  /** Calls `visit` with each value of the list, in the order they were pushed. */
  forEach(key: number, visit: (value: number) => void): void {
    const n = this.length(key);
    if (n === 1 && this.cap[key] === 0) visit(this.start[key]);
    else for (let i = this.start[key], end = i + n; i < end; i++) visit(this.pool[i]);
  }

  values(key: number): number[] {
    const out: number[] = [];
    this.forEach(key, (v) => out.push(v));
    return out;
  }

  private alloc(size: number): number {
    if (this.used + size > this.pool.length && this.garbage * 4 > this.used) this.compactPool(false);
    this.pool = grown(this.pool, this.used + size);
    const at = this.used;
    this.used += size;
    return at;
  }

  /** Packs every list to its length and the arrays to their use: no spare room until the next push. */
  trim(): void {
    this.compactPool(true);
    const keys = Math.max(this.keys, 16);
    [this.start, this.len, this.cap] = [shrunk(this.start, keys), shrunk(this.len, keys), shrunk(this.cap, keys)];
  }

  /**
   * Moves the blocks to the front of the pool, in place, keeping each block's spare room unless `tight`. In pool
   * order, so each block moves onto room already vacated.
   */
  private compactPool(tight: boolean): void {
    const keys: number[] = [];
    for (let key = 0; key < this.keys; key++) if (this.cap[key] > 0) keys.push(key);
    keys.sort((a, b) => this.start[a] - this.start[b]);
    let at = 0;
    for (const key of keys) {
      const from = this.start[key];
      this.pool.copyWithin(at, from, from + this.len[key]);
      this.start[key] = at;
      if (tight) this.cap[key] = this.len[key];
      at += this.cap[key];
    }
    this.used = at;
    this.garbage = 0;
    if (tight) this.pool = shrunk(this.pool, Math.max(at, 16));
  }
}
