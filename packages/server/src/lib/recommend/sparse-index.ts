/**
 * One field's weighted sparse vectors with an inverted index: term frequencies are stored per document, IDF is
 * computed at query time from live document frequencies, so adding, changing or removing one document is
 * O(its terms) and never rewrites the others. Queries take candidates from the postings of the query's rarer
 * terms, then compute the exact cosine on each candidate.
 *
 * Everything lives in typed arrays (a 100,000-adapter library has a few hundred thousand terms and millions of
 * postings; as JS objects they cost several times their data): the terms in a StringTable, the postings in
 * PostingLists, each document's vector at its slot in two shared arenas (term ids, and weights as indexes into a
 * table of the distinct weights: stored features round them to thousandths, so a library has a few thousand, and
 * two bytes an entry keep every weight exact where a Float32 would not). A removed slot's vector stays in the
 * arenas as garbage until the owner renumbers the slots with `compact`.
 */
import type { TermWeights } from './features.ts';
import { PostingLists } from './posting-lists.ts';
import { StringTable } from './string-table.ts';
import { grown, shrunk, typed } from './typed.ts';

export type QueryVector = Map<number, number>;

/** Postings longer than this share of the catalogue only score candidates found through rarer terms. */
const COMMON_TERM_SHARE = 0.05;
const MIN_COMMON_DF = 500;
/** Terms always used for candidates, however common, so a query of common words still finds something. */
const RAREST_ALWAYS_USED = 3;
/** `w:` plus three letters. */
const PREFIX_KEY = 5;

export class SparseField {
  private readonly terms = new StringTable();
  private df = typed(Int32Array, 1024);
  private postings = new PostingLists();
  /** Terms by their first PREFIX_KEY characters, so a typed prefix does not scan the whole vocabulary. */
  private readonly prefixKeys = new StringTable();
  private readonly prefixes = new PostingLists();
  private live = 0;
  /** Each slot's vector: `count` entries from `offset` in the arenas, term ids ascending. */
  private offset = typed(Int32Array, 1024);
  private count = typed(Int32Array, 1024);
  private arenaTerms = typed(Int32Array, 4096);
  private arenaWeights: Uint16Array | Int32Array = typed(Uint16Array, 4096);
  private used = 0;
  private readonly weightIds = new Map<number, number>();
  private weightValues = typed(Float64Array, 256);

  /** Bytes held by the arrays. */
  get byteLength(): number {
    const arrays = [this.df, this.offset, this.count, this.arenaTerms, this.arenaWeights, this.weightValues];
    return arrays.reduce((n, a) => n + a.byteLength, 0) + this.terms.byteLength + this.postings.byteLength + this.prefixKeys.byteLength + this.prefixes.byteLength;
  }

  termId(term: string): number | undefined {
    return this.terms.lookup(term);
  }

  term(id: number): string {
    return this.terms.get(id);
  }

  /** Known terms starting with `prefix` (a trigger typed half-way), at least PREFIX_KEY characters; bounded. */
  termsWithPrefix(prefix: string, max = 50): number[] {
    const out: number[] = [];
    if (prefix.length < PREFIX_KEY) return out;
    const key = this.prefixKeys.lookup(prefix.slice(0, PREFIX_KEY));
    if (key === undefined) return out;
    for (const id of this.prefixes.values(key)) {
      if (this.df[id] > 0 && this.terms.get(id).startsWith(prefix)) out.push(id);
      if (out.length >= max) break;
    }
    return out;
  }

  /** Stores the document's raw term weights at `slot` (a slot not in use), interning new terms. */
  add(slot: number, raw: TermWeights): void {
    const entries: Array<[number, number]> = [];
    for (const [term, weight] of raw) entries.push([this.intern(term), weight]);
    entries.sort((a, b) => a[0] - b[0]);
    this.offset = grown(this.offset, slot + 1);
    this.count = grown(this.count, slot + 1);
    this.arenaTerms = grown(this.arenaTerms, this.used + entries.length);
    this.arenaWeights = grown(this.arenaWeights, this.used + entries.length);
    this.offset[slot] = this.used;
    this.count[slot] = entries.length;
    for (const [term, weight] of entries) {
      this.arenaTerms[this.used] = term;
      this.arenaWeights[this.used++] = this.weightId(weight);
      this.df[term]++;
      this.postings.push(term, slot);
    }
    this.live++;
  }

  private intern(term: string): number {
    const known = this.terms.size;
    const id = this.terms.intern(term);
    if (id < known) return id;
    this.df = grown(this.df, id + 1);
    if (term.startsWith('w:') && term.length >= PREFIX_KEY) this.prefixes.push(this.prefixKeys.intern(term.slice(0, PREFIX_KEY)), id);
    return id;
  }

  private weightId(weight: number): number {
    let id = this.weightIds.get(weight);
    if (id !== undefined) return id;
    id = this.weightIds.size;
    this.weightIds.set(weight, id);
    this.weightValues = grown(this.weightValues, id + 1);
    this.weightValues[id] = weight;
    // Past 65,536 distinct weights (features not rounded as stored ones are) the indexes need four bytes.
    if (id === 0x10000 && this.arenaWeights instanceof Uint16Array) this.arenaWeights = widened(this.arenaWeights);
    return id;
  }

  /** The slot's postings and arena entries stay until `compact`; the caller marks the slot dead. */
  remove(slot: number): void {
    this.live--;
    for (let i = this.offset[slot], end = i + this.count[slot]; i < end; i++) this.df[this.arenaTerms[i]]--;
    this.count[slot] = 0;
  }

