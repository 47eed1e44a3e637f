import { randomInt } from 'node:crypto';
import type { GenerationParams, Recipe, RecipeApplyBody, RecipeApplyResult, RecipeDuplicateGroups, RecipeMergeBody } from '@lora-manager/contract';
import sharp from 'sharp';
import { AppError, NotFoundError } from '../../errors.ts';
import type { Clock } from '../../lib/clock.ts';
import { formatInfotext } from '../../lib/infotext.ts';
import { isPng, withTextChunk } from '../../lib/png.ts';
import { formatWeight } from '../../lib/prompt-syntax.ts';
import type { AdapterRepository } from '../../library/repositories/adapter.repository.ts';
import type { RecipeRepository } from '../repositories/recipe.repository.ts';
import { cleanTags, parseJson, tagKey } from './recipe-mapping.ts';
import type { RecipePreviewStore } from './recipe-preview.store.ts';
import type { RecipeService } from './recipe.service.ts';

/** What queuing a generation needs (GenerationService.enqueue); the recipe id links its results back. */
export interface RecipeGenerator {
  enqueue(params: GenerationParams, options: { backend: string; mode: 'deferred'; saveImages: boolean; returnFormat: 'url'; recipeId: string }): Promise<{ id: string; warnings: string[] }>;
}

export interface RecipeUseServiceOptions {
  recipes: RecipeRepository;
  recipeService: RecipeService;
  adapters: AdapterRepository;
  previews: RecipePreviewStore;
  generator: RecipeGenerator;
  defaultBackend: string;
  clock: Clock;
}

/** Using recipes: send to Compose or Generate, queue variations, export, and merge duplicates. */
export class RecipeUseService {
  constructor(private readonly o: RecipeUseServiceOptions) {}

  async apply(id: string, body: RecipeApplyBody): Promise<RecipeApplyResult> {
    const recipe = await this.o.recipeService.get(id);
    const missing = recipe.loras.filter((l) => l.missing).map((l) => l.name);
    if (body.target === 'compose') return { target: 'compose', activated: await this.activate(recipe), missing, generation_params: null, job_ids: [], warnings: [] };

    const params = generationParams(recipe);
    const count = body.count ?? 0;
    const jobIds: string[] = [];
    const warnings = new Set<string>();
    for (let i = 0; i < count; i++) {
      const variant = body.vary === 'weight' ? withSweep(recipe, body, i, count) : { ...params, seed: count > 1 || params.seed === undefined ? randomInt(0, 2 ** 32) : params.seed };
      const queued = await this.o.generator.enqueue(variant, {
        backend: body.backend ?? this.o.defaultBackend,
        mode: 'deferred',
        saveImages: true,
        returnFormat: 'url',
        recipeId: recipe.id,
      });
      jobIds.push(queued.id);
      for (const w of queued.warnings) warnings.add(w);
    }
    return { target: 'generate', activated: [], missing, generation_params: params, job_ids: jobIds, warnings: [...warnings] };
  }

  /** Make the recipe's matched LoRAs the active set, in its order and with its weights. */
  private async activate(recipe: Recipe): Promise<RecipeApplyResult['activated']> {
    const now = this.o.clock.now().toISOString();
    const matched = recipe.loras.filter((l) => l.adapter_id !== null);
    return this.o.adapters.transaction(async (repo) => {
      const active = await repo.listActive();
      await repo.setFlag(
        active.map((a) => a.id),
        'active',
        false,
        now,
      );
      const out: RecipeApplyResult['activated'] = [];
      for (const [ordinal, l] of matched.entries()) {
        const id = l.adapter_id as string;
        await repo.update(id, { weight: l.weight, updated_at: now }, undefined, ['weight']);
        await repo.setActive(id, true, ordinal, now);
        out.push({ adapter_id: id, name: l.adapter_name ?? l.name, weight: l.weight });
      }
      return out;
    });
  }

  async duplicates(): Promise<RecipeDuplicateGroups> {
    return { groups: await this.o.recipes.duplicateGroups() };
  }

