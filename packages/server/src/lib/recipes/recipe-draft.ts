/**
 * What an image or a pasted text says about how it was made, before it is matched to the catalogue: the shape every
 * recipe parser (A1111 / SDNext infotext, ComfyUI graphs, CivitAI metadata) returns.
 */

export const RECIPE_SOURCES = ['a1111', 'sdnext', 'comfyui', 'civitai', 'lora-manager'] as const;
export type RecipeSource = (typeof RECIPE_SOURCES)[number];

/** A hash as written in the source; its length says which kind it probably is (see `hashKind`). */
export type HashKind = 'sha256' | 'autov2' | 'autov3' | 'short';

export interface DraftLora {
  /** The name as the source wrote it (prompt alias, ComfyUI file name, CivitAI resource name). */
  name: string;
  /** Model (UNet) weight; the one weight when the source gives one. */
  weight: number;
  /** Text-encoder (CLIP) weight when it differs from `weight`. */
  clip_weight: number | null;
  /** Lower-case hex hash from the source, when it gave one. */
  hash: string | null;
  civitai_version_id: number | null;
  civitai_model_id: number | null;
}

export interface DraftHires {
  upscale: number | null;
  upscaler: string | null;
  steps: number | null;
  denoising_strength: number | null;
  resize_x: number | null;
  resize_y: number | null;
}

export interface DraftParams {
  checkpoint: string | null;
  /** AutoV2 (10 hex) of the checkpoint when the source gave it. */
  model_hash: string | null;
  sampler: string | null;
  scheduler: string | null;
  steps: number | null;
  cfg_scale: number | null;
  width: number | null;
  height: number | null;
  seed: number | null;
  clip_skip: number | null;
  denoising_strength: number | null;
  vae: string | null;
  hires: DraftHires | null;
  /** ADetailer fields (`ADetailer model`, `ADetailer prompt`, …) as written. */
  adetailer: Record<string, string> | null;
}

export interface DraftEmbedding {
  name: string;
  hash: string | null;
}

export interface RecipeDraft {
  source: RecipeSource;
  prompt: string;
  negative_prompt: string;
  params: DraftParams;
  loras: DraftLora[];
  embeddings: DraftEmbedding[];
  /** Every other `Key: value` the source carried, kept so nothing is lost (bounded). */
  extra: Record<string, string>;
}

/** Why a text or image gave no recipe. `found` says what was there instead, for the 422 the user sees. */
export class RecipeParseError extends Error {
  constructor(
    readonly code: 'no_recipe' | 'unsupported_image' | 'invalid_recipe_text',
    message: string,
    readonly found: string[] = [],
  ) {
    super(message);
    this.name = 'RecipeParseError';
  }
}

/** Sources are untrusted: bound what one recipe may carry so a crafted image cannot make a huge row. */
export const DRAFT_LIMITS = { maxLoras: 64, maxEmbeddings: 64, maxExtra: 64, maxText: 20_000, maxValue: 2_000, maxName: 300 } as const;

export function emptyParams(): DraftParams {
  return {
    checkpoint: null,
    model_hash: null,
    sampler: null,
    scheduler: null,
    steps: null,
    cfg_scale: null,
    width: null,
    height: null,
    seed: null,
    clip_skip: null,
    denoising_strength: null,
    vae: null,
    hires: null,
    adetailer: null,
  };
}

/** A hex hash lower-cased, or null when the value is not one (at least 8 hex digits). */
export function normaliseHash(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const hex = value.trim().toLowerCase();
  return /^[0-9a-f]{8,64}$/.test(hex) ? hex : null;
}

/** What a hash of this length is in the tools we read: 64 = SHA-256, 10 = AutoV2, 12 = AutoV3 / A1111 LoRA shorthash, 8 = SDNext. */
export function hashKind(hash: string): HashKind {
  if (hash.length === 64) return 'sha256';
  if (hash.length === 10) return 'autov2';
  if (hash.length === 12) return 'autov3';
  return 'short';
}

export function finiteNumber(value: unknown): number | null {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  return Number.isFinite(n) ? n : null;
}

export function integer(value: unknown): number | null {
  const n = finiteNumber(value);
  return n !== null && Number.isSafeInteger(Math.trunc(n)) ? Math.trunc(n) : null;
}

export function text(value: unknown, max: number = DRAFT_LIMITS.maxValue): string | null {
  if (typeof value !== 'string') return null;
  const t = value.trim();
  return t === '' ? null : t.slice(0, max);
}

/** Name without folders or a model-file extension: what the user and the catalogue call a LoRA. */
export function loraBaseName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? name;
  return base.replace(/\.(safetensors|ckpt|pt|pth|bin)$/i, '').trim();
}

/** Bound a draft's lists and strings (the parsers build them from untrusted input). */
export function boundDraft(draft: RecipeDraft): RecipeDraft {
  const extra: Record<string, string> = {};
  for (const [k, v] of Object.entries(draft.extra).slice(0, DRAFT_LIMITS.maxExtra)) extra[k.slice(0, 100)] = v.slice(0, DRAFT_LIMITS.maxValue);
  return {
    ...draft,
    prompt: draft.prompt.slice(0, DRAFT_LIMITS.maxText),
    negative_prompt: draft.negative_prompt.slice(0, DRAFT_LIMITS.maxText),
    loras: draft.loras.slice(0, DRAFT_LIMITS.maxLoras).map((l) => ({ ...l, name: l.name.slice(0, DRAFT_LIMITS.maxName) })),
    embeddings: draft.embeddings.slice(0, DRAFT_LIMITS.maxEmbeddings),
    extra,
  };
}

/** A draft is a recipe when it says something reusable: a prompt, a LoRA or a checkpoint. */
export function hasRecipe(draft: RecipeDraft): boolean {
  return draft.prompt !== '' || draft.loras.length > 0 || draft.params.checkpoint !== null;
}
