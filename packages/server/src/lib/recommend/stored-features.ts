import type { AdapterFeatures, TermFeatures, TermWeights } from './features.ts';

const TERM_FIELDS = ['semantic', 'artistic'] as const;

/**
 * Reads a stored AdapterFeatures JSON as JSON.parse would, except that the term records become pairs instead of
 * objects. V8's JSON.parse interns every object key in old-space memory: for the term records, mostly words of one
 * adapter, that left about 50 MB of garbage behind a load of 100,000 adapters (and the process's RSS grew by it).
 * Here the records' keys are plain substrings that die young; the rest of the object is left to JSON.parse.
 */
export function readStoredFeatures(text: string): TermFeatures {
  const spans = termRecordSpans(text);
  if (!spans) return fromParsed(JSON.parse(text) as AdapterFeatures);
  let rest = text;
  // From the later span to the earlier, so the earlier one's offsets still hold.
  for (const field of [...TERM_FIELDS].sort((a, b) => spans[b][0] - spans[a][0])) rest = `${rest.slice(0, spans[field][0])}{}${rest.slice(spans[field][1])}`;
  const { semantic: _s, artistic: _a, ...facts } = JSON.parse(rest) as AdapterFeatures;
  const semantic = readTermRecord(text, spans.semantic[0], spans.semantic[1]);
  const artistic = readTermRecord(text, spans.artistic[0], spans.artistic[1]);
  return semantic && artistic ? { facts, semantic, artistic } : fromParsed(JSON.parse(text) as AdapterFeatures);
}

/** The stored JSON of these features: JSON.stringify of the AdapterFeatures they are, without making that object. */
export function writeStoredFeatures({ facts, semantic, artistic }: TermFeatures): string {
  const { name, ...rest } = facts;
  const record = (terms: TermWeights) => `{${terms.map(([t, w]) => `${JSON.stringify(t)}:${JSON.stringify(w)}`).join(',')}}`;
  return `{"name":${JSON.stringify(name)},"semantic":${record(semantic)},"artistic":${record(artistic)},${JSON.stringify(rest).slice(1)}`;
}

function fromParsed(f: AdapterFeatures): TermFeatures {
  const { semantic, artistic, ...facts } = f;
  return { facts, semantic: Object.entries(semantic ?? {}), artistic: Object.entries(artistic ?? {}) };
}

/**
 * Where the values of the top-level `semantic` and `artistic` keys are ([start, end) of each `{…}`), found by one
 * pass over the text that skips strings; null when the text is not an object with both as objects.
 */
function termRecordSpans(text: string): Record<(typeof TERM_FIELDS)[number], [number, number]> | null {
  const found: Partial<Record<string, [number, number]>> = {};
  let depth = 0;
  let key: string | null = null;
  let valueStart = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const end = stringEnd(text, i);
      if (end < 0) return null;
      // A key of the top-level object: the next non-space character is a colon.
      if (depth === 1 && nextNonSpace(text, end) === 0x3a) key = text.slice(i + 1, end - 1);
      i = end - 1;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (depth === 1 && c === 0x7b && key !== null && (key === 'semantic' || key === 'artistic')) valueStart = i;
      depth++;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
      if (depth === 1 && valueStart >= 0) {
        found[key!] = [valueStart, i + 1];
        valueStart = -1;
      }
    } else if (c === 0x2c /* , */ && depth === 1) key = null;
  }
  return found.semantic && found.artistic ? (found as Record<(typeof TERM_FIELDS)[number], [number, number]>) : null;
}

/** The index just past the string starting at `start` (a quote), or -1 when it does not end. */
function stringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c /* \ */) i++;
    else if (c === 0x22) return i + 1;
  }
  return -1;
}

function nextNonSpace(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return c;
  }
  return -1;
}

/** The pairs of a flat `{"term": number, …}` record in text[start, end); null on anything else. */
function readTermRecord(text: string, start: number, end: number): Array<[string, number]> | null {
  const out: Array<[string, number]> = [];
  const members = /\s*"((?:[^"\\]|\\.)*)"\s*:\s*(-?[0-9][0-9.eE+-]*)\s*(,|$)/y;
  const body = text.slice(start + 1, end - 1);
  if (body.trim() === '') return out;
  members.lastIndex = 0;
  for (;;) {
    const m = members.exec(body);
    if (!m) return null;
    const weight = Number(m[2]);
    if (Number.isNaN(weight)) return null;
    // Terms are normalised words, so escapes are rare; JSON.parse decodes the few there are.
    out.push([m[1].includes('\\') ? (JSON.parse(`"${m[1]}"`) as string) : m[1], weight]);
    if (m[3] === '') return out;
  }
}