  /** Keep one recipe; fold the others' tags, favourite, best rating and notes into it, then delete them. */
  async merge(body: RecipeMergeBody): Promise<Recipe> {
    const remove = [...new Set(body.remove)].filter((id) => id !== body.keep);
    if (remove.length === 0) throw new AppError(422, 'validation_failed', 'Name at least one recipe to merge other than the one kept');
    const rows = await this.o.recipes.findByIds([body.keep, ...remove]);
    const keep = rows.find((r) => r.id === body.keep);
    if (!keep) throw new NotFoundError('recipe_not_found', 'Recipe to keep not found');
    const others = rows.filter((r) => r.id !== body.keep);
    const unknown = remove.filter((id) => !others.some((r) => r.id === id));
    if (unknown.length > 0) throw new NotFoundError('recipe_not_found', `Recipe not found: ${unknown.join(', ')}`);
    const tags = cleanTags([keep, ...others].flatMap((r) => parseJson<string[]>(r.tags, [])));
    const ratings = [keep, ...others].map((r) => r.rating).filter((r): r is number => r !== null);
    const notes = [keep, ...others].map((r) => r.notes?.trim()).filter((n): n is string => !!n);
    await this.o.recipes.update(
      keep.id,
      {
        tags: JSON.stringify(tags),
        favorite: [keep, ...others].some((r) => r.favorite === 1) ? 1 : 0,
        rating: ratings.length > 0 ? Math.max(...ratings) : null,
        notes: notes.length > 0 ? [...new Set(notes)].join('\n\n').slice(0, 10_000) : null,
        preview_file: keep.preview_file ?? others.find((r) => r.preview_file)?.preview_file ?? null,
        preview_type: keep.preview_file ? keep.preview_type : (others.find((r) => r.preview_file)?.preview_type ?? null),
        updated_at: this.o.clock.now().toISOString(),
      },
      undefined,
      tags.map(tagKey),
    );
    const adopted = keep.preview_file ? null : (others.find((r) => r.preview_file)?.preview_file ?? null);
    await this.o.recipes.delete(remove);
    for (const r of others) if (r.preview_file !== adopted) await this.o.previews.remove(r.preview_file);
    return this.o.recipeService.get(keep.id);
  }

  /** JSON (the API shape, re-importable by the JSON importer) or a PNG carrying the recipe as A1111 infotext. */
  async export(id: string, format: 'json' | 'png'): Promise<{ filename: string; contentType: string; data: Buffer }> {
    const recipe = await this.o.recipeService.get(id);
    const base = recipe.name.replace(/[^\w.-]+/g, '_').slice(0, 80) || 'recipe';
    if (format === 'json') {
      const { id: _id, preview_url: _p, created_at: _c, updated_at: _u, ...portable } = recipe;
      return { filename: `${base}.recipe.json`, contentType: 'application/json', data: Buffer.from(JSON.stringify({ format: 'lora-manager-recipe', version: 1, recipe: portable }, null, 2)) };
    }
    const row = await this.o.recipes.findById(id);
    const stored = row?.preview_file ? await this.o.previews.read(row.preview_file) : null;
    let png: Buffer;
    if (stored && isPng(stored)) png = stored;
    else if (stored) png = await sharp(stored).png().toBuffer();
    else png = await sharp({ create: { width: 512, height: 512, channels: 3, background: { r: 32, g: 36, b: 48 } } }).png().toBuffer();
    const hashes = new Map((await this.o.adapters.findByIds(recipe.loras.flatMap((l) => (l.adapter_id ? [l.adapter_id] : [])))).map((a) => [a.id, a]));
    return { filename: `${base}.png`, contentType: 'image/png', data: withTextChunk(png, 'parameters', recipeInfotext(recipe, (adapterId) => hashes.get(adapterId))) };
  }
}

/** The prompt with the recipe's LoRA tokens appended, named as the catalogue names the matched adapter. */
export function promptWithLoras(recipe: Recipe, weightOverride?: { position: number; weight: number }): string {
  const tokens = recipe.loras.map((l) => {
    const weight = weightOverride?.position === l.position ? weightOverride.weight : l.weight;
    const name = l.adapter_name ?? l.name;
    return l.clip_weight !== null && weightOverride?.position !== l.position
      ? `<lora:${name}:${formatWeight(l.clip_weight, 'a1111')}:${formatWeight(weight, 'a1111')}>`
      : `<lora:${name}:${formatWeight(weight, 'a1111')}>`;
  });
  return [recipe.prompt, tokens.join(' ')].filter(Boolean).join(', ');
}

