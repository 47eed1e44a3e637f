import { Type, type Static } from 'typebox';
import { JsonObject, Nullable, StringEnum } from './common.ts';

/*
 * Compose, deliveries and generation: request and response shapes of /compose, /deliveries and /generation/*.
 * Paths, names and defaults follow the original API; additions are optional fields.
 */

const NStr = Nullable(Type.String());
const NInt = Nullable(Type.Integer());
const NNum = Nullable(Type.Number());

export const LORA_SYNTAX_NAMES = ['original', 'a1111', 'sdnext', 'comfyui'] as const;
export const GENERATION_RUN_MODES = ['immediate', 'deferred'] as const;
export const RETURN_FORMATS = ['base64', 'file_path', 'url'] as const;
/** The statuses generation routes show (the original's UI vocabulary): pending → queued, running/retrying → processing, succeeded → completed, failed/cancelled → failed. */
export const UI_JOB_STATUSES = ['queued', 'processing', 'completed', 'failed'] as const;

/**
 * SDNextGenerationParams of the original, for every backend. `steps`, `sampler_name` and `cfg_scale` left out take
 * the server's SDNEXT_DEFAULT_* settings. Unknown keys are ignored, as the original did.
 */
export const GenerationParams = Type.Object(
  {
    prompt: Type.String({ maxLength: 20_000 }),
    negative_prompt: Type.Optional(Nullable(Type.String({ maxLength: 20_000 }))),
    steps: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    sampler_name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    scheduler: Type.Optional(Nullable(Type.String({ maxLength: 100 }))),
    cfg_scale: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
    width: Type.Optional(Type.Integer({ minimum: 16, maximum: 8192 })),
    height: Type.Optional(Type.Integer({ minimum: 16, maximum: 8192 })),
    seed: Type.Optional(Type.Integer({ minimum: -1, maximum: 2 ** 53 - 1 })),
    batch_size: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })),
    n_iter: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    denoising_strength: Type.Optional(Nullable(Type.Number({ minimum: 0, maximum: 1 }))),
    /** Checkpoint to use: A1111 `override_settings.sd_model_checkpoint`, ComfyUI `ckpt_name`. Default: the server's current / COMFYUI_CHECKPOINT. */
    checkpoint: Type.Optional(Nullable(Type.String({ maxLength: 1000 }))),
    clip_skip: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 12 }))),
  },
);
export type GenerationParams = Static<typeof GenerationParams>;

/** Generation params after defaults are applied: what a job stores and a backend receives. */
export interface ResolvedGenerationParams {
  prompt: string;
  negative_prompt: string | null;
  steps: number;
  sampler_name: string;
  scheduler: string | null;
  cfg_scale: number;
  width: number;
  height: number;
  seed: number;
  batch_size: number;
  n_iter: number;
  denoising_strength: number | null;
  checkpoint: string | null;
  clip_skip: number | null;
}

export const ComposeDeliveryGeneration = Type.Object({
  generation_params: GenerationParams,
  mode: Type.Optional(StringEnum(GENERATION_RUN_MODES)),
  save_images: Type.Optional(Type.Boolean()),
  return_format: Type.Optional(StringEnum(RETURN_FORMATS)),
});

/** `{mode, http?, cli?, sdnext?}`. The nested http/cli objects are flattened into the job's params (the original passed them nested, so they never worked). */
export const ComposeDelivery = Type.Object({
  mode: Type.String({ minLength: 1, maxLength: 64 }),
  http: Type.Optional(JsonObject),
  cli: Type.Optional(JsonObject),
  /** Generation settings for any generation backend; `mode` names the backend (`sdnext`, `comfyui`). */
  sdnext: Type.Optional(ComposeDeliveryGeneration),
});

export const ComposeAdapterChoice = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 200 }),
  weight: Type.Optional(Type.Number({ minimum: -10, maximum: 10 })),
  te_weight: Type.Optional(Nullable(Type.Number({ minimum: -10, maximum: 10 }))),
  unet_weight: Type.Optional(Nullable(Type.Number({ minimum: -10, maximum: 10 }))),
});

