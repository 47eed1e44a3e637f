/**
 * The generated library of bench:recommend: groups of related LoRAs (a concept's trigger phrases, trained words
 * and style tags, one base model), members of a group of another base model (decoys for "similar"), and noise
 * LoRAs; plus labelled queries of the three kinds, each with the ids that are right answers.
 */

export interface GeneratedLora {
  id: string;
  name: string;
  triggers: string[];
  trained_words: string[];
  tags: string[];
  sd_version: string;
  family: string;
  group: number;
  /** How often it was generated with (the most-used baseline). */
  uses: number;
}

export interface LabelledQuery {
  kind: 'similar' | 'for_prompt' | 'by_trigger';
  /** similar: the target id; for_prompt: the prompt; by_trigger: the trigger query. */
  input: string;
  relevant: Set<string>;
}

const SYLLABLES = 'ka ri mo ne su to li va ze qu do fe gr ha ju pl vo we yo br cl dr fl gl kr mi na ob pu ro sa te ul vi xa zo'.split(' ');
const GENERIC_TAGS = ['style', 'character', 'concept', 'anime', 'realistic', 'clothing', 'background', 'portrait', 'fantasy', 'woman'];
/** Caption tags every kind of LoRA is trained on (kohya trained words are full of them), most common first. */
const CAPTIONS = ('1girl solo smile looking at viewer long hair blush simple background short hair open mouth ' +
  'brown hair black hair blue eyes upper body white background closed mouth outdoors standing sky day ' +
  'holding jewelry red eyes dress shirt hat full body')
  .split(' ')
  .reduce<string[]>((out, w, i, all) => (w === 'at' || w === 'viewer' || w === 'background' || w === 'hair' || w === 'eyes' || w === 'body' || w === 'mouth' ? out : [...out, ['looking', 'simple', 'white', 'long', 'short', 'brown', 'black', 'blue', 'red', 'upper', 'full', 'open', 'closed'].includes(w) ? `${w} ${all[i + 1] === 'at' ? 'at viewer' : all[i + 1]}` : w]), []);
const PROMPT_FILLER = ['1girl', 'solo', 'masterpiece', 'best quality', 'detailed background', 'looking at viewer', 'smile', 'outdoors'];
const FAMILIES: Array<[string, string]> = [
  ['sdxl', 'SDXL'],
  ['sdxl', 'Pony'],
  ['sd1', 'SD1.5'],
  ['flux', 'Flux.1 D'],
];

export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

