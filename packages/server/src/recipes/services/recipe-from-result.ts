import fsp from 'node:fs/promises';
import type { RecipeParams } from '@lora-manager/contract';
import { parseLoraTokens, stripLoraTokens } from '../../lib/prompt-syntax.ts';
import { emptyParams, normaliseHash } from '../../lib/recipes/recipe-draft.ts';

/** A LoRA as a recipe is given it, before matching. */
export type LoraIn = { name: string; weight: number; clip_weight: number | null; hash: string | null; adapter_id?: string | null; civitai_model_id: number | null; civitai_version_id: number | null };

/** What a recipe needs from the history: a result (prompt, parameters, LoRAs used) and its first image. */
export interface RecipeResultSource {
  get(id: string): Promise<{
    prompt: string;
    negative_prompt: string | null;
    width: number | null;
    height: number | null;
    steps: number | null;
    cfg_scale: number | null;
    seed: number | null;
    sampler_name: string | null;
    generation_info: unknown;
    adapters: Array<{ id: string | null; name: string; weight: number }>;
  }>;
  imageFile(id: string, index: number): Promise<{ path: string }>;
}

/** "Save as recipe" from History: the result's prompt (tokens taken out), parameters, LoRAs used and first image. */
export async function recipeFromResult(results: RecipeResultSource, resultId: string): Promise<{ prompt: string; negative: string; params: RecipeParams; loras: LoraIn[]; preview: Buffer | null }> {
  const result = await results.get(resultId);
  const tokens = parseLoraTokens(result.prompt, 'a1111');
  const used = result.adapters.length > 0 ? result.adapters : tokens.map((t) => ({ id: null, name: t.name, weight: t.weight }));
  const loras: LoraIn[] = used.map((a) => {
    const token = tokens.find((t) => t.name === a.name);
    const model = token?.unet ?? a.weight;
    const clip = token?.te ?? model;
    return { name: a.name, weight: model, clip_weight: clip !== model ? clip : null, hash: null, adapter_id: a.id, civitai_model_id: null, civitai_version_id: null };
  });
  const info = (result.generation_info && typeof result.generation_info === 'object' ? result.generation_info : {}) as Record<string, unknown>;
  let preview: Buffer | null = null;
  try {
    preview = await fsp.readFile((await results.imageFile(resultId, 0)).path);
  } catch {
    // A result without images (failed, or its files deleted) still gives a recipe, without a preview.
  }
  return {
    prompt: stripLoraTokens(result.prompt),
    negative: result.negative_prompt ?? '',
    params: {
      ...emptyParams(),
      checkpoint: typeof info.sd_model_name === 'string' ? info.sd_model_name : null,
      model_hash: normaliseHash(info.sd_model_hash),
      sampler: result.sampler_name,
      steps: result.steps,
      cfg_scale: result.cfg_scale,
      width: result.width,
      height: result.height,
      seed: result.seed,
    },
    loras,
    preview,
  };
}