export const ComposeRequest = Type.Object(
  {
    prefix: Type.Optional(Nullable(Type.String({ maxLength: 20_000 }))),
    suffix: Type.Optional(Nullable(Type.String({ maxLength: 20_000 }))),
    delivery: Type.Optional(Nullable(ComposeDelivery)),
    /** Token syntax. `original` (default): `<lora:name:1.000>`. See the README's weight-format rule. */
    syntax: Type.Optional(StringEnum(LORA_SYNTAX_NAMES)),
    /** Add each adapter's trigger words (triggers, then trained words, without repeats) after the tokens. */
    include_triggers: Type.Optional(Type.Boolean()),
    /** Add each adapter's activation text after the tokens. */
    include_activation_text: Type.Optional(Type.Boolean()),
    /** Use an adapter's preferred weight (from its sidecar) instead of its weight; a preferred weight of 0 counts as unset. */
    use_preferred_weight: Type.Optional(Type.Boolean()),
    /** `name` (default): the adapter name; `file`: the file name without extension, which A1111 and SDNext always resolve. */
    token_name: Type.Optional(StringEnum(['name', 'file'])),
    /** Compose these adapters (in this order, with these weights) instead of the active ones. */
    adapters: Type.Optional(Type.Array(ComposeAdapterChoice, { maxItems: 200 })),
  },
);
export type ComposeRequest = Static<typeof ComposeRequest>;

export const ComposedAdapter = Type.Object({
  id: Type.String(),
  name: Type.String(),
  token: Type.String(),
  weight: Type.Number(),
  te_weight: NNum,
  unet_weight: NNum,
  base_model: NStr,
});
export type ComposedAdapter = Static<typeof ComposedAdapter>;

export const ComposeResponse = Type.Object({
  prompt: Type.String(),
  tokens: Type.Array(Type.String()),
  warnings: Type.Array(Type.String()),
  delivery: Nullable(Type.Object({ id: Type.String(), status: Type.String() })),
  syntax: StringEnum(LORA_SYNTAX_NAMES),
  trigger_words: Type.Array(Type.String()),
  adapters: Type.Array(ComposedAdapter),
});
export type ComposeResponse = Static<typeof ComposeResponse>;

export const DeliveryCreate = Type.Object({
  prompt: Type.String({ maxLength: 20_000 }),
  mode: Type.String({ minLength: 1, maxLength: 64 }),
  params: Type.Optional(Nullable(JsonObject)),
});
export type DeliveryCreate = Static<typeof DeliveryCreate>;

export const DeliveryCreated = Type.Object({ delivery_id: Type.String() });

/** A delivery or generation job as the original's `GET /deliveries/{id}` showed it, plus queue facts. */
export const DeliveryRecord = Type.Object({
  id: Type.String(),
  prompt: Type.String(),
  mode: Type.String(),
  params: JsonObject,
  /** Raw job status (pending, running, retrying, succeeded, failed, cancelled); `/generation/jobs/{id}` shows the UI vocabulary. */
  status: Type.String(),
  result: Nullable(Type.Unknown()),
  error: NStr,
  progress: Type.Number({ description: '0–1' }),
  attempts: Type.Integer(),
  max_attempts: Type.Integer(),
  created_at: Type.String(),
  started_at: NStr,
  finished_at: NStr,
  /** On `/generation/jobs/{id}`, where `status` is in the UI vocabulary: the raw status, step progress and preview. */
  raw_status: Type.Optional(Type.String()),
  step: Type.Optional(NInt),
  total_steps: Type.Optional(NInt),
  eta_seconds: Type.Optional(NNum),
  preview_url: Type.Optional(NStr),
});
export type DeliveryRecord = Static<typeof DeliveryRecord>;
export const DeliveryEnvelope = Type.Object({ delivery: DeliveryRecord });

export const GenerationQuery = Type.Object({
  backend: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  mode: Type.Optional(StringEnum(GENERATION_RUN_MODES)),
  save_images: Type.Optional(Type.Boolean()),
  return_format: Type.Optional(StringEnum(RETURN_FORMATS)),
});
export type GenerationQuery = Static<typeof GenerationQuery>;

export const ComposeAndGenerateBody = Type.Object({
  compose_request: ComposeRequest,
  generation_params: GenerationParams,
});
export type ComposeAndGenerateBody = Static<typeof ComposeAndGenerateBody>;

/** SDNextGenerationResult of the original. `job_id` is the job's id (the original invented a new one). */
export const GenerationResult = Type.Object({
  job_id: Type.String(),
  status: StringEnum(UI_JOB_STATUSES),
  images: Type.Optional(Nullable(Type.Array(Type.String()))),
  progress: Type.Optional(NNum),
  error_message: Type.Optional(NStr),
  generation_info: Type.Optional(Nullable(Type.Unknown())),
  warnings: Type.Optional(Type.Array(Type.String())),
});
export type GenerationResult = Static<typeof GenerationResult>;

export const QueuedGeneration = Type.Object({ delivery_id: Type.String(), job_id: Type.String(), status: StringEnum(UI_JOB_STATUSES), warnings: Type.Array(Type.String()) });

