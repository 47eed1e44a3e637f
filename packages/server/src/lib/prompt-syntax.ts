/**
 * `<lora:…>` prompt tokens, the one place that states how weights are written.
 *
 * Weight format rule: the `original` syntax (the default of `/compose`, the original API's format) writes exactly
 * three decimals (`<lora:name:0.750>`); the per-backend syntaxes write at most three decimals with trailing zeros
 * trimmed (`<lora:name:0.75>`, `<lora:name:1>`). Parsing accepts both.
 *
 * Per backend (see reference peers §4.4):
 * - `a1111`: positional, text encoder first, then UNet: `<lora:name:TE[:UNET]>`.
 * - `sdnext`: one weight plus named overrides: `<lora:name:W[:te=TE][:unet=UNET]>`.
 * - `comfyui`: model (UNet) first, then CLIP: `<lora:name:MODEL[:CLIP]>` — the opposite order of A1111.
 */

export const LORA_SYNTAXES = ['original', 'a1111', 'sdnext', 'comfyui'] as const;
export type LoraSyntax = (typeof LORA_SYNTAXES)[number];

export interface LoraTokenSpec {
  name: string;
  weight: number;
  /** Text-encoder (CLIP) weight when it differs from `weight`. */
  te?: number | null;
  /** UNet (model) weight when it differs from `weight`. */
  unet?: number | null;
}

export interface ParsedLoraToken extends LoraTokenSpec {
  /** The token as it appeared in the prompt. */
  raw: string;
  index: number;
}

export function formatWeight(weight: number, syntax: LoraSyntax): string {
  if (syntax === 'original') return weight.toFixed(3);
  const rounded = Number(weight.toFixed(3));
  return String(Object.is(rounded, -0) ? 0 : rounded);
}

export function renderLoraToken(syntax: LoraSyntax, spec: LoraTokenSpec): string {
  const w = (n: number) => formatWeight(n, syntax);
  const te = spec.te ?? spec.weight;
  const unet = spec.unet ?? spec.weight;
  switch (syntax) {
    case 'original':
    case 'a1111':
      return te === unet && te === spec.weight ? `<lora:${spec.name}:${w(spec.weight)}>` : `<lora:${spec.name}:${w(te)}:${w(unet)}>`;
    case 'sdnext': {
      const named = [spec.te != null && spec.te !== spec.weight ? `te=${w(spec.te)}` : null, spec.unet != null && spec.unet !== spec.weight ? `unet=${w(spec.unet)}` : null];
      return `<lora:${[spec.name, w(spec.weight), ...named.filter(Boolean)].join(':')}>`;
    }
    case 'comfyui':
      return unet === te ? `<lora:${spec.name}:${w(unet)}>` : `<lora:${spec.name}:${w(unet)}:${w(te)}>`;
  }
}

const TOKEN_RE = /<(?:lora|lyco):([^:>]+)((?::[^:>]*)*)>/gi;

/**
 * Every `<lora:…>` / `<lyco:…>` token in a prompt. Positional weights are read in the order `syntax` gives them
 * (A1111 and SDNext: text encoder then UNet; ComfyUI: model then CLIP); named `te=`/`unet=` are honoured.
 */
export function parseLoraTokens(prompt: string, syntax: LoraSyntax = 'a1111'): ParsedLoraToken[] {
  const tokens: ParsedLoraToken[] = [];
  for (const match of prompt.matchAll(TOKEN_RE)) {
    const args = match[2] ? match[2].slice(1).split(':') : [];
    const positional: number[] = [];
    const named: Record<string, number> = {};
    for (const arg of args) {
      const eq = arg.indexOf('=');
      if (eq > 0) {
        const value = Number(arg.slice(eq + 1));
        if (Number.isFinite(value)) named[arg.slice(0, eq).trim().toLowerCase()] = value;
      } else {
        const value = Number(arg);
        if (arg.trim() !== '' && Number.isFinite(value)) positional.push(value);
      }
    }
    const weight = positional[0] ?? 1;
    let te: number | null = null;
    let unet: number | null = null;
    if (syntax === 'comfyui') {
      unet = positional[0] ?? null;
      te = positional[1] ?? null;
    } else if (syntax === 'a1111' || syntax === 'original') {
      te = positional[0] ?? null;
      unet = positional[1] ?? null;
    }
    if (named.te !== undefined) te = named.te;
    if (named.unet !== undefined) unet = named.unet;
    tokens.push({
      name: match[1].trim(),
      weight,
      te: te !== null && te !== weight ? te : null,
      unet: unet !== null && unet !== weight ? unet : null,
      raw: match[0],
      index: match.index ?? 0,
    });
  }
  return tokens;
}

/** The prompt without its LoRA tokens, for backends that load LoRAs another way (ComfyUI's LoraLoader nodes). */
export function stripLoraTokens(prompt: string): string {
  return prompt
    .replace(TOKEN_RE, ' ')
    .replace(/[ \t]+/g, ' ')
    .replace(/\s*,(\s*,)+/g, ',')
    .replace(/ ,/g, ',')
    .replace(/^[\s,]+|[\s,]+$/g, '');
}
