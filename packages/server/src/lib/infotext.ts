/**
 * A1111 "infotext": the `parameters` text stored in generated PNGs. Layout: the prompt (any number of lines), an
 * optional `Negative prompt: …` part, and a last line of `Key: value` pairs. Writing follows
 * `processing.create_infotext`; reading mirrors `infotext_utils.parse_generation_parameters`.
 */

export interface Infotext {
  prompt: string;
  negative_prompt: string;
  /** Every `Key: value` pair as written (quoted values decoded); `Size` also split into `Size-1`/`Size-2`. */
  params: Record<string, string>;
}

// A pair: a key starting with a word character, a colon, then a quoted string or everything up to the next comma.
const PARAM_RE = /\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)/g;
const SIZE_RE = /^(\d+)x(\d+)$/;

function quote(value: string): string {
  return /[,:\n]/.test(value) ? JSON.stringify(value) : value;
}

/** The parameter line: pairs in the given order; null/undefined/empty values are left out. */
export function formatParameterLine(pairs: ReadonlyArray<[string, string | number | null | undefined]>): string {
  return pairs
    .filter(([, v]) => v !== null && v !== undefined && v !== '')
    .map(([k, v]) => `${k}: ${quote(String(v))}`)
    .join(', ');
}

export function formatInfotext(prompt: string, negativePrompt: string | null | undefined, pairs: ReadonlyArray<[string, string | number | null | undefined]>): string {
  const lines = [prompt];
  if (negativePrompt) lines.push(`Negative prompt: ${negativePrompt}`);
  lines.push(formatParameterLine(pairs));
  return lines.join('\n');
}

function parsePairs(line: string): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (const match of line.matchAll(PARAM_RE)) {
    const key = match[1].trim();
    let value = match[2].trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) {
      try {
        value = JSON.parse(value) as string;
      } catch {
        /* keep the raw text, as A1111 does */
      }
    }
    pairs.push([key, value]);
  }
  return pairs;
}

export function parseInfotext(text: string): Infotext {
  const lines = text.trim().split('\n');
  let paramLine = '';
  if (lines.length > 0 && parsePairs(lines[lines.length - 1]).length >= 3) paramLine = lines.pop() ?? '';

  const prompt: string[] = [];
  const negative: string[] = [];
  let inNegative = false;
  for (const line of lines) {
    if (!inNegative && line.startsWith('Negative prompt:')) {
      inNegative = true;
      negative.push(line.slice('Negative prompt:'.length).trimStart());
    } else {
      (inNegative ? negative : prompt).push(line);
    }
  }

  const params: Record<string, string> = {};
  for (const [key, value] of parsePairs(paramLine)) {
    params[key] = value;
    const size = SIZE_RE.exec(value);
    if (size) {
      params[`${key}-1`] = size[1];
      params[`${key}-2`] = size[2];
    }
  }
  return { prompt: prompt.join('\n').trim(), negative_prompt: negative.join('\n').trim(), params };
}

/**
 * Add pairs the infotext's parameter line lacks (e.g. `Lora hashes` a server left out), keeping the rest of the text
 * exactly as written. Text without a parameter line is returned unchanged: a new short line would read as prompt.
 */
export function withMissingParams(text: string, pairs: ReadonlyArray<[string, string | number | null | undefined]>): string {
  const parsed = parseInfotext(text);
  if (Object.keys(parsed.params).length < 3) return text;
  const missing = pairs.filter(([key, value]) => !(key in parsed.params) && value !== null && value !== undefined && value !== '');
  if (missing.length === 0) return text;
  const trimmed = text.replace(/\s+$/, '');
  return `${trimmed}, ${formatParameterLine(missing)}`;
}
