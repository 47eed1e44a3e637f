import { Type, type Static } from 'typebox';
import { Nullable, StringEnum } from './common.ts';
import { GenerationParams } from './generation.ts';

/*
 * Recipes (issue 16): a named LoRA combination with prompt and generation parameters, created by hand, from the
 * current composition, from a history result, or imported from an image / pasted metadata. `/api/v1/recipes`.
 */

const NStr = Nullable(Type.String());
const NInt = Nullable(Type.Integer());
const NNum = Nullable(Type.Number());

export const RECIPE_SOURCES = ['manual', 'compose', 'result', 'a1111', 'sdnext', 'comfyui', 'civitai', 'lora-manager'] as const;
/** How a recipe LoRA was found in the catalogue: by hash first, then by name; `chosen` when the user picked the adapter. */
export const RECIPE_MATCH_KINDS = ['sha256', 'autov2', 'autov3', 'short_hash', 'file_name', 'alias', 'name', 'chosen'] as const;
export const RECIPE_SORTS = ['newest', 'oldest', 'name', 'name_desc', 'rating', 'updated'] as const;

export const RecipeHires = Type.Object({
  upscale: NNum,
  upscaler: NStr,
  steps: NInt,
  denoising_strength: NNum,
  resize_x: NInt,
  resize_y: NInt,
});

export const RecipeParams = Type.Object({
  checkpoint: NStr,
  model_hash: NStr,
  sampler: NStr,
  scheduler: NStr,
  steps: NInt,
  cfg_scale: NNum,
  width: NInt,
  height: NInt,
  seed: NInt,
  clip_skip: NInt,
  denoising_strength: NNum,
  vae: NStr,
  hires: Nullable(RecipeHires),
  adetailer: Nullable(Type.Record(Type.String(), Type.String())),
});
export type RecipeParams = Static<typeof RecipeParams>;

export const RecipeLora = Type.Object({
  position: Type.Integer(),
  /** As the source named it. */
  name: Type.String(),
  weight: Type.Number(),
  clip_weight: NNum,
  hash: NStr,
  adapter_id: NStr,
  /** The matched adapter's name. */
  adapter_name: NStr,
  match: Nullable(StringEnum(RECIPE_MATCH_KINDS)),
  missing: Type.Boolean(),
  civitai_model_id: NInt,
  civitai_version_id: NInt,
  /** What CivitAI calls a missing LoRA (model and version), once its hash was looked up there. */
  civitai_name: NStr,
  /** When a missing LoRA's hash was looked up on CivitAI (found or not); null while not asked. */
  civitai_checked_at: NStr,
  /** A CivitAI page for a missing LoRA, when CivitAI is enabled and the source or a lookup identified the model. */
  civitai_url: NStr,
});
export type RecipeLora = Static<typeof RecipeLora>;

export const RecipeEmbedding = Type.Object({ name: Type.String(), hash: NStr });

export const Recipe = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    prompt: Type.String(),
    negative_prompt: Type.String(),
    params: RecipeParams,
    source: StringEnum(RECIPE_SOURCES),
    base_model: NStr,
    loras: Type.Array(RecipeLora),
    embeddings: Type.Array(RecipeEmbedding),
    /** Every other field the source carried, as written. */
    extra: Type.Record(Type.String(), Type.String()),
    tags: Type.Array(Type.String()),
    favorite: Type.Boolean(),
    rating: NInt,
    nsfw_level: Type.Integer(),
    notes: NStr,
    fingerprint: Type.String(),
    lora_count: Type.Integer(),
    missing_count: Type.Integer(),
    preview_url: NStr,
    source_result_id: NStr,
    created_at: Type.String(),
    updated_at: Type.String(),
  },
  { $id: 'Recipe' },
);
export type Recipe = Static<typeof Recipe>;

const Weight = Type.Number({ minimum: -10, maximum: 10 });

