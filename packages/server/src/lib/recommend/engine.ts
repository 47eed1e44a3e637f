import { incompatible, phraseTerms, technicalSimilarity, type AdapterFeatures } from './features.ts';
import { contextKey, Signals } from './signals.ts';
import { norm, SparseField, type QueryVector, type SparseVector } from './sparse-index.ts';
import { phrase, phrases, words } from './text.ts';
import { explainLearning, explainPrompt, explainSimilar, type Explained } from './explain.ts';

export interface Weights {
  semantic: number;
  artistic: number;
  technical: number;
}

export interface Scored {
  id: string;
  /** Content similarity: the weighted semantic, artistic and technical scores. */
  similarity: number;
  /** Similarity plus what was learned (co-usage, feedback, preferences) and quality. */
  final: number;
  semantic: number;
  artistic: number;
  technical: number;
  quality: number;
  learned: number;
  reasons: string[];
}

interface Doc {
  id: string;
  slot: number;
  features: AdapterFeatures;
  semantic: SparseVector;
  artistic: SparseVector;
}

export interface CommonOptions {
  limit: number;
  signals?: Signals;
  /** Keep adapters of another base-model family (default: filtered out). */
  allowIncompatible?: boolean;
}

/** Candidates scored exactly per query, at most: enough for recall, bounded for latency. */
const MAX_EXACT = 1500;
const DIVERSITY_PENALTY = 0.3;

/**
 * The in-memory recommendation index of one process: every adapter's feature vectors in two sparse fields
 * (semantic, artistic), an exact trigger-phrase map, and the three queries. Updates are per adapter.
 */
export class RecommendEngine {
  private readonly semantic = new SparseField();
  private readonly artistic = new SparseField();
  private readonly docs = new Map<string, Doc>();
  private readonly slots: Array<Doc | undefined> = [];
  // One id as a plain string, a Set from the second on: most triggers and names belong to one adapter (a Set each would
  // cost more than the index), and a few ("girl") to half the catalogue (a list would make every update linear).
  private readonly triggers = new Map<string, IdSet>();
  private readonly names = new Map<string, IdSet>();
  private dead = 0;

  get size(): number {
    return this.docs.size;
  }

  has(id: string): boolean {
    return this.docs.has(id);
  }

  /** The adapter's facts as held here (its term weights live in the vectors only). */
  features(id: string): AdapterFeatures | undefined {
    return this.docs.get(id)?.features;
  }

  ids(): IterableIterator<string> {
    return this.docs.keys();
  }

  /** Adapters with this name (case-insensitive): a `<lora:name:w>` token in a prompt names one. */
  byName(name: string): string[] {
    return idsOf(this.names.get(name.trim().toLowerCase()));
  }

  /** Rough bytes held by the vectors (for stats). */
  get vectorBytes(): number {
    let n = 0;
    for (const d of this.docs.values()) n += (d.semantic.terms.length + d.artistic.terms.length) * 8;
    return n;
  }

  upsert(id: string, features: AdapterFeatures): void {
    this.remove(id);
    const semantic = this.semantic.vector(features.semantic);
    const artistic = this.artistic.vector(features.artistic);
    // The term weights now live in the vectors: keeping the records too would double the index's memory.
    const doc: Doc = { id, slot: this.slots.length, features: { ...features, semantic: {}, artistic: {} }, semantic, artistic };
    this.slots.push(doc);
    this.docs.set(id, doc);
    this.semantic.add(doc.slot, doc.semantic);
    this.artistic.add(doc.slot, doc.artistic);
    for (const t of features.triggers) addTo(this.triggers, t, id);
    addTo(this.names, features.name.trim().toLowerCase(), id);
  }

  remove(id: string): void {
    const doc = this.docs.get(id);
    if (!doc) return;
    this.docs.delete(id);
    this.slots[doc.slot] = undefined;
    this.semantic.remove(doc.semantic);
    this.artistic.remove(doc.artistic);
    for (const t of doc.features.triggers) removeFrom(this.triggers, t, id);
    removeFrom(this.names, doc.features.name.trim().toLowerCase(), id);
    // Dead postings cost time on every query: rebuild them once they are a third of the live ones.
    if (++this.dead > 1000 && this.dead > this.docs.size / 3) this.compact();
  }