export function generationParams(recipe: Recipe): GenerationParams {
  const p = recipe.params;
  const out: GenerationParams = { prompt: promptWithLoras(recipe) };
  if (recipe.negative_prompt) out.negative_prompt = recipe.negative_prompt;
  if (p.steps !== null && p.steps >= 1 && p.steps <= 1000) out.steps = p.steps;
  if (p.sampler) out.sampler_name = p.sampler;
  if (p.scheduler) out.scheduler = p.scheduler;
  if (p.cfg_scale !== null && p.cfg_scale >= 0 && p.cfg_scale <= 100) out.cfg_scale = p.cfg_scale;
  if (p.width !== null && p.width >= 16 && p.width <= 8192) out.width = p.width;
  if (p.height !== null && p.height >= 16 && p.height <= 8192) out.height = p.height;
  if (p.seed !== null && p.seed >= -1 && Number.isSafeInteger(p.seed)) out.seed = p.seed;
  if (p.checkpoint) out.checkpoint = p.checkpoint;
  if (p.clip_skip !== null && p.clip_skip >= 1 && p.clip_skip <= 12) out.clip_skip = p.clip_skip;
  if (p.denoising_strength !== null && p.hires && p.denoising_strength >= 0 && p.denoising_strength <= 1) out.denoising_strength = p.denoising_strength;
  return out;
}

function withSweep(recipe: Recipe, body: RecipeApplyBody, i: number, count: number): GenerationParams {
  const sweep = body.sweep;
  if (!sweep || !recipe.loras.some((l) => l.position === sweep.position)) {
    throw new AppError(422, 'validation_failed', 'A weight sweep needs `sweep.position` naming one of the recipe\'s LoRAs');
  }
  const weight = count === 1 ? sweep.from : sweep.from + ((sweep.to - sweep.from) * i) / (count - 1);
  // The seed stays fixed so the images differ only by the swept weight.
  return { ...generationParams(recipe), prompt: promptWithLoras(recipe, { position: sweep.position, weight: Number(weight.toFixed(3)) }) };
}

const KNOWN_KEYS = new Set(['Lora hashes', 'TI hashes', 'Model hash', 'Model', 'Steps', 'Sampler', 'Seed', 'Size', 'CFG scale']);

/** A1111 infotext for a recipe, with `Lora hashes` from the matched adapters (AutoV3, else AutoV2) or the source. */
export function recipeInfotext(recipe: Recipe, adapter: (id: string) => { autov2: string | null; autov3: string | null } | undefined): string {
  const p = recipe.params;
  const loraHashes = recipe.loras
    .map((l) => {
      const a = l.adapter_id ? adapter(l.adapter_id) : undefined;
      const hash = a?.autov3 ?? a?.autov2 ?? l.hash;
      return hash ? `${(l.adapter_name ?? l.name).replace(/[:,]/g, '')}: ${hash}` : null;
    })
    .filter(Boolean)
    .join(', ');
  return formatInfotext(promptWithLoras(recipe), recipe.negative_prompt, [
    ['Steps', p.steps],
    ['Sampler', p.sampler],
    ['Schedule type', p.scheduler],
    ['CFG scale', p.cfg_scale],
    ['Seed', p.seed],
    ['Size', p.width && p.height ? `${p.width}x${p.height}` : null],
    ['Model hash', p.model_hash],
    ['Model', p.checkpoint],
    ['VAE', p.vae],
    ['Denoising strength', p.denoising_strength],
    ['Clip skip', p.clip_skip && p.clip_skip > 1 ? p.clip_skip : null],
    ['Hires upscale', p.hires?.upscale],
    ['Hires steps', p.hires?.steps],
    ['Hires upscaler', p.hires?.upscaler],
    ['Hires resize', p.hires?.resize_x && p.hires.resize_y ? `${p.hires.resize_x}x${p.hires.resize_y}` : null],
    ...Object.entries(p.adetailer ?? {}),
    // What the source said that has no field of ours (ENSD, extension keys) travels along, as A1111 would keep it.
    ...Object.entries(recipe.extra).filter(([k]) => k !== 'Version' && !KNOWN_KEYS.has(k)),
    ['Lora hashes', loraHashes || null],
    ['TI hashes', recipe.embeddings.filter((e) => e.hash).map((e) => `${e.name}: ${e.hash}`).join(', ') || null],
    ['Version', 'lora-manager recipe'],
  ]);
}