export const RecipeLoraInput = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 300 }),
  weight: Type.Optional(Weight),
  clip_weight: Type.Optional(Nullable(Weight)),
  hash: Type.Optional(Nullable(Type.String({ pattern: '^[0-9a-fA-F]{8,64}$' }))),
  /** Pick the adapter yourself (Compose does); otherwise the LoRA is matched by hash and name. */
  adapter_id: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 200 }))),
  civitai_model_id: Type.Optional(Nullable(Type.Integer({ minimum: 1 }))),
  civitai_version_id: Type.Optional(Nullable(Type.Integer({ minimum: 1 }))),
});
export type RecipeLoraInput = Static<typeof RecipeLoraInput>;

const Tags = Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 50 });

export const RecipeCreate = Type.Object({
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  prompt: Type.Optional(Type.String({ maxLength: 20_000 })),
  negative_prompt: Type.Optional(Type.String({ maxLength: 20_000 })),
  params: Type.Optional(Type.Partial(RecipeParams)),
  loras: Type.Optional(Type.Array(RecipeLoraInput, { maxItems: 64 })),
  tags: Type.Optional(Tags),
  favorite: Type.Optional(Type.Boolean()),
  rating: Type.Optional(Nullable(Type.Integer({ minimum: 0, maximum: 5 }))),
  nsfw_level: Type.Optional(Type.Integer({ minimum: 0, maximum: 32 })),
  notes: Type.Optional(Nullable(Type.String({ maxLength: 10_000 }))),
  source: Type.Optional(StringEnum(['manual', 'compose', 'result'] as const)),
  /** Save a history result as a recipe: its prompt, parameters and LoRAs fill what the body leaves out; its first image becomes the preview. */
  result_id: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
});
export type RecipeCreate = Static<typeof RecipeCreate>;

export const RecipePatch = Type.Object({
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  prompt: Type.Optional(Type.String({ maxLength: 20_000 })),
  negative_prompt: Type.Optional(Type.String({ maxLength: 20_000 })),
  params: Type.Optional(Type.Partial(RecipeParams)),
  loras: Type.Optional(Type.Array(RecipeLoraInput, { maxItems: 64 })),
  tags: Type.Optional(Tags),
  favorite: Type.Optional(Type.Boolean()),
  rating: Type.Optional(Nullable(Type.Integer({ minimum: 0, maximum: 5 }))),
  nsfw_level: Type.Optional(Type.Integer({ minimum: 0, maximum: 32 })),
  notes: Type.Optional(Nullable(Type.String({ maxLength: 10_000 }))),
});
export type RecipePatch = Static<typeof RecipePatch>;

export const RecipeListQuery = Type.Object({
  search: Type.Optional(Type.String({ maxLength: 500, description: 'Case-insensitive text in the name, prompt or LoRA names' })),
  tag: Type.Optional(Type.String({ maxLength: 100 })),
  adapter_id: Type.Optional(Type.String({ maxLength: 200, description: 'Only recipes that use this adapter' })),
  lora: Type.Optional(Type.String({ maxLength: 300, description: 'Only recipes with a LoRA of this name (as the source named it)' })),
  base_model: Type.Optional(Type.String({ maxLength: 100 })),
  missing: Type.Optional(Type.Boolean({ description: 'true: only recipes with missing LoRAs; false: only complete ones' })),
  favorites_only: Type.Optional(Type.Boolean()),
  sort: Type.Optional(StringEnum(RECIPE_SORTS)),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
  offset: Type.Optional(Type.Integer({ minimum: 0 })),
});
export type RecipeListQuery = Static<typeof RecipeListQuery>;

export const RecipePage = Type.Object({ items: Type.Array(Type.Ref('Recipe')), total: Type.Integer() });
/** Written out: a `$ref` item is `unknown` to TypeBox's inference. */
export type RecipePage = { items: Recipe[]; total: number };

/** `parse` and `import` with JSON instead of multipart: the text of a parameters block or a CivitAI / ComfyUI JSON. */
export const RecipeTextBody = Type.Object({
  text: Type.String({ minLength: 1, maxLength: 2 * 1024 * 1024 }),
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  tags: Type.Optional(Tags),
});
export type RecipeTextBody = Static<typeof RecipeTextBody>;

