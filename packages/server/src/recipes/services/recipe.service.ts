import { randomUUID } from 'node:crypto';
import fsp from 'node:fs/promises';
import type {
  Recipe,
  RecipeCreate,
  RecipeDraft as ApiDraft,
  RecipeImportResult,
  RecipeInputFailure,
  RecipeListQuery,
  RecipePage,
  RecipeParams,
  RecipeParseResult,
  RecipePatch,
} from '@lora-manager/contract';
import type { RecipeLoraTable, RecipeTable } from '../../db/tables.ts';
import { AppError, NotFoundError } from '../../errors.ts';
import type { Clock } from '../../lib/clock.ts';
import { imageFormat } from '../../lib/recipes/image-text.ts';
import { parseRecipeImage, parseRecipeText } from '../../lib/recipes/parse-recipe.ts';
import { emptyParams, loraBaseName, normaliseHash, RecipeParseError, type RecipeDraft } from '../../lib/recipes/recipe-draft.ts';
import type { RecipeRepository } from '../repositories/recipe.repository.ts';
import type { RecipeMatcher } from './recipe-matcher.ts';
import { cleanTags, defaultName, fingerprintOf, paramsOf, searchTextOf, tagKey, toRecipe, toRecipeLora } from './recipe-mapping.ts';
import type { RecipePreviewStore } from './recipe-preview.store.ts';
import { recipeFromResult, type LoraIn, type RecipeResultSource } from './recipe-from-result.ts';

/** One thing to read a recipe from: an uploaded image or a pasted text, with the label failures are reported under. */
export interface RecipeInput {
  label: string;
  bytes?: Buffer;
  text?: string;
}

export interface RecipeServiceOptions {
  recipes: RecipeRepository;
  matcher: RecipeMatcher;
  previews: RecipePreviewStore;
  results: RecipeResultSource;
  civitaiEnabled: () => Promise<boolean>;
  /** Told which recipes an import created, so their missing LoRAs are looked up on CivitAI (when it is on). */
  onImported?: (recipeIds: readonly string[]) => Promise<void>;
  clock: Clock;
}


const MAX_PREVIEW_BYTES = 32 * 1024 * 1024;

/** Recipes: CRUD and listing, parsing and importing from images and texts, and matching their LoRAs to the catalogue. */
export class RecipeService {
  constructor(private readonly o: RecipeServiceOptions) {}

  private now(): string {
    return this.o.clock.now().toISOString();
  }

  async list(query: RecipeListQuery): Promise<RecipePage> {
    const { rows, total } = await this.o.recipes.list({
      search: query.search?.trim() || undefined,
      tagKey: query.tag ? tagKey(query.tag) : undefined,
      adapterId: query.adapter_id,
      loraName: query.lora?.trim() || undefined,
      baseModel: query.base_model,
      missing: query.missing,
      favoritesOnly: query.favorites_only,
      sort: query.sort ?? 'newest',
      limit: query.limit ?? 50,
      offset: query.offset ?? 0,
    });
    return { items: await this.toApi(rows), total };
  }

  async get(id: string): Promise<Recipe> {
    const row = await this.o.recipes.findById(id);
    if (!row) throw new NotFoundError('recipe_not_found', 'Recipe not found');
    return (await this.toApi([row]))[0];
  }

  private async toApi(rows: readonly RecipeTable[]): Promise<Recipe[]> {
    const loras = await this.o.recipes.lorasFor(rows.map((r) => r.id));
    const civitai = await this.o.civitaiEnabled();
    return rows.map((r) => toRecipe(r, loras.get(r.id) ?? [], civitai));
  }