/** One job in the generation queue. `progress` is 0–1 here as everywhere (the original used 0–100 on this route only). */
export const GenerationJobStatus = Type.Object({
  id: Type.String(),
  jobId: Type.String(),
  kind: Type.String(),
  prompt: Type.String(),
  status: StringEnum(UI_JOB_STATUSES),
  raw_status: Type.String(),
  backend: NStr,
  progress: Type.Number(),
  step: NInt,
  total_steps: NInt,
  eta_seconds: NNum,
  preview_url: NStr,
  message: NStr,
  error: NStr,
  params: JsonObject,
  attempts: Type.Integer(),
  max_attempts: Type.Integer(),
  created_at: Type.String(),
  startTime: Type.String(),
  finished_at: NStr,
  result: Nullable(Type.Unknown()),
});
export type GenerationJobStatus = Static<typeof GenerationJobStatus>;

export const ActiveJobsQuery = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })) });
export const ProgressQuery = Type.Object({ backend: Type.Optional(Type.String({ maxLength: 64 })) });

export const CancelResponse = Type.Object({ success: Type.Boolean(), status: Type.String(), message: Type.String() });

export const RESULT_SORTS = ['newest', 'oldest', 'prompt', 'prompt_desc', 'rating', 'rating_asc'] as const;

export const ResultListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  offset: Type.Optional(Type.Integer({ minimum: 0 })),
  page: Type.Optional(Type.Integer({ minimum: 1 })),
  page_size: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  search: Type.Optional(Type.String({ maxLength: 500, description: 'Case-insensitive text the prompt contains' })),
  min_rating: Type.Optional(Type.Integer({ minimum: 0, maximum: 5 })),
  favorites_only: Type.Optional(Type.Boolean()),
  width: Type.Optional(Type.Integer({ minimum: 1 })),
  height: Type.Optional(Type.Integer({ minimum: 1 })),
  start_date: Type.Optional(Type.String({ maxLength: 40, description: 'Date or date-time; results created on or after' })),
  end_date: Type.Optional(Type.String({ maxLength: 40, description: 'Date (whole day included) or date-time; results created on or before' })),
  sort: Type.Optional(Type.String({ maxLength: 40, description: `${RESULT_SORTS.join(', ')} (also created_at_desc, created_at_asc, rating_desc)` })),
  adapter_id: Type.Optional(Type.String({ maxLength: 200, description: 'Only results that used this adapter' })),
  status: Type.Optional(StringEnum(['completed', 'failed', 'all'])),
  envelope: Type.Optional(Type.Boolean({ description: 'Answer {items, total, page, page_size, pages} instead of the plain array' })),
});
export type ResultListQuery = Static<typeof ResultListQuery>;

export const ResultImage = Type.Object({
  index: Type.Integer(),
  url: Type.String(),
  thumbnail_url: NStr,
  width: NInt,
  height: NInt,
  content_type: Type.String(),
  size: Type.Integer(),
  seed: NInt,
});
export type ResultImage = Static<typeof ResultImage>;

export const UsedAdapter = Type.Object({ id: NStr, name: Type.String(), weight: Type.Number() });
export type UsedAdapter = Static<typeof UsedAdapter>;

/** GenerationResultSummary of the original; `image_url` and `thumbnail_url` are HTTP URLs served by this API. */
export const GenerationResultSummary = Type.Object(
  {
    id: Type.String(),
    job_id: Type.String(),
    prompt: Type.String(),
    negative_prompt: NStr,
    status: StringEnum(UI_JOB_STATUSES),
    image_url: NStr,
    thumbnail_url: NStr,
    width: NInt,
    height: NInt,
    steps: NInt,
    cfg_scale: NNum,
    seed: NInt,
    sampler_name: NStr,
    backend: NStr,
    created_at: Type.String(),
    finished_at: NStr,
    generation_info: Nullable(Type.Unknown()),
    rating: NInt,
    is_favorite: Type.Boolean(),
    rating_updated_at: NStr,
    favorite_updated_at: NStr,
    images: Type.Array(ResultImage),
    adapters: Type.Array(UsedAdapter),
    /** The recipe this generation was queued from (recipes' "queue variations"). */
    recipe_id: Type.Optional(NStr),
    error: NStr,
    /** The job's own status (`cancelled` and `failed` both show as `failed` in `status`, the original's vocabulary). */
    raw_status: Type.Optional(Type.String()),
  },
  { $id: 'GenerationResultSummary' },
);
export type GenerationResultSummary = Static<typeof GenerationResultSummary>;

