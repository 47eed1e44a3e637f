import { parseLoraTokens, stripLoraTokens } from '../prompt-syntax.ts';
import { parseNamedHashes } from './a1111.ts';
import {
  boundDraft,
  emptyParams,
  finiteNumber,
  integer,
  loraBaseName,
  normaliseHash,
  text,
  type DraftLora,
  type RecipeDraft,
} from './recipe-draft.ts';

/**
 * CivitAI image metadata (the `meta` object of `/api/v1/images` items, or the "copy generation data" JSON) → draft.
 * LoRAs come from `resources` (name, weight, hash), `civitaiResources` (model-version ids) and `hashes` (`lora:name`
 * keys), merged by name; `<lora:…>` tokens in the prompt supply weights the resources leave out.
 */

type Json = Record<string, unknown>;

function asObject(value: unknown): Json | null {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : null;
}

/** The metadata object itself: an images-API item wraps it in `meta`. */
export function civitaiMeta(value: unknown): Json | null {
  const obj = asObject(value);
  if (!obj) return null;
  const meta = asObject(obj.meta);
  const inner = meta && (meta.prompt !== undefined || meta.resources !== undefined || meta.civitaiResources !== undefined) ? meta : obj;
  const known = ['resources', 'civitaiResources', 'cfgScale', 'negativePrompt', 'hashes'].some((k) => k in inner);
  return known ? inner : null;
}

const isLoraType = (type: unknown) => typeof type === 'string' && /^(lora|locon|lycoris|dora)$/i.test(type);

export function parseCivitai(meta: Json): RecipeDraft {
  const rawPrompt = text(meta.prompt, 20_000) ?? '';
  const tokens = new Map(parseLoraTokens(rawPrompt, 'a1111').map((t) => [t.name, t]));
  const loras: DraftLora[] = [];
  const byName = new Map<string, DraftLora>();
  const add = (name: string, fields: Partial<DraftLora>) => {
    const key = loraBaseName(name);
    const existing = byName.get(key);
    if (existing) {
      for (const [k, v] of Object.entries(fields)) if (v !== null && v !== undefined && (existing as unknown as Json)[k] === null) (existing as unknown as Json)[k] = v;
      return;
    }
    const token = tokens.get(name) ?? tokens.get(key);
    const lora: DraftLora = {
      name: key,
      weight: fields.weight ?? token?.unet ?? token?.weight ?? 1,
      clip_weight: fields.clip_weight ?? null,
      hash: fields.hash ?? null,
      civitai_model_id: fields.civitai_model_id ?? null,
      civitai_version_id: fields.civitai_version_id ?? null,
    };
    byName.set(key, lora);
    loras.push(lora);
  };

  let checkpoint = text(meta.Model);
  let modelHash = normaliseHash(meta['Model hash']);
  for (const r of Array.isArray(meta.resources) ? meta.resources.slice(0, 200) : []) {
    const res = asObject(r);
    if (!res) continue;
    const name = text(res.name, 300);
    if (isLoraType(res.type) && name) add(name, { weight: finiteNumber(res.weight) ?? undefined, hash: normaliseHash(res.hash) });
    else if (res.type === 'model' && name) {
      checkpoint ??= name;
      modelHash ??= normaliseHash(res.hash);
    }
  }
  for (const r of Array.isArray(meta.civitaiResources) ? meta.civitaiResources.slice(0, 200) : []) {
    const res = asObject(r);
    if (!res || !isLoraType(res.type)) continue;
    const versionId = integer(res.modelVersionId);
    const name = text(res.modelName, 300) ?? text(res.modelVersionName, 300) ?? (versionId !== null ? `civitai-${versionId}` : null);
    if (!name) continue;
    // Resources listed only by id: merge into the same-named LoRA when there is one, else a new entry.
    add(name, { weight: finiteNumber(res.weight) ?? finiteNumber(res.strength) ?? undefined, civitai_version_id: versionId, civitai_model_id: integer(res.modelId) });
  }
  const hashes = asObject(meta.hashes);
  for (const [key, value] of Object.entries(hashes ?? {})) {
    if (key.startsWith('lora:')) add(key.slice(5), { hash: normaliseHash(value) });
    else if (key === 'model') modelHash ??= normaliseHash(value);
  }
  for (const [name, hash] of parseNamedHashes(typeof meta['Lora hashes'] === 'string' ? meta['Lora hashes'] : undefined)) add(name, { hash });
  for (const token of tokens.values()) add(token.name, {});

  const size = typeof meta.Size === 'string' ? /^(\d+)x(\d+)$/.exec(meta.Size) : null;
  const clipSkip = integer(meta.clipSkip ?? meta['Clip skip']);
  const params = {
    ...emptyParams(),
    checkpoint,
    model_hash: modelHash,
    sampler: text(meta.sampler),
    scheduler: text(meta.scheduler ?? meta['Schedule type']),
    steps: integer(meta.steps),
    cfg_scale: finiteNumber(meta.cfgScale),
    width: size ? Number(size[1]) : integer(meta.width),
    height: size ? Number(size[2]) : integer(meta.height),
    seed: integer(meta.seed),
    clip_skip: clipSkip !== null && clipSkip > 1 ? clipSkip : null,
    denoising_strength: finiteNumber(meta['Denoising strength']),
    vae: text(meta.VAE),
  };
  const hiresUpscale = finiteNumber(meta['Hires upscale']);
  if (hiresUpscale !== null || meta['Hires upscaler'] !== undefined) {
    params.hires = {
      upscale: hiresUpscale,
      upscaler: text(meta['Hires upscaler']),
      steps: integer(meta['Hires steps']),
      denoising_strength: finiteNumber(meta['Denoising strength']),
      resize_x: null,
      resize_y: null,
    };
  }
  const embeddings = [...parseNamedHashes(typeof meta['TI hashes'] === 'string' ? meta['TI hashes'] : undefined)].map(([name, hash]) => ({ name, hash }));
  return boundDraft({
    source: 'civitai',
    prompt: stripLoraTokens(rawPrompt),
    negative_prompt: text(meta.negativePrompt, 20_000) ?? '',
    params,
    loras,
    embeddings,
    extra: {},
  });
}
