import { phrase, phrases, plainText, words } from './text.ts';

/** What the catalogue knows about one adapter, as the feature extractor reads it (no I/O here). */
export interface AdapterFacts {
  id: string;
  name: string;
  description: string | null;
  author: string | null;
  triggers: readonly string[];
  trainedWords: readonly string[];
  activationText: string | null;
  /** kohya `ss_tag_frequency`, summed over dataset folders, most frequent first. */
  tagFrequency: ReadonlyArray<{ tag: string; count: number }>;
  /** File, CivitAI and user tags as shown (removed source tags left out). */
  tags: readonly string[];
  baseModel: string | null;
  /** lib/base-models.ts BaseFamily, when known. */
  baseFamily: string | null;
  networkType: string | null;
  rank: number | null;
  fileSize: number | null;
  archetype: string | null;
  rating: number | null;
  favorite: boolean;
  nsfwLevel: number;
}

/**
 * The stored features of one adapter: raw term weights before IDF (so storing them never depends on the rest of the
 * catalogue, and one adapter's change is one row), plus the facts the technical score and explanations need.
 * Terms are `p:<phrase>` (a whole trigger or tag) and `w:<word>`.
 */
export interface AdapterFeatures {
  name: string;
  /** Triggers, trained words (weighted by how often kohya saw them in captions) and name words. */
  semantic: Record<string, number>;
  /** Style and subject tags, archetype, and CivitAI description words at a low weight. */
  artistic: Record<string, number>;
  /** Normalised trigger phrases: triggers, trained words and activation text. */
  triggers: string[];
  /** Normalised tag phrases. */
  tags: string[];
  family: string | null;
  baseModel: string | null;
  network: string | null;
  rank: number | null;
  sizeMb: number | null;
  author: string | null;
  archetype: string | null;
  rating: number | null;
  favorite: boolean;
  nsfw: number;
}

/** What scores and explanations read of an adapter: its features without the term weights. */
export type DocFacts = Omit<AdapterFeatures, 'semantic' | 'artistic'>;

/** Raw term weights as [term, weight] pairs. */
export type TermWeights = ReadonlyArray<readonly [string, number]>;

/** AdapterFeatures with the term weights as pairs, as the index takes them (no object keyed by term is made). */
export interface TermFeatures {
  facts: DocFacts;
  semantic: TermWeights;
  artistic: TermWeights;
}

const MAX_SEMANTIC_TERMS = 64;
const MAX_ARTISTIC_TERMS = 48;
const TAG_FREQUENCY_TAKEN = 24;
const DESCRIPTION_WORDS = 24;

function add(vector: Map<string, number>, term: string, weight: number): void {
  if (weight > 0) vector.set(term, (vector.get(term) ?? 0) + weight);
}

function addPhraseAndWords(vector: Map<string, number>, text: string, phraseWeight: number, wordWeight: number): void {
  const p = phrase(text);
  if (!p) return;
  for (const [term, weight] of phraseTerms(p, phraseWeight, wordWeight)) add(vector, term, weight);
}

/**
 * A phrase's terms: `p:<phrase>` and `w:<word>` for each of its words. A one-word phrase is only its `w:` term (with
 * both weights): a second term for the same word would double the vocabulary the index holds for nothing.
 */
export function phraseTerms(p: string, phraseWeight: number, wordWeight: number): Array<[string, number]> {
  const ws = words(p);
  if (!p.includes(' ')) return ws.length === 1 ? [[`w:${ws[0]}`, phraseWeight + wordWeight]] : [[`p:${p}`, phraseWeight]];
  return [[`p:${p}`, phraseWeight], ...ws.map((w): [string, number] => [`w:${w}`, wordWeight])];
}

/** The heaviest `max` terms, rounded so the stored JSON stays small. */
function top(vector: Map<string, number>, max: number): Array<[string, number]> {
  const entries = [...vector].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, max);
  return entries.map(([t, w]) => [t, Math.round(w * 1000) / 1000]);
}

export function extractFeatures(facts: AdapterFacts): AdapterFeatures {
  const { facts: f, semantic, artistic } = extractTerms(facts);
  const { name, ...rest } = f;
  return { name, semantic: Object.fromEntries(semantic), artistic: Object.fromEntries(artistic), ...rest };
}