  /** By hand, from Compose (LoRAs with their adapter ids), or from a history result (`result_id`). */
  async create(body: RecipeCreate): Promise<Recipe> {
    let prompt = body.prompt ?? '';
    let negative = body.negative_prompt ?? '';
    let params: RecipeParams = { ...emptyParams(), ...(body.params ?? {}) };
    let loras: LoraIn[] = (body.loras ?? []).map(loraInput);
    let preview: Buffer | null = null;
    let source: RecipeTable['source'] = body.source ?? 'manual';
    if (body.result_id) {
      const fromResult = await recipeFromResult(this.o.results, body.result_id);
      prompt = body.prompt ?? fromResult.prompt;
      negative = body.negative_prompt ?? fromResult.negative;
      params = { ...fromResult.params, ...(body.params ?? {}) };
      if (!body.loras) loras = fromResult.loras;
      preview = fromResult.preview;
      source = 'result';
    }
    const id = await this.save({
      name: body.name,
      prompt,
      negative,
      params,
      loras,
      source,
      tags: body.tags ?? [],
      favorite: body.favorite ?? false,
      rating: body.rating ?? null,
      nsfw_level: body.nsfw_level ?? 0,
      notes: body.notes ?? null,
      extra: {},
      sourceResultId: body.result_id ?? null,
      preview,
    });
    return this.get(id);
  }

  async patch(id: string, body: RecipePatch): Promise<Recipe> {
    const row = await this.o.recipes.findById(id);
    if (!row) throw new NotFoundError('recipe_not_found', 'Recipe not found');
    const changes: Partial<RecipeTable> = { updated_at: this.now() };
    if (body.name !== undefined) changes.name = body.name.trim() || row.name;
    if (body.prompt !== undefined) changes.prompt = body.prompt;
    if (body.negative_prompt !== undefined) changes.negative_prompt = body.negative_prompt;
    if (body.params !== undefined) changes.params = JSON.stringify({ ...paramsOf(row.params), ...body.params });
    if (body.favorite !== undefined) changes.favorite = body.favorite ? 1 : 0;
    if (body.rating !== undefined) changes.rating = body.rating;
    if (body.nsfw_level !== undefined) changes.nsfw_level = body.nsfw_level;
    if (body.notes !== undefined) changes.notes = body.notes;
    let tagKeys: string[] | undefined;
    if (body.tags !== undefined) {
      const tags = cleanTags(body.tags);
      changes.tags = JSON.stringify(tags);
      tagKeys = tags.map(tagKey);
    }
    let loraRows: RecipeLoraTable[] | undefined;
    if (body.loras !== undefined) {
      loraRows = await this.matchLoras(id, body.loras.map(loraInput));
      Object.assign(changes, loraFacts(loraRows));
    }
    const loraNames = loraRows ?? (await this.o.recipes.lorasFor([id])).get(id) ?? [];
    changes.name_key = (changes.name ?? row.name).toLowerCase();
    changes.search_text = searchTextOf(changes.name ?? row.name, changes.prompt ?? row.prompt, loraNames);
    await this.o.recipes.update(id, changes, loraRows, tagKeys);
    if (loraRows) await this.o.recipes.recount([id], this.now());
    return this.get(id);
  }

  async delete(id: string): Promise<void> {
    const [row] = await this.o.recipes.delete([id]);
    if (!row) throw new NotFoundError('recipe_not_found', 'Recipe not found');
    await this.o.previews.remove(row.preview_file);
  }

  async preview(id: string): Promise<{ path: string; contentType: string; size: number }> {
    const row = await this.o.recipes.findById(id);
    if (!row) throw new NotFoundError('recipe_not_found', 'Recipe not found');
    const file = row.preview_file ? this.o.previews.pathOf(row.preview_file) : null;
    const stat = file ? await fsp.stat(file).catch(() => null) : null;
    if (!file || !stat) throw new NotFoundError('recipe_preview_not_found', 'This recipe has no preview image');
    return { path: file, contentType: row.preview_type ?? 'application/octet-stream', size: stat.size };
  }

  /** Dry run: what each input holds, matched against the catalogue; nothing is saved. */
  async parse(inputs: readonly RecipeInput[]): Promise<RecipeParseResult> {
    const drafts: RecipeParseResult['drafts'] = [];
    const failed: RecipeInputFailure[] = [];
    for (const input of inputs) {
      const draft = readInput(input);
      if ('failure' in draft) {
        failed.push(draft.failure);
        continue;
      }
      drafts.push({ input: input.label, draft: await this.describe(draft.value, input) });
    }
    return { drafts, failed };
  }

