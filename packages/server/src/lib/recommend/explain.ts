import type { DocFacts } from './features.ts';
import type { Preference, Signals } from './signals.ts';

/** Reasons in words a user understands, and the score they add. */
export interface Explained {
  reasons: string[];
  bonus: number;
}

const FAMILY_NAMES: Record<string, string> = { sd1: 'SD 1.x', sd2: 'SD 2.x', sdxl: 'SDXL', sd3: 'SD 3', flux: 'Flux' };

function list(terms: readonly string[], max = 3): string {
  return terms.slice(0, max).join(', ');
}

/** `p:` phrases without the prefix. */
function phrasesOf(terms: readonly string[]): string[] {
  return terms.filter((t) => t.startsWith('p:')).map((t) => t.slice(2));
}

function wordsOf(terms: readonly string[]): string[] {
  return terms.filter((t) => t.startsWith('w:')).map((t) => t.slice(2));
}

function sameBase(a: DocFacts, b: DocFacts): string | null {
  if (a.baseModel && a.baseModel === b.baseModel) return `same base model (${a.baseModel})`;
  if (a.family && a.family === b.family) return `same base model family (${FAMILY_NAMES[a.family] ?? a.family})`;
  return null;
}

export function explainSimilar(target: DocFacts, cand: DocFacts, sharedSemantic: string[], sharedArtistic: string[]): Explained {
  const reasons: string[] = [];
  const targetTriggers = new Set(target.triggers);
  // A one-word trigger is a `w:` term; a longer one a `p:` term.
  const sharedTerms = sharedSemantic.map((t) => t.slice(2));
  const triggers = sharedTerms.filter((p) => targetTriggers.has(p) && cand.triggers.includes(p));
  if (triggers.length > 0) reasons.push(`shares trigger words: ${list(triggers)}`);
  const trained = phrasesOf(sharedSemantic).filter((p) => !triggers.includes(p));
  if (trained.length > 0) reasons.push(`trained on the same concepts: ${list(trained)}`);
  else if (triggers.length === 0 && wordsOf(sharedSemantic).length > 0) reasons.push(`similar trained words: ${list(wordsOf(sharedSemantic))}`);
  const tags = phrasesOf(sharedArtistic);
  if (tags.length > 0) reasons.push(`shared tags: ${list(tags)}`);
  const base = sameBase(target, cand);
  if (base) reasons.push(base);
  if (target.network && target.network === cand.network && target.rank && target.rank === cand.rank) reasons.push(`same network (${cand.network}, rank ${cand.rank})`);
  if (target.author && target.author === cand.author) reasons.push(`same author (${cand.author})`);
  return { reasons, bonus: 0 };
}

export function explainPrompt(
  cand: DocFacts,
  mentioned: string[],
  sharedSemantic: string[],
  sharedArtistic: string[],
  family: string | null,
  style: string | null,
): Explained {
  const reasons: string[] = [];
  if (mentioned.length > 0) reasons.push(`your prompt uses its trigger: ${list(mentioned)}`);
  const concepts = [...new Set([...phrasesOf(sharedSemantic), ...phrasesOf(sharedArtistic)])].filter((p) => !mentioned.includes(p));
  if (concepts.length > 0) reasons.push(`matches your prompt: ${list(concepts)}`);
  else if (mentioned.length === 0) {
    const ws = [...new Set([...wordsOf(sharedSemantic), ...wordsOf(sharedArtistic)])];
    if (ws.length > 0) reasons.push(`matches prompt words: ${list(ws)}`);
  }
  if (style) reasons.push(`matches the style you asked for (${style})`);
  if (family && cand.family === family) reasons.push(`fits your base model (${FAMILY_NAMES[family] ?? family})`);
  return { reasons, bonus: 0 };
}

function preferenceMatches(p: Preference, f: DocFacts): boolean {
  switch (p.type) {
    case 'tag':
    case 'style':
      return f.tags.includes(p.value) || f.triggers.includes(p.value) || (f.archetype ?? '').toLowerCase() === p.value;
    case 'author':
      return f.author === p.value;
    case 'archetype':
      return (f.archetype ?? '').toLowerCase() === p.value;
    case 'technical':
      return [f.family, f.network, f.baseModel?.toLowerCase()].includes(p.value);
  }
}

/** What was learned from use: co-usage in generations, feedback on suggestions, stated preferences. */
export function explainLearning(signals: Signals, context: string, cand: DocFacts, id: string, coUse: number): Explained {
  const reasons: string[] = [];
  let bonus = 0;
  if (coUse > 0) {
    bonus += 0.3 * (1 - Math.exp(-coUse / 2));
    reasons.push('often used together in your generations');
  }
  const fb = signals.feedback(context, id);
  if (fb.context !== 0 || fb.global !== 0) {
    // A thumbs-down in this context should take the item off the top at once; a thumbs-up lifts it more gently.
    bonus += (fb.context < 0 ? 0.5 : 0.25) * Math.tanh(fb.context) + 0.05 * Math.tanh(fb.global);
    if (fb.context > 0) reasons.push('you liked this suggestion before');
    else if (fb.context < 0) reasons.push('ranked lower: you marked this suggestion unhelpful');
    else if (fb.global > 0) reasons.push('you liked it in other suggestions');
  }
  for (const p of signals.preferences) {
    if (!preferenceMatches(p, cand)) continue;
    bonus += 0.15 * (2 * p.confidence - 1);
    if (p.confidence > 0.5) reasons.push(`matches your preference for ${p.type} "${p.value}"`);
  }
  return { reasons, bonus };
}