/** What a parse found, matched against the catalogue, before anything is saved. */
export const RecipeDraft = Type.Object({
  source: StringEnum(RECIPE_SOURCES),
  name: Type.String(),
  prompt: Type.String(),
  negative_prompt: Type.String(),
  params: RecipeParams,
  loras: Type.Array(RecipeLora),
  embeddings: Type.Array(RecipeEmbedding),
  extra: Type.Record(Type.String(), Type.String()),
  fingerprint: Type.String(),
  missing_count: Type.Integer(),
  /** Saved recipes with the same fingerprint. */
  duplicates: Type.Array(Type.String()),
});
export type RecipeDraft = Static<typeof RecipeDraft>;

export const RecipeInputFailure = Type.Object({ input: Type.String(), code: Type.String(), message: Type.String(), found: Type.Array(Type.String()) });
export type RecipeInputFailure = Static<typeof RecipeInputFailure>;

export const RecipeParseResult = Type.Object({
  drafts: Type.Array(Type.Object({ input: Type.String(), draft: RecipeDraft })),
  failed: Type.Array(RecipeInputFailure),
});
export type RecipeParseResult = Static<typeof RecipeParseResult>;

export const RecipeImportResult = Type.Object({ created: Type.Array(Type.Ref('Recipe')), failed: Type.Array(RecipeInputFailure) });
export type RecipeImportResult = { created: Recipe[]; failed: RecipeInputFailure[] };

export const RECIPE_APPLY_TARGETS = ['compose', 'generate'] as const;

export const RecipeApplyBody = Type.Object({
  target: StringEnum(RECIPE_APPLY_TARGETS),
  /** generate: queue this many jobs (0 = only return the parameters for the Generate form). */
  count: Type.Optional(Type.Integer({ minimum: 0, maximum: 50 })),
  /** How queued variations differ: a new random seed each, or a weight sweep of one LoRA. */
  vary: Type.Optional(StringEnum(['seed', 'weight'] as const)),
  /** weight sweep: the recipe LoRA position and the range (inclusive), spread over `count` jobs. */
  sweep: Type.Optional(Type.Object({ position: Type.Integer({ minimum: 0 }), from: Weight, to: Weight })),
  backend: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
});
export type RecipeApplyBody = Static<typeof RecipeApplyBody>;

export const RecipeApplyResult = Type.Object({
  target: StringEnum(RECIPE_APPLY_TARGETS),
  /** compose: the adapters now active, in order. */
  activated: Type.Array(Type.Object({ adapter_id: Type.String(), name: Type.String(), weight: Type.Number() })),
  missing: Type.Array(Type.String()),
  /** generate: parameters for the Generate form (prompt with the LoRA tokens). */
  generation_params: Nullable(GenerationParams),
  job_ids: Type.Array(Type.String()),
  warnings: Type.Array(Type.String()),
});
export type RecipeApplyResult = Static<typeof RecipeApplyResult>;

export const RecipeDuplicateGroups = Type.Object({
  groups: Type.Array(Type.Object({ fingerprint: Type.String(), ids: Type.Array(Type.String()) })),
});
export type RecipeDuplicateGroups = Static<typeof RecipeDuplicateGroups>;

export const RecipeMergeBody = Type.Object({
  /** Kept; the others are deleted after their tags, favourite, best rating and notes are folded in. */
  keep: Type.String({ minLength: 1, maxLength: 200 }),
  remove: Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { minItems: 1, maxItems: 100 }),
});
export type RecipeMergeBody = Static<typeof RecipeMergeBody>;

export const RecipeExportQuery = Type.Object({ format: Type.Optional(StringEnum(['json', 'png'] as const)) });
export type RecipeExportQuery = Static<typeof RecipeExportQuery>;

export const RecipeRematchResult = Type.Object({ recipes: Type.Integer(), matched: Type.Integer() });

/** Which recipes' missing LoRAs to look up on CivitAI by hash; none named: every recipe's. */
export const RecipeCivitaiLookup = Type.Object({ recipe_ids: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 1000 })) });
export type RecipeCivitaiLookup = Static<typeof RecipeCivitaiLookup>;