  private compact(): void {
    const live = [...this.docs.values()];
    this.slots.length = 0;
    live.forEach((d, i) => {
      d.slot = i;
      this.slots.push(d);
    });
    this.semantic.compact(live.map((d) => ({ slot: d.slot, vector: d.semantic })));
    this.artistic.compact(live.map((d) => ({ slot: d.slot, vector: d.artistic })));
    this.dead = 0;
  }

  private readonly alive = (slot: number): boolean => this.slots[slot] !== undefined;

  /** Adapters like `id`: shared triggers, trained words and names (semantic), tags (artistic), and technical fit. */
  similar(id: string, weights: Weights, options: CommonOptions & { threshold: number; diversify: boolean }): Scored[] {
    const target = this.docs.get(id);
    if (!target) return [];
    const signals = options.signals ?? Signals.empty;
    const context = contextKey('similar', id);
    const qs = this.semantic.queryOf(target.semantic);
    const qa = this.artistic.queryOf(target.artistic);
    const pool = this.pool([
      [this.semantic, qs],
      [this.artistic, qa],
    ]);
    for (const partner of signals.partners(id).keys()) pool.add(partner);
    for (const liked of signals.likedIn(context)) pool.add(liked);
    pool.delete(id);

    const out: Scored[] = [];
    const nqs = norm(qs);
    const nqa = norm(qa);
    for (const cid of pool) {
      const doc = this.docs.get(cid);
      if (!doc || signals.feedback(context, cid).dismissed) continue;
      if (!options.allowIncompatible && incompatible(target.features.family, doc.features.family)) continue;
      const semantic = this.semantic.cosine(qs, nqs, doc.semantic);
      const artistic = this.artistic.cosine(qa, nqa, doc.artistic);
      const technical = technicalSimilarity(target.features, doc.features);
      const explained = explainSimilar(target.features, doc.features, this.semantic.shared(qs, doc.semantic), this.artistic.shared(qa, doc.artistic));
      const learned = explainLearning(signals, context, doc.features, cid, signals.coUsage(id, cid));
      out.push(this.score(doc, { semantic, artistic, technical }, weights, explained, learned, options.diversify));
    }
    const threshold = options.threshold;
    const kept = out.filter((s) => Math.max(s.similarity, s.final) >= threshold && s.final > 0);
    kept.sort(byFinal);
    return options.diversify ? this.diversify(kept, options.limit) : kept.slice(0, options.limit);
  }

