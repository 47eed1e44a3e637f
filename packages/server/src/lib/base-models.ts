/**
 * Base-model families and the names we show for them. Names follow CivitAI's `baseModel` spelling (what CivitAI
 * and its sidecars write, and what users filter on); the family is the coarse architecture a LoRA must match.
 */
export type BaseFamily = 'sd1' | 'sd2' | 'sdxl' | 'sd3' | 'flux' | 'chroma' | 'lumina' | 'hunyuan-image' | 'hunyuan-video' | 'wan' | 'other';

export interface BaseModelGuess {
  baseModel: string;
  family: BaseFamily;
  /** Where the guess came from, most to least trusted. */
  source: 'sidecar' | 'ss_base_model_version' | 'modelspec' | 'ss_sd_model_name' | 'ss_v2' | 'tensors';
}

const FAMILY_DEFAULT_NAME: Record<BaseFamily, string> = {
  sd1: 'SD 1.5',
  sd2: 'SD 2.1',
  sdxl: 'SDXL 1.0',
  sd3: 'SD 3',
  flux: 'Flux.1 D',
  chroma: 'Chroma',
  lumina: 'Lumina',
  'hunyuan-image': 'HunyuanImage',
  'hunyuan-video': 'Hunyuan Video',
  wan: 'Wan Video',
  other: 'Other',
};

/** A1111's `sd version` vocabulary (NAME.json) for a family. */
export function a1111SdVersion(family: BaseFamily): string {
  return { sd1: 'SD1', sd2: 'SD2', sdxl: 'SDXL', sd3: 'SD3' }[family as 'sd1'] ?? 'Unknown';
}

const FAMILY_SD_VERSION: Partial<Record<BaseFamily, string>> = {
  sd1: 'SD1',
  sd2: 'SD2',
  sdxl: 'SDXL',
  sd3: 'SD3',
  flux: 'Flux',
  chroma: 'Chroma',
  lumina: 'Lumina',
  'hunyuan-image': 'HunyuanImage',
  'hunyuan-video': 'HunyuanVideo',
  wan: 'Wan',
};

/**
 * The original's `sd_version` for an adapter: what was stored when it says something, otherwise derived from the
 * known base model (A1111's words for the SD families, the family's name beyond them, the base model itself when the
 * family is not one we know). "Unknown" only when the base model is unknown too, so the two fields never disagree.
 */
export function consistentSdVersion(stored: string | null, baseModel: string | null): string | null {
  const said = stored?.trim();
  if (said && said.toLowerCase() !== 'unknown') return stored;
  const base = baseModel?.trim();
  if (!base) return stored;
  return FAMILY_SD_VERSION[familyOfCivitaiBaseModel(base)] ?? base;
}

export function guessFor(family: BaseFamily, source: BaseModelGuess['source'], name?: string): BaseModelGuess {
  return { baseModel: name ?? FAMILY_DEFAULT_NAME[family], family, source };
}

/** kohya `ss_base_model_version` values (sd-scripts train_util / sai_model_spec). */
export function fromKohyaVersion(value: string): BaseModelGuess | null {
  const v = value.trim().toLowerCase();
  if (v === 'sd_v1' || v.startsWith('sd_v1')) return guessFor('sd1', 'ss_base_model_version');
  if (v === 'sd_v2_v' || v === 'sd_v2_768_v') return guessFor('sd2', 'ss_base_model_version', 'SD 2.1 768');
  if (v.startsWith('sd_v2')) return guessFor('sd2', 'ss_base_model_version');
  if (v.startsWith('sdxl')) return guessFor('sdxl', 'ss_base_model_version');
  if (v.startsWith('flux')) return guessFor('flux', 'ss_base_model_version');
  if (v === 'chroma') return guessFor('chroma', 'ss_base_model_version');
  if (v.startsWith('lumina')) return guessFor('lumina', 'ss_base_model_version');
  if (v.startsWith('hunyuan-image') || v.startsWith('hunyuan_image')) return guessFor('hunyuan-image', 'ss_base_model_version');
  if (v === '5-large' || v === 'sd3.5-large') return guessFor('sd3', 'ss_base_model_version', 'SD 3.5 Large');
  if (v === '5-medium' || v === 'sd3.5-medium') return guessFor('sd3', 'ss_base_model_version', 'SD 3.5 Medium');
  if (v === 'medium' || v === '2b' || v.startsWith('sd3')) return guessFor('sd3', 'ss_base_model_version');
  return null;
}

