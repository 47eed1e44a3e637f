import { parseInfotext } from '../infotext.ts';
import { parseLoraTokens, stripLoraTokens } from '../prompt-syntax.ts';
import {
  boundDraft,
  emptyParams,
  finiteNumber,
  integer,
  loraBaseName,
  normaliseHash,
  text,
  type DraftHires,
  type DraftLora,
  type RecipeDraft,
} from './recipe-draft.ts';

/**
 * A1111 / Forge / SDNext infotext → recipe draft. LoRAs come from `<lora:…>` / `<lyco:…>` tokens (weights: text
 * encoder first, then UNet) and are given their hash from `Lora hashes` (A1111: `alias: shorthash12`) or, for SDNext,
 * the positional `LoRA networks` / `LoRA hashes` pair. LoRAs listed in the hashes but absent from the prompt (a hires
 * prompt, an extension) are kept with weight 1 so nothing the image used is lost.
 */

/** Keys this parser turns into fields; everything else goes to `extra`. */
const CONSUMED = new Set([
  'Steps',
  'Sampler',
  'Schedule type',
  'CFG scale',
  'Seed',
  'Size',
  'Size-1',
  'Size-2',
  'Model hash',
  'Model',
  'Clip skip',
  'Denoising strength',
  'VAE',
  'Hires upscale',
  'Hires upscaler',
  'Hires steps',
  'Hires resize',
  'Hires resize-1',
  'Hires resize-2',
  'Lora hashes',
  'LoRA hashes',
  'LoRA networks',
  'TI hashes',
]);

/** `a: 0123, b: 4567` (the value of `Lora hashes` / `TI hashes`) → name → hash, in order. */
export function parseNamedHashes(value: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!value) return out;
  for (const entry of value.split(',')) {
    const colon = entry.lastIndexOf(':');
    if (colon <= 0) continue;
    const name = entry.slice(0, colon).trim();
    const hash = normaliseHash(entry.slice(colon + 1));
    if (name && hash && !out.has(name)) out.set(name, hash);
  }
  return out;
}

function sdnextLoras(params: Record<string, string>): Map<string, string | null> {
  const out = new Map<string, string | null>();
  const names = (params['LoRA networks'] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const hashes = (params['LoRA hashes'] ?? '').split(',').map((s) => normaliseHash(s));
  names.forEach((name, i) => out.set(name, hashes[i] ?? null));
  return out;
}

function hiresOf(params: Record<string, string>): DraftHires | null {
  if (!Object.keys(params).some((k) => k.startsWith('Hires '))) return null;
  return {
    upscale: finiteNumber(params['Hires upscale']),
    upscaler: text(params['Hires upscaler']),
    steps: integer(params['Hires steps']),
    denoising_strength: finiteNumber(params['Denoising strength']),
    resize_x: integer(params['Hires resize-1']),
    resize_y: integer(params['Hires resize-2']),
  };
}

export function isSdnextInfotext(params: Record<string, string>): boolean {
  return 'LoRA networks' in params || 'LoRA hashes' in params || /sd\.?next/i.test(params.App ?? '');
}

/** A1111-style infotext → draft. Never throws: text that is not infotext gives a draft with only a prompt. */
export function parseA1111(infotext: string): RecipeDraft {
  const { prompt, negative_prompt, params } = parseInfotext(infotext);
  const sdnext = isSdnextInfotext(params);
  const loraHashes = parseNamedHashes(params['Lora hashes']);
  const sdnextHashes = sdnextLoras(params);
  const hashFor = (name: string): string | null => {
    const alias = name.replace(/[:,]/g, '');
    return loraHashes.get(name) ?? loraHashes.get(alias) ?? sdnextHashes.get(name) ?? sdnextHashes.get(loraBaseName(name)) ?? null;
  };

  const loras: DraftLora[] = [];
  const seen = new Set<string>();
  for (const token of parseLoraTokens(prompt, 'a1111')) {
    if (seen.has(token.name)) continue;
    seen.add(token.name);
    const model = token.unet ?? token.weight;
    const clip = token.te ?? token.weight;
    loras.push({ name: token.name, weight: model, clip_weight: clip !== model ? clip : null, hash: hashFor(token.name), civitai_model_id: null, civitai_version_id: null });
  }
  for (const [name, hash] of [...loraHashes, ...sdnextHashes]) {
    const known = [...seen].some((s) => s === name || s.replace(/[:,]/g, '') === name || loraBaseName(s) === name);
    if (known) continue;
    seen.add(name);
    loras.push({ name, weight: 1, clip_weight: null, hash, civitai_model_id: null, civitai_version_id: null });
  }

  const adetailer: Record<string, string> = {};
  const extra: Record<string, string> = {};
  for (const [key, value] of Object.entries(params)) {
    if (CONSUMED.has(key)) continue;
    if (key.startsWith('ADetailer')) adetailer[key] = value;
    else extra[key] = value;
  }
  const clipSkip = integer(params['Clip skip']);

  return boundDraft({
    source: sdnext ? 'sdnext' : 'a1111',
    prompt: stripLoraTokens(prompt),
    negative_prompt,
    params: {
      ...emptyParams(),
      checkpoint: text(params.Model),
      model_hash: normaliseHash(params['Model hash']),
      sampler: text(params.Sampler),
      scheduler: text(params['Schedule type']),
      steps: integer(params.Steps),
      cfg_scale: finiteNumber(params['CFG scale']),
      width: integer(params['Size-1']),
      height: integer(params['Size-2']),
      seed: integer(params.Seed),
      clip_skip: clipSkip !== null && clipSkip > 1 ? clipSkip : null,
      denoising_strength: finiteNumber(params['Denoising strength']),
      vae: text(params.VAE),
      hires: hiresOf(params),
      adetailer: Object.keys(adetailer).length > 0 ? adetailer : null,
    },
    loras,
    embeddings: [...parseNamedHashes(params['TI hashes'])].map(([name, hash]) => ({ name, hash })),
    extra,
  });
}

/** Whether a text looks like infotext (a parameter line with at least 3 pairs, or a negative prompt / LoRA token). */
export function looksLikeInfotext(value: string): boolean {
  const parsed = parseInfotext(value);
  return Object.keys(parsed.params).length >= 3 || /<(lora|lyco):/i.test(value);
}
