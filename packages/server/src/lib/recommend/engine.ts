import { FactStore, nameKey } from './doc-facts.ts';
import { incompatible, phraseTerms, technicalSimilarity, type AdapterFeatures, type DocFacts, type TermWeights } from './features.ts';
import { PostingLists } from './posting-lists.ts';
import { contextKey, Signals } from './signals.ts';
import { norm, SparseField, type QueryVector } from './sparse-index.ts';
import { StringTable } from './string-table.ts';
import { grown, shrunk, typed } from './typed.ts';
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

/** A candidate while it is scored: its facts are read from the store through a view. */
interface Doc {
  id: string;
  slot: number;
  features: DocFacts;
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
  private readonly facts = new FactStore();
  /** Adapter ids; a slot is where one version of an adapter lives until it is updated or removed (then it is dead). */
  private idTable = new StringTable();
  private slotOfId = typed(Int32Array, 1024, -1);
  /** The id (in `idTable`) at each slot, -1 once the slot is dead. */
  private idOfSlot = typed(Int32Array, 1024);
  private slots = 0;
  private live = 0;
  private dead = 0;
  /** Slots by trigger phrase and by lower-cased name (phrase ids of `facts`); dead slots are skipped when read. */
  private triggerSlots = new PostingLists();
  private nameSlots = new PostingLists();

  get size(): number {
    return this.live;
  }

  has(id: string): boolean {
    return this.slotOf(id) >= 0;
  }

  /** The adapter's facts as held here (its term weights live in the vectors only). */
  features(id: string): AdapterFeatures | undefined {
    const slot = this.slotOf(id);
    if (slot < 0) return undefined;
    const f = this.facts.view(slot);
    return { ...pick(f), semantic: {}, artistic: {} };
  }

  *ids(): IterableIterator<string> {
    for (let slot = 0; slot < this.slots; slot++) if (this.idOfSlot[slot] >= 0) yield this.idAt(slot);
  }

  /** Adapters with this name (case-insensitive): a `<lora:name:w>` token in a prompt names one. */
  byName(name: string): string[] {
    const key = this.facts.phrases.lookup(nameKey(name));
    return key === undefined ? [] : [...new Set(this.liveSlots(this.nameSlots, key).map((s) => this.idAt(s)))];
  }

  /** Bytes held by the index's arrays (vectors, postings, dictionaries, facts), for stats. */
  get vectorBytes(): number {
    const own = this.idTable.byteLength + this.slotOfId.byteLength + this.idOfSlot.byteLength + this.triggerSlots.byteLength + this.nameSlots.byteLength;
    return own + this.semantic.byteLength + this.artistic.byteLength + this.facts.byteLength;
  }

  upsert(id: string, features: AdapterFeatures): void {
    this.upsertTerms(id, features, Object.entries(features.semantic), Object.entries(features.artistic));
  }

  /** As `upsert`, with the term weights as pairs (how readStoredFeatures gives them). */
  upsertTerms(id: string, facts: DocFacts, semantic: TermWeights, artistic: TermWeights): void {
    this.remove(id);
    const slot = this.slots++;
    const key = this.idTable.intern(id);
    this.slotOfId = grown(this.slotOfId, key + 1, -1);
    this.idOfSlot = grown(this.idOfSlot, slot + 1);
    this.slotOfId[key] = slot;
    this.idOfSlot[slot] = key;
    this.live++;
    this.semantic.add(slot, semantic);
    this.artistic.add(slot, artistic);
    this.facts.set(slot, facts);
    this.link(slot);
  }

  /** The slot's entries in the trigger and name lists. */
  private link(slot: number): void {
    for (const t of this.facts.triggerIds(slot)) this.triggerSlots.push(t, slot);
    this.nameSlots.push(this.facts.nameKey(slot), slot);
  }

  remove(id: string): void {
    const slot = this.slotOf(id);
    if (slot < 0) return;
    this.slotOfId[this.idOfSlot[slot]] = -1;
    this.idOfSlot[slot] = -1;
    this.live--;
    this.semantic.remove(slot);
    this.artistic.remove(slot);
    // Dead slots cost time on every query and room in the arenas: renumber the live ones once the dead are a third.
    if (++this.dead > 1000 && this.dead > this.live / 3) this.compact();
  }

  /** Hands back the spare room the arrays grew while loading, in place (nothing is copied or renumbered). */
  trim(): void {
    this.idTable.trim();
    this.slotOfId = shrunk(this.slotOfId, Math.max(this.idTable.size, 16));
    this.idOfSlot = shrunk(this.idOfSlot, Math.max(this.slots, 16));
    this.triggerSlots.trim();
    this.nameSlots.trim();
    this.semantic.trim(this.slots);
    this.artistic.trim(this.slots);
    this.facts.trim(this.slots);
  }