  /** Adapters that fit a prompt: its words and phrases against triggers, trained words and tags. */
  forPrompt(
    prompt: string,
    weights: Weights,
    options: CommonOptions & { active: readonly string[]; stylePreference?: string | null; family?: string | null },
  ): Scored[] {
    const signals = options.signals ?? Signals.empty;
    const promptPhrases = phrases(prompt);
    const raw = new Map<string, number>();
    for (const p of promptPhrases) for (const [term, weight] of phraseTerms(p, 2, 1)) raw.set(term, (raw.get(term) ?? 0) + weight);
    const qs = this.semantic.query(raw);
    const qa = this.artistic.query(raw);
    const pool = this.pool([
      [this.semantic, qs],
      [this.artistic, qa],
    ]);
    const active = options.active.filter((a) => this.docs.has(a));
    for (const a of active) for (const partner of signals.partners(a).keys()) pool.add(partner);
    const context = contextKey('for_prompt', prompt);
    for (const liked of signals.likedIn(context)) pool.add(liked);
    for (const a of active) pool.delete(a);

    // The family to match: asked for, else what the active LoRAs agree on.
    const family = options.family ?? majorityFamily(active.map((a) => this.docs.get(a)!.features.family));
    const style = options.stylePreference ? phrase(options.stylePreference) : '';
    const promptText = ` ${promptPhrases.join(' , ')} `;
    const nqs = norm(qs);
    const nqa = norm(qa);
    const out: Scored[] = [];
    for (const cid of pool) {
      const doc = this.docs.get(cid);
      if (!doc || signals.feedback(context, cid).dismissed) continue;
      if (!options.allowIncompatible && family && incompatible(family, doc.features.family)) continue;
      const semantic = this.semantic.cosine(qs, nqs, doc.semantic);
      const artistic = this.artistic.cosine(qa, nqa, doc.artistic);
      const technical = family && doc.features.family ? (family === doc.features.family ? 1 : 0) : 0.5;
      const mentioned = doc.features.triggers.filter((t) => promptText.includes(` ${t} `));
      const styleHit = style !== '' && (doc.features.tags.some((t) => t.includes(style)) || doc.features.triggers.includes(style));
      const explained = explainPrompt(doc.features, mentioned, this.semantic.shared(qs, doc.semantic), this.artistic.shared(qa, doc.artistic), family, styleHit ? style : null);
      const co = active.reduce((sum, a) => sum + signals.coUsage(a, cid), 0);
      const learned = explainLearning(signals, context, doc.features, cid, co);
      // Naming a trigger word in the prompt is the strongest content signal there is.
      explained.bonus += (mentioned.length > 0 ? 0.2 : 0) + (styleHit ? 0.2 : 0);
      out.push(this.score(doc, { semantic, artistic, technical }, weights, explained, learned, false));
    }
    return out
      .filter((s) => s.final > 0 && (s.semantic > 0 || s.artistic > 0 || s.learned > 0))
      .sort(byFinal)
      .slice(0, options.limit);
  }

  /** Adapters answering to a trigger word: exact phrase first, then phrases containing its words, then prefixes. */
  byTrigger(query: string, options: CommonOptions): Scored[] {
    const signals = options.signals ?? Signals.empty;
    const q = phrase(query);
    if (!q) return [];
    const context = contextKey('by_trigger', q);
    const raw = new Map<string, number>(phraseTerms(q, 3, 2));
    const qWords = words(q);
    const qs = this.semantic.query(raw);
    // A trigger typed half-way ("pixel ar") still finds "pixel art".
    if (qWords.length > 0) {
      const last = qWords[qWords.length - 1];
      if (last.length >= 3) for (const t of this.semantic.termsWithPrefix(`w:${last}`)) if (!qs.has(t)) qs.set(t, this.semantic.idf(t) * 0.8);
    }
    const pool = this.pool([[this.semantic, qs]]);
    const exact = new Set(idsOf(this.triggers.get(q)));
    for (const id of exact) pool.add(id);
    for (const liked of signals.likedIn(context)) pool.add(liked);
    const nqs = norm(qs);
    const out: Scored[] = [];
    for (const cid of pool) {
      const doc = this.docs.get(cid);
      if (!doc || signals.feedback(context, cid).dismissed) continue;
      const cos = this.semantic.cosine(qs, nqs, doc.semantic);
      const isExact = exact.has(cid);
      const containing = isExact ? [] : doc.features.triggers.filter((t) => ` ${t} `.includes(` ${q} `) || qWords.every((w) => t.includes(w)));
      // Exact match ranks first at 1.0 (the original capped it at 0.2); a trigger containing the query next.
      const semantic = isExact ? 1 : containing.length > 0 ? 0.6 + 0.3 * cos : 0.8 * cos;
      if (semantic <= 0) continue;
      const reasons = isExact ? [`exact trigger match: "${q}"`] : containing.length > 0 ? [`trigger contains "${q}": ${containing.slice(0, 3).join(', ')}`] : [];
      const shared = this.semantic.shared(qs, doc.semantic).filter((t) => t.startsWith('w:')).map((t) => t.slice(2));
      if (reasons.length === 0 && shared.length > 0) reasons.push(`trained words match: ${shared.slice(0, 3).join(', ')}`);
      const learned = explainLearning(signals, context, doc.features, cid, 0);
      out.push(this.score(doc, { semantic, artistic: 0, technical: 0 }, { semantic: 1, artistic: 0, technical: 0 }, { reasons, bonus: 0 }, learned, false));
    }
    return out.sort(byFinal).slice(0, options.limit);
  }