  /** Renumbers the live slots (`order[newSlot]` is the old slot) and rebuilds the arenas and postings without the dead. */
  compact(order: ArrayLike<number>): void {
    let total = 0;
    for (let s = 0; s < order.length; s++) total += this.count[order[s]];
    const offset = typed(Int32Array, Math.max(order.length, 16));
    const count = typed(Int32Array, offset.length);
    const terms = typed(Int32Array, Math.max(total, 16));
    const weights = this.arenaWeights instanceof Uint16Array ? typed(Uint16Array, terms.length) : typed(Int32Array, terms.length);
    const postings = new PostingLists();
    let at = 0;
    for (let slot = 0; slot < order.length; slot++) {
      const from = this.offset[order[slot]];
      const n = this.count[order[slot]];
      offset[slot] = at;
      count[slot] = n;
      terms.set(this.arenaTerms.subarray(from, from + n), at);
      weights.set(this.arenaWeights.subarray(from, from + n), at);
      for (let i = at; i < at + n; i++) postings.push(terms[i], slot);
      at += n;
    }
    postings.trim();
    [this.offset, this.count, this.arenaTerms, this.arenaWeights, this.used, this.postings] = [offset, count, terms, weights, at, postings];
    this.terms.trim();
    this.df = shrunk(this.df, Math.max(this.terms.size, 16));
  }

  /** The slot's raw term weights, as stored (tests and debugging read them back). */
  entries(slot: number): Record<string, number> {
    const out: Record<string, number> = {};
    for (let i = this.offset[slot], end = i + this.count[slot]; i < end; i++) out[this.terms.get(this.arenaTerms[i])] = this.weightValues[this.arenaWeights[i]];
    return out;
  }

  /** Hands back the spare room of every array, in place (after a bulk load into slots 0 to `slots` - 1). */
  trim(slots: number): void {
    const n = Math.max(slots, 16);
    [this.offset, this.count] = [shrunk(this.offset, n), shrunk(this.count, n)];
    [this.arenaTerms, this.arenaWeights] = [shrunk(this.arenaTerms, Math.max(this.used, 16)), shrunk(this.arenaWeights, Math.max(this.used, 16))];
    this.df = shrunk(this.df, Math.max(this.terms.size, 16));
    this.weightValues = shrunk(this.weightValues, Math.max(this.weightIds.size, 16));
    for (const part of [this.terms, this.postings, this.prefixKeys, this.prefixes]) part.trim();
  }

  /** Number of terms in the slot's vector. */
  size(slot: number): number {
    return this.count[slot];
  }

  idf(term: number): number {
    const df = this.df[term] ?? 0;
    return df > 0 ? Math.log(1 + this.live / df) : 0;
  }

  /** A query from raw term weights; unknown terms are dropped (they match nothing). */
  query(raw: Map<string, number>): QueryVector {
    const q: QueryVector = new Map();
    for (const [term, weight] of raw) {
      const id = this.terms.lookup(term);
      if (id !== undefined && this.df[id] > 0) q.set(id, weight * this.idf(id));
    }
    return q;
  }

  /** A stored document as a query (its own weights times IDF). */
  queryOf(slot: number): QueryVector {
    const q: QueryVector = new Map();
    for (let i = this.offset[slot], end = i + this.count[slot]; i < end; i++) q.set(this.arenaTerms[i], this.weightValues[this.arenaWeights[i]] * this.idf(this.arenaTerms[i]));
    return q;
  }

  /** Slots sharing a term with the query, scored by the summed query weight of shared terms (a cheap pre-score). */
  candidates(q: QueryVector, alive: (slot: number) => boolean, into: Map<number, number>): void {
    const maxDf = Math.max(MIN_COMMON_DF, this.live * COMMON_TERM_SHARE);
    const ordered = [...q].sort((a, b) => this.df[a[0]] - this.df[b[0]]);
    ordered.forEach(([term, weight], i) => {
      if (i >= RAREST_ALWAYS_USED && this.df[term] > maxDf) return;
      this.postings.forEach(term, (slot) => {
        if (alive(slot)) into.set(slot, (into.get(slot) ?? 0) + weight);
      });
    });
  }

  /** Exact cosine between a query and a stored document. */
  cosine(q: QueryVector, qNorm: number, slot: number): number {
    if (qNorm === 0) return 0;
    let dot = 0;
    let norm = 0;
    for (let i = this.offset[slot], end = i + this.count[slot]; i < end; i++) {
      const w = this.weightValues[this.arenaWeights[i]] * this.idf(this.arenaTerms[i]);
      norm += w * w;
      const qw = q.get(this.arenaTerms[i]);
      if (qw !== undefined) dot += qw * w;
    }
    return norm === 0 ? 0 : dot / (qNorm * Math.sqrt(norm));
  }

  /** The query terms a document shares, heaviest first (for explanations); `names` keeps what one query decoded. */
  shared(q: QueryVector, slot: number, names = new Map<number, string>()): string[] {
    const out: Array<[number, number]> = [];
    for (let i = this.offset[slot], end = i + this.count[slot]; i < end; i++) {
      const qw = q.get(this.arenaTerms[i]);
      if (qw !== undefined) out.push([this.arenaTerms[i], qw * this.weightValues[this.arenaWeights[i]]]);
    }
    return out.sort((a, b) => b[1] - a[1]).map(([term]) => names.get(term) ?? names.set(term, this.terms.get(term)).get(term)!);
  }
}

function widened(weights: Uint16Array | Int32Array): Int32Array {
  const wide = typed(Int32Array, weights.length);
  wide.set(weights);
  return wide;
}

export function norm(q: QueryVector): number {
  let s = 0;
  for (const w of q.values()) s += w * w;
  return Math.sqrt(s);
}
