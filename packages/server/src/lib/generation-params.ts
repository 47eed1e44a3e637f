import { toUiStatus, type GenerationParams, type ResolvedGenerationParams } from '@lora-manager/contract';

export interface ParamDefaults {
  steps: number;
  sampler: string;
  cfgScale: number;
}

/** The original's defaults, with steps, sampler and CFG from SDNEXT_DEFAULT_* (which the original never applied). */
export function resolveGenerationParams(input: GenerationParams, defaults: ParamDefaults): ResolvedGenerationParams {
  return {
    prompt: input.prompt,
    negative_prompt: input.negative_prompt ?? null,
    steps: input.steps ?? defaults.steps,
    sampler_name: input.sampler_name ?? defaults.sampler,
    scheduler: input.scheduler ?? null,
    cfg_scale: input.cfg_scale ?? defaults.cfgScale,
    width: input.width ?? 512,
    height: input.height ?? 512,
    seed: input.seed ?? -1,
    batch_size: input.batch_size ?? 1,
    n_iter: input.n_iter ?? 1,
    denoising_strength: input.denoising_strength ?? null,
    checkpoint: input.checkpoint ?? null,
    clip_skip: input.clip_skip ?? null,
  };
}

/** The original's advisory checks (it only logged them); impossible values are refused by the schema instead. */
export function generationWarnings(p: ResolvedGenerationParams): string[] {
  const warnings: string[] = [];
  if (!p.prompt.trim()) warnings.push('Empty prompt provided');
  if (p.width * p.height > 2048 * 2048) warnings.push('Very large image dimensions may cause memory issues');
  if (p.width % 8 !== 0 || p.height % 8 !== 0) warnings.push('Width and height should be multiples of 8; the server will round them');
  if (p.steps > 100) warnings.push('High step count may take very long to generate');
  if (p.cfg_scale < 1) warnings.push('CFG scale below 1.0 may produce poor results');
  if (p.cfg_scale > 20) warnings.push('Very high CFG scale may produce oversaturated images');
  if (p.batch_size > 8) warnings.push('Large batch size may cause memory issues');
  return warnings;
}

/** Raw job status → the UI vocabulary of the generation routes (original §1.2). */
export const uiStatus = toUiStatus;

export const API_BASE = '/api/v1';

export const resultUrls = {
  image: (id: string, n: number) => `${API_BASE}/generation/results/${encodeURIComponent(id)}/images/${n}`,
  thumbnail: (id: string, n: number) => `${API_BASE}/generation/results/${encodeURIComponent(id)}/images/${n}/thumbnail`,
  preview: (id: string, version: number) => `${API_BASE}/generation/jobs/${encodeURIComponent(id)}/preview?v=${version}`,
};