  /**
   * Renumbers the live slots from 0 and rebuilds every array at its size, without the dead slots' vectors, postings
   * and ids, once the dead are a third of the slots.
   */
  private compact(): void {
    const order: number[] = [];
    for (let slot = 0; slot < this.slots; slot++) if (this.idOfSlot[slot] >= 0) order.push(slot);
    // Ids of removed adapters go too: the table is rebuilt from the live ones, in slot order.
    const ids = new StringTable();
    const idOfSlot = typed(Int32Array, Math.max(order.length, 16));
    order.forEach((old, slot) => (idOfSlot[slot] = ids.intern(this.idAt(old))));
    this.slotOfId = typed(Int32Array, Math.max(ids.size, 16), -1);
    idOfSlot.forEach((key, slot) => slot < order.length && (this.slotOfId[key] = slot));
    [this.idTable, this.idOfSlot, this.slots, this.dead] = [ids, idOfSlot, order.length, 0];
    this.semantic.compact(order);
    this.artistic.compact(order);
    this.facts.compact(order);
    this.triggerSlots = new PostingLists();
    this.nameSlots = new PostingLists();
    for (let slot = 0; slot < order.length; slot++) this.link(slot);
    this.triggerSlots.trim();
    this.nameSlots.trim();
    this.idTable.trim();
  }

  private slotOf(id: string): number {
    const key = this.idTable.lookup(id);
    return key === undefined ? -1 : this.slotOfId[key];
  }

  private idAt(slot: number): string {
    return this.idTable.get(this.idOfSlot[slot]);
  }

  private liveSlots(lists: PostingLists, key: number): number[] {
    const out: number[] = [];
    lists.forEach(key, (slot) => this.alive(slot) && out.push(slot));
    return out;
  }

  private readonly alive = (slot: number): boolean => this.idOfSlot[slot] >= 0;