export function generateLibrary(count: number, seed = 13): { loras: GeneratedLora[]; queries: (n: number) => LabelledQuery[] } {
  const random = rng(seed);
  const any = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)];
  const sample = <T>(list: readonly T[], n: number): T[] => [...list].sort(() => random() - 0.5).slice(0, n);
  const word = () => any(SYLLABLES) + any(SYLLABLES) + any(SYLLABLES);
  // Zipf-like: the first captions are on most LoRAs.
  const captions = () => [...new Set(Array.from({ length: 3 + Math.floor(random() * 4) }, () => CAPTIONS[Math.floor(CAPTIONS.length * random() ** 2.5)]))];
  const cap = (w: string) => w[0].toUpperCase() + w.slice(1);

  const loras: GeneratedLora[] = [];
  const groups: Array<{ concept: string; triggers: string[]; trained: string[]; tags: string[]; members: GeneratedLora[] }> = [];
  let group = 0;
  while (loras.length < count) {
    // One in five is noise: its own words, common captions, generic tags; half of them look like an existing group
    // (its style tag and one word of its concept in another phrase) without being of it: decoys.
    if (random() < 0.2) {
      const [family, sd] = any(FAMILIES);
      const like = groups.length > 0 && random() < 0.5 ? groups[Math.floor(random() * groups.length)] : null;
      loras.push({
        id: `n${loras.length}`,
        name: `${cap(like ? like.concept : word())}${cap(word())}`,
        triggers: random() < 0.5 ? [word()] : [],
        trained_words: [word(), `${like ? like.concept : word()} ${word()}`, ...captions()],
        tags: [...sample(GENERIC_TAGS, 2), ...(like ? [like.tags[0]] : [])],
        sd_version: sd,
        family,
        group: -1,
        uses: Math.floor(1000 * random() ** 6),
      });
      continue;
    }
    const concept = word();
    const triggers = [`${concept} ${word()}`, `${word()} ${any(['style', 'art', 'outfit', 'pose'])}`];
    const trained = [word(), word(), `${concept} ${word()}`];
    const tags = [`${word()} style`, word(), word()];
    const [family, sd] = any(FAMILIES);
    const members: GeneratedLora[] = [];
    const size = 4 + Math.floor(random() * 5);
    for (let m = 0; m < size && loras.length < count; m++) {
      // About one member in eight is made for another base model: right for a trigger, wrong for "similar".
      const [mFamily, mSd] = random() < 0.125 ? any(FAMILIES.filter((f) => f[0] !== family)) : [family, sd];
      const lora: GeneratedLora = {
        id: `g${group}-${m}`,
        name: `${cap(concept)}${cap(word())} v${1 + Math.floor(random() * 3)}`,
        triggers: [...sample(triggers, 1 + Math.floor(random() * 2)), ...(random() < 0.3 ? [word()] : [])],
        trained_words: [...sample(trained, 2), word(), ...captions()],
        tags: [...sample(tags, 2), ...sample(GENERIC_TAGS, 1 + Math.floor(random() * 2)), ...(random() < 0.5 ? [word()] : [])],
        sd_version: mSd,
        family: mFamily,
        group,
        uses: Math.floor(1000 * random() ** 6),
      };
      members.push(lora);
      loras.push(lora);
    }
    groups.push({ concept, triggers, trained, tags, members });
    group++;
  }

  const queries = (n: number): LabelledQuery[] => {
    const q = rng(seed + 1);
    const pickGroup = () => {
      for (;;) {
        const g = groups[Math.floor(q() * groups.length)];
        if (g.members.length >= 3) return g;
      }
    };
    const out: LabelledQuery[] = [];
    for (let i = 0; i < n; i++) {
      const g = pickGroup();
      const target = g.members[Math.floor(q() * g.members.length)];
      const similar = g.members.filter((m) => m !== target && m.family === target.family);
      if (similar.length > 0) out.push({ kind: 'similar', input: target.id, relevant: new Set(similar.map((m) => m.id)) });
      // A prompt names one trained concept and a style tag among the usual filler.
      const concept = g.trained[Math.floor(q() * g.trained.length)];
      const tag = g.tags[Math.floor(q() * g.tags.length)];
      const prompt = [PROMPT_FILLER[Math.floor(q() * 4)], concept, PROMPT_FILLER[4 + Math.floor(q() * 4)], tag].join(', ');
      const forPrompt = g.members.filter((m) => m.trained_words.includes(concept));
      if (forPrompt.length > 0) out.push({ kind: 'for_prompt', input: prompt, relevant: new Set(forPrompt.map((m) => m.id)) });
      // What users type in a trigger search: the whole trigger, one word of it, or its start (a third each).
      const trigger = g.triggers[Math.floor(q() * g.triggers.length)];
      const style = i % 3;
      const typed = style === 0 ? trigger : style === 1 ? trigger.split(' ')[0] : trigger.slice(0, trigger.indexOf(' ') + 4);
      const answers = (p: string) =>
        style === 0 ? p === typed : style === 1 ? p.split(' ').includes(typed) : p.startsWith(typed);
      const answering = loras.filter((m) => [...m.triggers, ...m.trained_words].some(answers));
      if (answering.length > 0) out.push({ kind: 'by_trigger', input: typed, relevant: new Set(answering.map((m) => m.id)) });
    }
    return out;
  };
  return { loras, queries };
}

/** hit@k and nDCG@k of one ranked list against binary relevance. */
export function quality(ranked: readonly string[], relevant: ReadonlySet<string>, k = 10): { hit: number; ndcg: number } {
  let dcg = 0;
  let hit = 0;
  ranked.slice(0, k).forEach((id, i) => {
    if (relevant.has(id)) {
      dcg += 1 / Math.log2(i + 2);
      hit = 1;
    }
  });
  let ideal = 0;
  for (let i = 0; i < Math.min(k, relevant.size); i++) ideal += 1 / Math.log2(i + 2);
  return { hit, ndcg: ideal === 0 ? 0 : dcg / ideal };
}
