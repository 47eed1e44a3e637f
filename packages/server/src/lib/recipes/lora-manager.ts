import { boundDraft, emptyParams, finiteNumber, integer, normaliseHash, text, type DraftHires, type DraftLora, type DraftParams, type RecipeDraft } from './recipe-draft.ts';

/** Our own recipe export (`GET /recipes/{id}/export?format=json`): `{format: "lora-manager-recipe", version, recipe}`. */
export const RECIPE_EXPORT_FORMAT = 'lora-manager-recipe';

type Json = Record<string, unknown>;

export function isRecipeExport(value: unknown): value is { recipe: Json } {
  const obj = value as Json | null;
  return !!obj && typeof obj === 'object' && obj.format === RECIPE_EXPORT_FORMAT && !!obj.recipe && typeof obj.recipe === 'object';
}

/** Every field is re-checked: an exported file may have been edited by hand or come from someone else. */
export function parseRecipeExport(value: { recipe: Json }): RecipeDraft {
  const r = value.recipe;
  const p = (r.params && typeof r.params === 'object' ? r.params : {}) as Json;
  const params: DraftParams = {
    ...emptyParams(),
    checkpoint: text(p.checkpoint),
    model_hash: normaliseHash(p.model_hash),
    sampler: text(p.sampler),
    scheduler: text(p.scheduler),
    steps: integer(p.steps),
    cfg_scale: finiteNumber(p.cfg_scale),
    width: integer(p.width),
    height: integer(p.height),
    seed: integer(p.seed),
    clip_skip: integer(p.clip_skip),
    denoising_strength: finiteNumber(p.denoising_strength),
    vae: text(p.vae),
    hires: hiresOf(p.hires),
    adetailer: stringRecord(p.adetailer),
  };
  const loras: DraftLora[] = (Array.isArray(r.loras) ? r.loras : []).flatMap((item: unknown) => {
    const l = (item && typeof item === 'object' ? item : {}) as Json;
    const name = text(l.name, 300);
    if (!name) return [];
    return [{ name, weight: finiteNumber(l.weight) ?? 1, clip_weight: finiteNumber(l.clip_weight), hash: normaliseHash(l.hash), civitai_model_id: integer(l.civitai_model_id), civitai_version_id: integer(l.civitai_version_id) }];
  });
  return boundDraft({
    source: 'lora-manager',
    prompt: text(r.prompt, 20_000) ?? '',
    negative_prompt: text(r.negative_prompt, 20_000) ?? '',
    params,
    loras,
    embeddings: (Array.isArray(r.embeddings) ? r.embeddings : []).flatMap((item: unknown) => {
      const e = (item && typeof item === 'object' ? item : {}) as Json;
      const name = text(e.name, 300);
      return name ? [{ name, hash: normaliseHash(e.hash) }] : [];
    }),
    extra: stringRecord(r.extra) ?? {},
  });
}

function hiresOf(value: unknown): DraftHires | null {
  if (!value || typeof value !== 'object') return null;
  const h = value as Json;
  return {
    upscale: finiteNumber(h.upscale),
    upscaler: text(h.upscaler),
    steps: integer(h.steps),
    denoising_strength: finiteNumber(h.denoising_strength),
    resize_x: integer(h.resize_x),
    resize_y: integer(h.resize_y),
  };
}

function stringRecord(value: unknown): Record<string, string> | null {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return null;
  const entries = Object.entries(value as Json).filter((e): e is [string, string] => typeof e[1] === 'string');
  return entries.length > 0 ? Object.fromEntries(entries) : null;
}