  private pool(fields: Array<[SparseField, QueryVector]>): Set<string> {
    const scores = new Map<number, number>();
    for (const [field, q] of fields) field.candidates(q, this.alive, scores);
    let slots = [...scores.keys()];
    if (slots.length > MAX_EXACT) slots = slots.sort((a, b) => scores.get(b)! - scores.get(a)!).slice(0, MAX_EXACT);
    return new Set(slots.map((s) => this.slots[s]!.id));
  }

  private score(
    doc: Doc,
    parts: { semantic: number; artistic: number; technical: number },
    weights: Weights,
    explained: Explained,
    learned: Explained,
    quality: boolean,
  ): Scored {
    const similarity = weights.semantic * parts.semantic + weights.artistic * parts.artistic + weights.technical * parts.technical;
    const q = quality ? (doc.features.rating !== null && doc.features.rating >= 4 ? 0.05 : 0) + (doc.features.favorite ? 0.05 : 0) : 0;
    const final = Math.max(0, similarity * (1 + q) + explained.bonus + learned.bonus);
    return {
      id: doc.id,
      similarity: round(similarity),
      final: round(final),
      ...parts,
      quality: q,
      learned: round(learned.bonus),
      reasons: [...explained.reasons, ...learned.reasons],
    };
  }

  /** Greedy re-ranking that lowers near-copies of what is already picked (maximal marginal relevance). */
  private diversify(ranked: Scored[], limit: number): Scored[] {
    const pool = ranked.slice(0, limit * 3);
    const picked: Scored[] = [];
    const queries = new Map<string, { q: QueryVector; n: number }>();
    while (picked.length < limit && pool.length > 0) {
      let best = 0;
      let bestScore = -Infinity;
      pool.forEach((cand, i) => {
        const doc = this.docs.get(cand.id)!;
        let maxSim = 0;
        for (const p of picked) {
          const pq = queries.get(p.id)!;
          maxSim = Math.max(maxSim, this.semantic.cosine(pq.q, pq.n, doc.semantic));
        }
        const mmr = cand.final - DIVERSITY_PENALTY * Math.max(0, maxSim - 0.5);
        if (mmr > bestScore) [best, bestScore] = [i, mmr];
      });
      const [chosen] = pool.splice(best, 1);
      const q = this.semantic.queryOf(this.docs.get(chosen.id)!.semantic);
      queries.set(chosen.id, { q, n: norm(q) });
      picked.push(chosen);
    }
    return picked;
  }
}

type IdSet = string | Set<string>;

function idsOf(ids: IdSet | undefined): string[] {
  return ids === undefined ? [] : typeof ids === 'string' ? [ids] : [...ids];
}

function addTo(map: Map<string, IdSet>, key: string, id: string): void {
  const ids = map.get(key);
  if (ids === undefined) map.set(key, id);
  else if (typeof ids === 'string') {
    if (ids !== id) map.set(key, new Set([ids, id]));
  } else ids.add(id);
}

function removeFrom(map: Map<string, IdSet>, key: string, id: string): void {
  const ids = map.get(key);
  if (ids === undefined) return;
  if (typeof ids === 'string') {
    if (ids === id) map.delete(key);
    return;
  }
  ids.delete(id);
  if (ids.size === 1) map.set(key, ids.values().next().value!);
}

function byFinal(a: Scored, b: Scored): number {
  return b.final - a.final || b.similarity - a.similarity || (a.id < b.id ? -1 : 1);
}

function round(x: number): number {
  return Math.round(x * 10000) / 10000;
}

function majorityFamily(families: Array<string | null>): string | null {
  const counts = new Map<string, number>();
  for (const f of families) if (f && f !== 'other') counts.set(f, (counts.get(f) ?? 0) + 1);
  let best: string | null = null;
  for (const [f, n] of counts) if (best === null || n > counts.get(best)!) best = f;
  return best;
}