/**
 * The features with their term weights as pairs. What the index stores and loads goes this way: an object keyed by
 * terms has V8 intern every key in old-space memory for good, about 100 MB of garbage over 100,000 adapters.
 */
export function extractTerms(facts: AdapterFacts): TermFeatures {
  const semantic = new Map<string, number>();
  const triggerPhrases = new Set<string>();
  const triggerSources = [...facts.triggers, ...facts.trainedWords.flatMap((w) => phrases(w)), ...(facts.activationText ? phrases(facts.activationText) : [])];
  for (const t of triggerSources) {
    const p = phrase(t);
    if (!p || triggerPhrases.has(p)) continue;
    triggerPhrases.add(p);
    addPhraseAndWords(semantic, p, 3, 2);
  }
  // Caption tags say what the LoRA was trained on; the most frequent ones say it loudest.
  const frequent = facts.tagFrequency.slice(0, TAG_FREQUENCY_TAKEN);
  const maxCount = frequent[0]?.count ?? 1;
  for (const { tag, count } of frequent) addPhraseAndWords(semantic, tag, 1.5 * Math.sqrt(count / maxCount), 0.75 * Math.sqrt(count / maxCount));
  for (const w of words(facts.name)) add(semantic, `w:${w}`, 1.5);

  const artistic = new Map<string, number>();
  const tagPhrases: string[] = [];
  for (const tag of facts.tags) {
    const p = phrase(tag);
    if (!p || tagPhrases.includes(p)) continue;
    tagPhrases.push(p);
    addPhraseAndWords(artistic, p, 2, 1);
  }
  if (facts.archetype) addPhraseAndWords(artistic, facts.archetype, 1.5, 0.75);
  if (facts.description) {
    const counts = new Map<string, number>();
    for (const w of words(plainText(facts.description))) if (w.length > 2) counts.set(w, (counts.get(w) ?? 0) + 1);
    const best = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, DESCRIPTION_WORDS);
    for (const [w, n] of best) add(artistic, `w:${w}`, 0.3 * Math.min(2, Math.sqrt(n)));
  }

  const f: DocFacts = {
    name: facts.name,
    triggers: [...triggerPhrases].slice(0, 64),
    tags: tagPhrases.slice(0, 64),
    family: facts.baseFamily,
    baseModel: facts.baseModel,
    network: facts.networkType ? facts.networkType.toLowerCase() : null,
    rank: facts.rank,
    sizeMb: facts.fileSize === null ? null : Math.round(facts.fileSize / 1048576),
    author: facts.author ? facts.author.toLowerCase() : null,
    archetype: facts.archetype,
    rating: facts.rating,
    favorite: facts.favorite,
    nsfw: facts.nsfwLevel,
  };
  return { facts: f, semantic: top(semantic, MAX_SEMANTIC_TERMS), artistic: top(artistic, MAX_ARTISTIC_TERMS) };
}

/**
 * How well two adapters go together technically, 0–1: the same base-model family above all (a LoRA for another
 * family does not load), then network type, rank and file size.
 */
export function technicalSimilarity(a: DocFacts, b: DocFacts): number {
  const family = a.family && b.family ? (a.family === b.family ? 1 : 0) : 0.5;
  const network = a.network && b.network ? (a.network === b.network ? 1 : 0.4) : 0.5;
  const rank = a.rank && b.rank ? Math.max(0, 1 - Math.abs(Math.log2(a.rank) - Math.log2(b.rank)) / 5) : 0.5;
  const size = a.sizeMb && b.sizeMb ? Math.max(0, 1 - Math.abs(Math.log2(a.sizeMb + 1) - Math.log2(b.sizeMb + 1)) / 5) : 0.5;
  return 0.5 * family + 0.2 * network + 0.2 * rank + 0.1 * size;
}

/** Families that cannot share a generation: both known and different. */
export function incompatible(a: string | null, b: string | null): boolean {
  return a !== null && b !== null && a !== 'other' && b !== 'other' && a !== b;
}
