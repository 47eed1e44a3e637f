/**
 * Text normalisation for the recommendation engine: what counts as a word, a phrase and a trigger. The original's
 * hashed encoder prefixed every payload with template words ("Trained on", "Art style") that made unrelated LoRAs
 * look alike; here no template is written at all, only the words of the adapter's own facts become terms, and
 * words that say nothing about a LoRA (English stop-words, prompt boilerplate such as "masterpiece") are dropped.
 * What is left is weighted by IDF, so a word every LoRA has ("style") counts for little.
 */

const STOP_WORDS = new Set(
  (
    'a an and are as at be by for from has have in is it its of on or that the this to was were will with ' +
    'lora loras lycoris locon loha lokr model models version v1 v2 v3 trained train training on ' +
    'activation trigger triggers sd supports generation masterpiece best quality high highres absurdres ' +
    'ultra 8k 4k score up use using weight ' +
    'recommended recommend strength please made make by my your you i we it s t'
  ).split(' '),
);

/**
 * Common spellings of one concept (the original's aliases, kept because users type both). A Map, not an object: a
 * property read with a word interns it for good in V8's old space (60 MB of garbage over a catch-up of 100,000
 * adapters), and an object would answer "constructor" with a function.
 */
const ALIASES = new Map<string, string>([
  ['1girl', 'girl'],
  ['one girl', 'girl'],
  ['1boy', 'boy'],
  ['one boy', 'boy'],
  ['sdxl', 'stable diffusion xl'],
  ['seraphim', 'seraph'],
  ['angelic', 'angel'],
]);

/** NFKC, lower-case, every run of characters other than letters and digits becomes one space. */
export function normalise(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/** Words of a text worth weighting: normalised, at least two characters, not a stop-word, not a bare number. */
export function words(text: string): string[] {
  const out: string[] = [];
  for (const w of normalise(splitCamel(text)).split(' ')) {
    if (w.length < 2 || STOP_WORDS.has(w) || /^\d+$/.test(w)) continue;
    out.push(ALIASES.get(w) ?? w);
  }
  return out;
}

/** `PixelArtXL_v2` → `Pixel Art XL v2`: file and LoRA names are often camel-cased or snake-cased. */
export function splitCamel(text: string): string {
  // "LoRA" and "SDXL" stay whole: a split needs a capital followed by lower case, or two lower-case letters before.
  return text
    .replace(/([a-z])([A-Z][a-z])/g, '$1 $2')
    .replace(/([a-z]{2,})([A-Z]{2,})/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .replace(/_/g, ' ');
}

/** A trigger or tag as one phrase: normalised, aliased; empty when nothing is left. */
export function phrase(text: string): string {
  const p = normalise(text).replace(/\s+/g, ' ');
  if (p.length < 2) return '';
  return ALIASES.get(p) ?? p;
}

/** Comma/semicolon/newline-separated parts of a trigger list, prompt or activation text, as phrases. */
export function phrases(text: string): string[] {
  const out: string[] = [];
  for (const part of text.split(/[\n,;|]+/)) {
    // Prompt weighting syntax: (word:1.2), [word], {word}
    const p = phrase(part.replace(/:\s*[\d.]+\s*\)?$/, ''));
    if (p) out.push(p);
  }
  return out;
}

/** Strip HTML tags and entities from a CivitAI description. */
export function plainText(html: string): string {
  return html
    .replace(/<[^>]*>/g, ' ')
    .replace(/&[a-z#0-9]+;/gi, ' ')
    .slice(0, 20_000);
}