  /** Save a recipe per input that holds one; an image becomes its recipe's preview. All failing is a 422. */
  async import(inputs: readonly RecipeInput[], options: { name?: string; tags?: string[] } = {}): Promise<RecipeImportResult> {
    const created: string[] = [];
    const failed: RecipeInputFailure[] = [];
    let unmatchedWithHash = 0;
    for (const input of inputs) {
      const read = readInput(input);
      if ('failure' in read) {
        failed.push(read.failure);
        continue;
      }
      const draft = read.value;
      const id = await this.save({
        name: options.name && inputs.length === 1 ? options.name : input.bytes ? labelName(input.label) : undefined,
        prompt: draft.prompt,
        negative: draft.negative_prompt,
        params: draft.params,
        loras: draft.loras,
        source: draft.source,
        tags: options.tags ?? [],
        favorite: false,
        rating: null,
        nsfw_level: 0,
        notes: null,
        extra: { embeddings: draft.embeddings, fields: draft.extra },
        sourceResultId: null,
        preview: input.bytes ?? null,
      });
      created.push(id);
      const loras = (await this.o.recipes.lorasFor([id])).get(id) ?? [];
      unmatchedWithHash += loras.filter((l) => l.adapter_id === null && l.hash).length;
    }
    if (created.length === 0) {
      const detail = failed.map((f) => `${f.input}: ${f.message}${f.found.length ? ` (found: ${f.found.join('; ')})` : ''}`).join('\n');
      throw new AppError(422, failed.every((f) => f.code === 'unsupported_image') ? 'unsupported_image' : 'no_recipe_found', failed.length === 1 ? failed[0].message : 'No recipe found in any input', detail);
    }
    await this.o.matcher.hashWhenUseful(unmatchedWithHash);
    await this.o.onImported?.(created);
    const rows = await this.o.recipes.findByIds(created);
    const byId = new Map(rows.map((r) => [r.id, r]));
    return { created: await this.toApi(created.map((id) => byId.get(id) as RecipeTable)), failed };
  }

  private async describe(draft: RecipeDraft, input: RecipeInput): Promise<ApiDraft> {
    const rows = await this.matchLoras('draft', draft.loras);
    const civitai = await this.o.civitaiEnabled();
    const names = new Map((await this.o.recipes.catalogueByIds(rows.flatMap((r) => (r.adapter_id ? [r.adapter_id] : [])))).map((a) => [a.id, a.name]));
    const fingerprint = fingerprintOf(rows);
    const duplicates = rows.length > 0 ? await this.o.recipes.idsWithFingerprint(fingerprint) : [];
    return {
      source: draft.source,
      name: defaultName(input.bytes ? labelName(input.label) : undefined, draft.prompt, draft.loras),
      prompt: draft.prompt,
      negative_prompt: draft.negative_prompt,
      params: draft.params,
      loras: rows.map((r) => toRecipeLora({ ...r, adapter_name: r.adapter_id ? (names.get(r.adapter_id) ?? null) : null, adapter_base_model: null }, civitai)),
      embeddings: draft.embeddings,
      extra: draft.extra,
      fingerprint,
      missing_count: rows.filter((r) => r.adapter_id === null).length,
      duplicates,
    };
  }