  /** Adapters like `id`: shared triggers, trained words and names (semantic), tags (artistic), and technical fit. */
  similar(id: string, weights: Weights, options: CommonOptions & { threshold: number; diversify: boolean }): Scored[] {
    const targetSlot = this.slotOf(id);
    if (targetSlot < 0) return [];
    // Phrases and terms decoded for this query, shared by its candidates.
    const decoded = new Map<number, string>();
    const [semanticNames, artisticNames] = [new Map<number, string>(), new Map<number, string>()];
    const target = this.doc(targetSlot, decoded);
    const signals = options.signals ?? Signals.empty;
    const context = contextKey('similar', id);
    const qs = this.semantic.queryOf(targetSlot);
    const qa = this.artistic.queryOf(targetSlot);
    const pool = this.pool([
      [this.semantic, qs],
      [this.artistic, qa],
    ]);
    this.addIds(pool, signals.partners(id).keys());
    this.addIds(pool, signals.likedIn(context));
    pool.delete(targetSlot);

    const out: Scored[] = [];
    const nqs = norm(qs);
    const nqa = norm(qa);
    for (const slot of pool) {
      const doc = this.doc(slot, decoded);
      const cid = doc.id;
      if (signals.feedback(context, cid).dismissed) continue;
      if (!options.allowIncompatible && incompatible(target.features.family, doc.features.family)) continue;
      const semantic = this.semantic.cosine(qs, nqs, slot);
      const artistic = this.artistic.cosine(qa, nqa, slot);
      const technical = technicalSimilarity(target.features, doc.features);
      const explained = explainSimilar(target.features, doc.features, this.semantic.shared(qs, slot, semanticNames), this.artistic.shared(qa, slot, artisticNames));
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
    const active = options.active.filter((a) => this.has(a));
    for (const a of active) this.addIds(pool, signals.partners(a).keys());
    const context = contextKey('for_prompt', prompt);
    this.addIds(pool, signals.likedIn(context));
    for (const a of active) pool.delete(this.slotOf(a));

    // The family to match: asked for, else what the active LoRAs agree on.
    const family = options.family ?? majorityFamily(active.map((a) => this.facts.view(this.slotOf(a)).family));
    const style = options.stylePreference ? phrase(options.stylePreference) : '';
    const promptText = ` ${promptPhrases.join(' , ')} `;
    // The triggers a candidate's prompt mentions are among these (looked up once, not searched for per candidate).
    const named = this.facts.triggersIn(promptText);
    // Phrases and terms decoded for this query, shared by its candidates.
    const decoded = new Map<number, string>();
    const [semanticNames, artisticNames] = [new Map<number, string>(), new Map<number, string>()];
    const nqs = norm(qs);
    const nqa = norm(qa);
    const out: Scored[] = [];
    for (const slot of pool) {
      const doc = this.doc(slot, decoded);
      const cid = doc.id;
      if (signals.feedback(context, cid).dismissed) continue;
      if (!options.allowIncompatible && family && incompatible(family, doc.features.family)) continue;
      const semantic = this.semantic.cosine(qs, nqs, slot);
      const artistic = this.artistic.cosine(qa, nqa, slot);
      const technical = family && doc.features.family ? (family === doc.features.family ? 1 : 0) : 0.5;
      const mentioned = this.facts.triggersAmong(slot, named, decoded);
      const styleHit = style !== '' && (doc.features.tags.some((t) => t.includes(style)) || doc.features.triggers.includes(style));
      const explained = explainPrompt(doc.features, mentioned, this.semantic.shared(qs, slot, semanticNames), this.artistic.shared(qa, slot, artisticNames), family, styleHit ? style : null);
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
    const trigger = this.facts.phrases.lookup(q);
    const exact = new Set(trigger === undefined ? [] : this.liveSlots(this.triggerSlots, trigger));
    for (const slot of exact) pool.add(slot);
    this.addIds(pool, signals.likedIn(context));
    // Phrases and terms decoded for this query, shared by its candidates.
    const decoded = new Map<number, string>();
    const semanticNames = new Map<number, string>();
    const nqs = norm(qs);
    const out: Scored[] = [];
    for (const slot of pool) {
      const doc = this.doc(slot, decoded);
      const cid = doc.id;
      if (signals.feedback(context, cid).dismissed) continue;
      const cos = this.semantic.cosine(qs, nqs, slot);
      const isExact = exact.has(slot);
      const containing = isExact ? [] : doc.features.triggers.filter((t) => ` ${t} `.includes(` ${q} `) || qWords.every((w) => t.includes(w)));
      // Exact match ranks first at 1.0 (the original capped it at 0.2); a trigger containing the query next.
      const semantic = isExact ? 1 : containing.length > 0 ? 0.6 + 0.3 * cos : 0.8 * cos;
      if (semantic <= 0) continue;
      const reasons = isExact ? [`exact trigger match: "${q}"`] : containing.length > 0 ? [`trigger contains "${q}": ${containing.slice(0, 3).join(', ')}`] : [];
      const shared = this.semantic.shared(qs, slot, semanticNames).filter((t) => t.startsWith('w:')).map((t) => t.slice(2));
      if (reasons.length === 0 && shared.length > 0) reasons.push(`trained words match: ${shared.slice(0, 3).join(', ')}`);
      const learned = explainLearning(signals, context, doc.features, cid, 0);
      out.push(this.score(doc, { semantic, artistic: 0, technical: 0 }, { semantic: 1, artistic: 0, technical: 0 }, { reasons, bonus: 0 }, learned, false));
    }
    return out.sort(byFinal).slice(0, options.limit);
  }

  /** The slots worth scoring exactly: those sharing the most query weight, at most MAX_EXACT. */
  private pool(fields: Array<[SparseField, QueryVector]>): Set<number> {
    const scores = new Map<number, number>();
    for (const [field, q] of fields) field.candidates(q, this.alive, scores);
    let slots = [...scores.keys()];
    if (slots.length > MAX_EXACT) slots = slots.sort((a, b) => scores.get(b)! - scores.get(a)!).slice(0, MAX_EXACT);
    return new Set(slots);
  }

  /** Adds the slots of these adapters (learned partners, liked suggestions) to a pool; ids not indexed are skipped. */
  private addIds(pool: Set<number>, ids: Iterable<string>): void {
    for (const id of ids) {
      const slot = this.slotOf(id);
      if (slot >= 0) pool.add(slot);
    }
  }

  private doc(slot: number, decoded: Map<number, string>): Doc {
    return { id: this.idAt(slot), slot, features: this.facts.view(slot, decoded) };
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
        const slot = this.slotOf(cand.id);
        let maxSim = 0;
        for (const p of picked) {
          const pq = queries.get(p.id)!;
          maxSim = Math.max(maxSim, this.semantic.cosine(pq.q, pq.n, slot));
        }
        const mmr = cand.final - DIVERSITY_PENALTY * Math.max(0, maxSim - 0.5);
        if (mmr > bestScore) [best, bestScore] = [i, mmr];
      });
      const [chosen] = pool.splice(best, 1);
      const q = this.semantic.queryOf(this.slotOf(chosen.id));
      queries.set(chosen.id, { q, n: norm(q) });
      picked.push(chosen);
    }
    return picked;
  }
}

/** A plain copy of the facts a view reads from the store. */
function pick(f: DocFacts): DocFacts {
  const { name, triggers, tags, family, baseModel, network, rank, sizeMb, author, archetype, rating, favorite, nsfw } = f;
  return { name, triggers, tags, family, baseModel, network, rank, sizeMb, author, archetype, rating, favorite, nsfw };
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