/** `modelspec.architecture`, e.g. `stable-diffusion-xl-v1-base/lora`; other tools spell `SD-XL`, `SD-3`. */
export function fromModelspecArchitecture(value: string): BaseModelGuess | null {
  const v = value.trim().toLowerCase().replace(/\/.*$/, '');
  const s = 'modelspec' as const;
  if (v.startsWith('stable-diffusion-v1') || v.startsWith('sd-v1') || v === 'sd1') return guessFor('sd1', s);
  if (v.includes('v2-768-v') || v.includes('v2-1-768')) return guessFor('sd2', s, 'SD 2.1 768');
  if (v.startsWith('stable-diffusion-v2') || v.startsWith('sd-v2') || v === 'sd2') return guessFor('sd2', s);
  if (v.startsWith('stable-diffusion-xl') || v.startsWith('sd-xl') || v === 'sdxl') return guessFor('sdxl', s);
  if (v.startsWith('stable-diffusion-3-5-large') || v.startsWith('sd-3.5-large') || v.startsWith('sd-3-5-large')) return guessFor('sd3', s, 'SD 3.5 Large');
  if (v.startsWith('stable-diffusion-3-5-medium') || v.startsWith('sd-3.5-medium') || v.startsWith('sd-3-5-medium')) return guessFor('sd3', s, 'SD 3.5 Medium');
  if (v.startsWith('stable-diffusion-3') || v.startsWith('sd-3') || v === 'sd3') return guessFor('sd3', s);
  if (v.startsWith('flux-1-schnell') || v.startsWith('flux.1-schnell')) return guessFor('flux', s, 'Flux.1 S');
  if (v.startsWith('flux')) return guessFor('flux', s);
  if (v.startsWith('chroma')) return guessFor('chroma', s);
  if (v.startsWith('lumina')) return guessFor('lumina', s);
  if (v.startsWith('hunyuan-image')) return guessFor('hunyuan-image', s);
  return null;
}

/** SDXL fine-tunes that share SDXL's shapes can only be told apart by the base checkpoint's name. */
export function refineByCheckpointName(guess: BaseModelGuess | null, sdModelName: string | null): BaseModelGuess | null {
  if (!sdModelName) return guess;
  const n = sdModelName.toLowerCase();
  if (guess && guess.family !== 'sdxl') return guess;
  if (n.includes('pony')) return guessFor('sdxl', 'ss_sd_model_name', 'Pony');
  if (n.includes('illustrious') || /\bill?xl\b/.test(n)) return guessFor('sdxl', 'ss_sd_model_name', 'Illustrious');
  if (n.includes('noob')) return guessFor('sdxl', 'ss_sd_model_name', 'NoobAI');
  return guess;
}

/** CivitAI `baseModel` strings (sidecars, API) to a family, so a sidecar's answer can be checked against the file. */
export function familyOfCivitaiBaseModel(value: string): BaseFamily {
  const v = value.toLowerCase();
  if (v.startsWith('sd 1')) return 'sd1';
  if (v.startsWith('sd 2')) return 'sd2';
  if (v.startsWith('sdxl') || v === 'pony' || v.startsWith('illustrious') || v.startsWith('noobai')) return 'sdxl';
  if (v.startsWith('sd 3')) return 'sd3';
  if (v.startsWith('flux')) return 'flux';
  if (v.startsWith('chroma')) return 'chroma';
  if (v.startsWith('lumina')) return 'lumina';
  if (v.startsWith('hunyuan video')) return 'hunyuan-video';
  if (v.startsWith('hunyuan')) return 'hunyuan-image';
  if (v.startsWith('wan')) return 'wan';
  return 'other';
}