  /** Recipe LoRA rows: a chosen adapter is checked to exist; the rest are matched by hash, then by name. */
  private async matchLoras(recipeId: string, loras: readonly LoraIn[]): Promise<RecipeLoraTable[]> {
    const chosenIds = loras.flatMap((l) => (l.adapter_id ? [l.adapter_id] : []));
    const chosen = new Set((await this.o.recipes.catalogueByIds(chosenIds)).map((a) => a.id));
    const unknown = chosenIds.filter((id) => !chosen.has(id));
    if (unknown.length > 0) throw new AppError(422, 'adapter_not_found', `Unknown adapter id: ${unknown.join(', ')}`);
    const index = loras.some((l) => !l.adapter_id) ? await this.o.matcher.current() : null;
    return loras.map((l, position) => {
      const found = l.adapter_id ? null : (index?.match(l) ?? null);
      return {
        recipe_id: recipeId,
        position,
        name: l.name,
        weight: l.weight,
        clip_weight: l.clip_weight,
        hash: l.hash,
        adapter_id: l.adapter_id ?? found?.adapter.id ?? null,
        match_kind: l.adapter_id ? 'chosen' : (found?.kind ?? null),
        civitai_model_id: l.civitai_model_id,
        civitai_version_id: l.civitai_version_id,
        civitai_name: null,
        civitai_checked_at: null,
      };
    });
  }

  private async save(r: {
    name?: string;
    prompt: string;
    negative: string;
    params: RecipeParams;
    loras: readonly LoraIn[];
    source: string;
    tags: readonly string[];
    favorite: boolean;
    rating: number | null;
    nsfw_level: number;
    notes: string | null;
    extra: Record<string, unknown>;
    sourceResultId: string | null;
    preview: Buffer | null;
  }): Promise<string> {
    const id = randomUUID();
    const now = this.now();
    const loras = await this.matchLoras(id, r.loras);
    const tags = cleanTags(r.tags);
    const name = defaultName(r.name, r.prompt, r.loras);
    const format = r.preview && r.preview.length <= MAX_PREVIEW_BYTES ? imageFormat(r.preview) : null;
    const stored = r.preview && format ? await this.o.previews.write(id, r.preview, format) : null;
    try {
      await this.o.recipes.insert(
        {
          id,
          name,
          name_key: name.toLowerCase(),
          search_text: searchTextOf(name, r.prompt, loras),
          prompt: r.prompt,
          negative_prompt: r.negative,
          params: JSON.stringify(r.params),
          extra: JSON.stringify(r.extra),
          source: r.source,
          base_model: null,
          preview_file: stored?.file ?? null,
          preview_type: stored?.contentType ?? null,
          favorite: r.favorite ? 1 : 0,
          rating: r.rating,
          nsfw_level: r.nsfw_level,
          notes: r.notes,
          tags: JSON.stringify(tags),
          source_result_id: r.sourceResultId,
          created_at: now,
          updated_at: now,
          ...loraFacts(loras),
        },
        loras,
        tags.map(tagKey),
      );
    } catch (error) {
      await this.o.previews.remove(stored?.file ?? null);
      throw error;
    }
    await this.o.recipes.recount([id], now);
    return id;
  }
}

function loraInput(l: NonNullable<RecipeCreate['loras']>[number]): LoraIn {
  const weight = l.weight ?? 1;
  return {
    name: l.name.trim(),
    weight,
    clip_weight: l.clip_weight != null && l.clip_weight !== weight ? l.clip_weight : null,
    hash: normaliseHash(l.hash ?? null),
    adapter_id: l.adapter_id ?? null,
    civitai_model_id: l.civitai_model_id ?? null,
    civitai_version_id: l.civitai_version_id ?? null,
  };
}

function loraFacts(loras: readonly RecipeLoraTable[]): Pick<RecipeTable, 'fingerprint' | 'lora_count' | 'missing_count'> {
  return { fingerprint: fingerprintOf(loras), lora_count: loras.length, missing_count: loras.filter((l) => l.adapter_id === null).length };
}

/** An upload's file name without folders or extension, as a recipe name. */
function labelName(label: string): string {
  return loraBaseName(label).replace(/\.(png|jpe?g|webp)$/i, '') || label;
}

function readInput(input: RecipeInput): { value: RecipeDraft } | { failure: RecipeInputFailure } {
  try {
    return { value: input.bytes ? parseRecipeImage(input.bytes) : parseRecipeText(input.text ?? '') };
  } catch (error) {
    if (error instanceof RecipeParseError) return { failure: { input: input.label, code: error.code, message: error.message, found: error.found } };
    throw error;
  }
}