export const ResultPage = Type.Object({
  items: Type.Array(Type.Ref('GenerationResultSummary')),
  total: Type.Integer(),
  page: Type.Integer(),
  page_size: Type.Integer(),
  pages: Type.Integer(),
});

const IdList = Type.Array(Type.Union([Type.String({ maxLength: 200 }), Type.Integer()]), { maxItems: 1000 });
export const RatingBody = Type.Object({ rating: Nullable(Type.Integer({ minimum: 0, maximum: 5 })) });
export const FavoriteBody = Type.Object({ is_favorite: Type.Boolean() });
export const BulkFavoriteBody = Type.Object({ ids: IdList, is_favorite: Type.Boolean() });
export const BulkDeleteBody = Type.Object({ ids: IdList });
export const ExportResultsBody = Type.Object({ ids: IdList, include_metadata: Type.Optional(Type.Boolean()) });
export const ImageParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }), n: Type.Integer({ minimum: 0, maximum: 10_000 }) });
export const DownloadQuery = Type.Object({ index: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000 })) });

export const BackendInfo = Type.Object({
  name: Type.String(),
  configured: Type.Boolean(),
  base_url: NStr,
  available: Type.Boolean(),
  error: NStr,
  checked_at: NStr,
});
export type BackendInfo = Static<typeof BackendInfo>;
/** `{sdnext: bool}` as in the original (configured or not), the same for comfyui, plus `backends` with a reachability probe. */
export const BackendList = Type.Object({ sdnext: Type.Boolean(), comfyui: Type.Boolean(), backends: Type.Array(BackendInfo) });

/**
 * What the generation form offers for one server: the defaults in force (Settings → Generation) and the samplers,
 * schedulers and checkpoints the server itself lists. Lists are empty when the server does not answer (`available`).
 */
export const BackendOptions = Type.Object({
  backend: Type.String(),
  available: Type.Boolean(),
  error: NStr,
  defaults: Type.Object({ steps: Type.Integer(), sampler_name: Type.String(), cfg_scale: Type.Number() }),
  samplers: Type.Array(Type.String()),
  schedulers: Type.Array(Type.String()),
  checkpoints: Type.Array(Type.String()),
  /** The checkpoint the server has loaded (A1111) or uses by default (ComfyUI), when known. */
  current_checkpoint: NStr,
});
export type BackendOptions = Static<typeof BackendOptions>;
export const BackendNameParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 64 }) });

/** Generation server settings as the web page edits them. Secrets are never returned (`password_set` only). */
export const GenerationSettings = Type.Object({
  sdnext: Type.Object({
    base_url: NStr,
    username: NStr,
    password_set: Type.Boolean(),
    timeout_seconds: Type.Number(),
    default_steps: Type.Integer(),
    default_sampler: Type.String(),
    default_cfg_scale: Type.Number(),
  }),
  comfyui: Type.Object({ base_url: NStr, checkpoint: NStr, timeout_seconds: Type.Number() }),
  /** Where each value comes from: `environment` (configuration) or `settings` (saved through this API). */
  sources: Type.Record(Type.String(), StringEnum(['environment', 'settings', 'default'])),
});
export type GenerationSettings = Static<typeof GenerationSettings>;

const UrlOrNull = Nullable(Type.String({ maxLength: 2000, pattern: '^https?://' }));
/** Partial update; `null` clears a saved value (the configured one applies again). */
export const GenerationSettingsPatch = Type.Object(
  {
    sdnext: Type.Optional(
      Type.Object(
        {
          base_url: Type.Optional(UrlOrNull),
          username: Type.Optional(Nullable(Type.String({ maxLength: 200 }))),
          password: Type.Optional(Nullable(Type.String({ maxLength: 500 }))),
          timeout_seconds: Type.Optional(Nullable(Type.Number({ minimum: 1, maximum: 86_400 }))),
          default_steps: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 1000 }))),
          default_sampler: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 100 }))),
          default_cfg_scale: Type.Optional(Nullable(Type.Number({ minimum: 0, maximum: 100 }))),
        },
        { additionalProperties: false },
      ),
    ),
    comfyui: Type.Optional(
      Type.Object(
        {
          base_url: Type.Optional(UrlOrNull),
          checkpoint: Type.Optional(Nullable(Type.String({ maxLength: 1000 }))),
          timeout_seconds: Type.Optional(Nullable(Type.Number({ minimum: 1, maximum: 86_400 }))),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type GenerationSettingsPatch = Static<typeof GenerationSettingsPatch>;
