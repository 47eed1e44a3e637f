/**
 * One field's weighted sparse vectors with an inverted index: term frequencies are stored per document, IDF is
 * computed at query time from live document frequencies, so adding, changing or removing one document is
 * O(its terms) and never rewrites the others. Queries take candidates from the postings of the query's rarer
 * terms, then compute the exact cosine on each candidate.
 */

/** Plain arrays, not typed ones: a document has a few dozen terms, and a typed array's own overhead would exceed that. */
export interface SparseVector {
  /** Term ids, ascending. */
  terms: number[];
  weights: number[];
}

export type QueryVector = Map<number, number>;

/** Postings longer than this share of the catalogue only score candidates found through rarer terms. */
const COMMON_TERM_SHARE = 0.05;
const MIN_COMMON_DF = 500;
/** Terms always used for candidates, however common, so a query of common words still finds something. */
const RAREST_ALWAYS_USED = 3;
/** `w:` plus three letters. */
const PREFIX_KEY = 5;

export class SparseField {
  private readonly ids = new Map<string, number>();
  private readonly names: string[] = [];
  private df: number[] = [];
  /** Created on a term's first document as a one-element literal: `push` onto an empty array reserves 17 slots. */
  private postings: Array<number[] | undefined> = [];
  /** Terms by their first PREFIX_KEY characters, so a typed prefix does not scan the whole vocabulary. */
  private readonly prefixes = new Map<string, number[]>();
  private live = 0;

  termId(term: string): number | undefined {
    return this.ids.get(term);
  }

  term(id: number): string {
    return this.names[id];
  }

  /** Known terms starting with `prefix` (a trigger typed half-way), at least PREFIX_KEY characters; bounded. */
  termsWithPrefix(prefix: string, max = 50): number[] {
    const out: number[] = [];
    if (prefix.length < PREFIX_KEY) return out;
    for (const id of this.prefixes.get(prefix.slice(0, PREFIX_KEY)) ?? []) {
      if (this.df[id] > 0 && this.names[id].startsWith(prefix)) out.push(id);
      if (out.length >= max) break;
    }
    return out;
  }

  /** The vector of a document's raw term weights, interning new terms. */
  vector(raw: Record<string, number>): SparseVector {
    const entries: Array<[number, number]> = [];
    for (const [term, weight] of Object.entries(raw)) {
      let id = this.ids.get(term);
      if (id === undefined) {
        id = this.names.length;
        this.ids.set(term, id);
        this.names.push(term);
        this.df.push(0);
        this.postings.push(undefined);
        if (term.startsWith('w:') && term.length >= PREFIX_KEY) {
          const key = term.slice(0, PREFIX_KEY);
          const bucket = this.prefixes.get(key);
          if (bucket) bucket.push(id);
          else this.prefixes.set(key, [id]);
        }
      }
      entries.push([id, weight]);
    }
    entries.sort((a, b) => a[0] - b[0]);
    return { terms: entries.map((e) => e[0]), weights: entries.map((e) => e[1]) };
  }

  add(slot: number, v: SparseVector): void {
    this.live++;
    for (const t of v.terms) {
      this.df[t]++;
      const list = this.postings[t];
      if (list) list.push(slot);
      else this.postings[t] = [slot];
    }
  }

  /** The slot's postings stay until compaction; the caller marks the slot dead. */
  remove(v: SparseVector): void {
    this.live--;
    for (const t of v.terms) this.df[t]--;
  }

  /** Rebuild postings from the live slots (after many updates left dead entries behind). */
  compact(slots: ReadonlyArray<{ slot: number; vector: SparseVector }>): void {
    this.postings = this.postings.map(() => undefined);
    for (const { slot, vector } of slots) {
      for (const t of vector.terms) {
        const list = this.postings[t];
        if (list) list.push(slot);
        else this.postings[t] = [slot];
      }
    }
  }

  idf(term: number): number {
    const df = this.df[term] ?? 0;
    return df > 0 ? Math.log(1 + this.live / df) : 0;
  }

  /** A query from raw term weights; unknown terms are dropped (they match nothing). */
  query(raw: Map<string, number>): QueryVector {
    const q: QueryVector = new Map();
    for (const [term, weight] of raw) {
      const id = this.ids.get(term);
      if (id !== undefined && this.df[id] > 0) q.set(id, weight * this.idf(id));
    }
    return q;
  }

  /** A stored document as a query (its own weights times IDF). */
  queryOf(v: SparseVector): QueryVector {
    const q: QueryVector = new Map();
    for (let i = 0; i < v.terms.length; i++) q.set(v.terms[i], v.weights[i] * this.idf(v.terms[i]));
    return q;
  }

  /** Slots sharing a term with the query, scored by the summed query weight of shared terms (a cheap pre-score). */
  candidates(q: QueryVector, alive: (slot: number) => boolean, into: Map<number, number>): void {
    const maxDf = Math.max(MIN_COMMON_DF, this.live * COMMON_TERM_SHARE);
    const ordered = [...q].sort((a, b) => this.df[a[0]] - this.df[b[0]]);
    ordered.forEach(([term, weight], i) => {
      if (i >= RAREST_ALWAYS_USED && this.df[term] > maxDf) return;
      for (const slot of this.postings[term] ?? []) if (alive(slot)) into.set(slot, (into.get(slot) ?? 0) + weight);
    });
  }

  /** Exact cosine between a query and a stored document. */
  cosine(q: QueryVector, qNorm: number, v: SparseVector): number {
    if (qNorm === 0) return 0;
    let dot = 0;
    let norm = 0;
    for (let i = 0; i < v.terms.length; i++) {
      const w = v.weights[i] * this.idf(v.terms[i]);
      norm += w * w;
      const qw = q.get(v.terms[i]);
      if (qw !== undefined) dot += qw * w;
    }
    return norm === 0 ? 0 : dot / (qNorm * Math.sqrt(norm));
  }

  /** The query terms a document shares, heaviest first (for explanations). */
  shared(q: QueryVector, v: SparseVector): string[] {
    const out: Array<[string, number]> = [];
    for (let i = 0; i < v.terms.length; i++) {
      const qw = q.get(v.terms[i]);
      if (qw !== undefined) out.push([this.names[v.terms[i]], qw * v.weights[i]]);
    }
    return out.sort((a, b) => b[1] - a[1]).map((e) => e[0]);
  }
}

export function norm(q: QueryVector): number {
  let s = 0;
  for (const w of q.values()) s += w * w;
  return Math.sqrt(s);
}
