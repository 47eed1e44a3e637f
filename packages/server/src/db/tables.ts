/**
 * Row shapes as stored. Booleans are 0/1 integers and JSON is text on every dialect, so one repository serves
 * SQLite and PostgreSQL alike; times are ISO-8601 UTC strings written by the app (they sort as text).
 */
export interface AdapterTable {
  id: string;
  name: string;
  /** lower(name): the index behind name sorting. */
  name_key: string;
  version: string | null;
  canonical_version_name: string | null;
  description: string | null;
  author_username: string | null;
  visibility: string;
  published_at: string | null;
  trained_words: string;
  triggers: string;
  file_path: string;
  weight: number;
  active: number;
  ordinal: number | null;
  archetype: string | null;
  archetype_confidence: number | null;
  primary_file_name: string | null;
  primary_file_size_kb: number | null;
  primary_file_sha256: string | null;
  primary_file_download_url: string | null;
  primary_file_local_path: string | null;
  supports_generation: number;
  sd_version: string | null;
  nsfw_level: number;
  activation_text: string | null;
  stats: string | null;
  extra: string | null;
  json_file_path: string | null;
  json_file_mtime: string | null;
  json_file_size: number | null;
  last_ingested_at: string | null;
  created_at: string;
  updated_at: string;
  library_root: string | null;
  relative_path: string | null;
  file_size: number | null;
  file_mtime: string | null;
  sha256: string | null;
  autov1: string | null;
  autov2: string | null;
  autov3: string | null;
  hash_status: string | null;
  base_model: string | null;
  network_type: string | null;
  rank: number | null;
  alpha: number | null;
  resolution: string | null;
  preview_path: string | null;
  negative_text: string | null;
  preferred_weight: number | null;
  civitai_model_id: number | null;
  civitai_version_id: number | null;
  civitai_status: string | null;
  missing: number;
  favorite: number;
  rating: number | null;
  notes: string | null;
  /** Fields a user or API client set, one bit each (lib/user-fields.ts): a scan or CivitAI never writes them. */
  user_field_mask: number;
  /** Finished generations that used this adapter, their outcomes and the last one's time (migration 0008). */
  use_count: number;
  use_succeeded: number;
  use_failed: number;
  last_used_at: string | null;
  /** Ratings and favourites of those generations' results: the per-LoRA average rating is sum / count. */
  result_rating_sum: number;
  result_rating_count: number;
  result_favorite_count: number;
}

/** Lower-cased name, description, tags, trained words and triggers: what `search` matches (FTS5 table on SQLite). */
export interface AdapterSearchTable {
  adapter_id: string;
  text: string;
}

export type TagOrigin = 'user' | 'source' | 'removed';

export interface AdapterTagTable {
  adapter_id: string;
  /** As the user or the source spelled it. */
  tag: string;
  /** lower(trim(tag)): what filters compare. */
  tag_key: string;
  /** `source` came from a file or CivitAI, `user` was added by the user, `removed` is a source tag the user took away. */
  origin: TagOrigin;
  position: number;
}

export interface SettingTable {
  key: string;
  value: string;
  updated_at: string;
}

export interface JobTable {
  id: string;
  kind: string;
  status: string;
  payload: string;
  result: string | null;
  error: string | null;
  progress: number;
  progress_detail: string | null;
  attempts: number;
  max_attempts: number;
  queue_group: string | null;
  /** Earliest time a pending or retrying job may start (backoff). */
  run_after: string;
  heartbeat_at: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  updated_at: string;
}

/** A job attempt still to be handed to Redis (scaled queue; migration 0010). */
export interface JobOutboxTable {
  job_id: string;
  attempt: number;
  created_at: string;
}

/** Per-adapter facts from the file's header and sidecars, and scan state (issue 3). JSON columns are text. */
export interface AdapterMetadataTable {
  adapter_id: string;
  header_length: number | null;
  data_offset: number | null;
  tensor_count: number | null;
  module_count: number | null;
  /** Identifies the header cheaply (see lib/lora-file.ts): recognises a moved file before it is hashed. */
  fingerprint: string | null;
  base_model_source: string | null;
  base_family: string | null;
  /** `__metadata__` less embedded images. */
  metadata: string | null;
  /** lib/training-metadata.ts TrainingInfo less the tag frequency. */
  training: string | null;
  tag_frequency: string | null;
  /** [{kind, path}] of the sidecars found, plus field provenance and read errors. */
  sidecars: string | null;
  /** The CivitAI model-version record, from a sidecar or the API. */
  civitai: string | null;
  embedded_data_hash: string | null;
  /** Our own tensor-data hash, when computed. */
  data_hash: string | null;
  /** 1 when the embedded sshs_model_hash matched the data, 0 when it did not, null when not checked. */
  autov3_verified: number | null;
  /** Superseded by adapter.user_field_mask (migration 0006), which was filled from it; no longer read. */
  user_fields: string;
  /** 1 when the preview was chosen by the user (uploaded); superseded by the preview_path bit of the mask. */
  user_preview: number;
  /** Sizes and times of the sidecars seen last: a change makes the next scan re-read them. */
  scan_signature: string | null;
  hash_error: string | null;
  civitai_checked_at: string | null;
  scanned_at: string | null;
}

export interface FileHashCacheTable {
  path: string;
  file_size: number;
  file_mtime: string;
  sha256: string;
  autov1: string;
  data_hash: string | null;
  computed_at: string;
}

/** A file in a library root that is not catalogued: unreadable, broken, or not a LoRA. */
export interface LibraryIssueTable {
  path: string;
  library_root: string;
  file_size: number;
  file_mtime: string;
  code: string;
  reason: string;
  seen_at: string;
}

/** A delivery or generation; status, progress and result live on the `job` row with the same id. */
export interface DeliveryJobTable {
  id: string;
  /** `delivery` (http, cli) or `generation`. */
  kind: string;
  mode: string;
  /** Generation backend name; null for deliveries. */
  backend: string | null;
  prompt: string;
  /** lower(prompt): what history search and sort use. */
  prompt_key: string;
  negative_prompt: string | null;
  /** JSON: the original's params shape (generation: {generation_params, mode, save_images, return_format, backend}). */
  params: string;
  width: number | null;
  height: number | null;
  steps: number | null;
  cfg_scale: number | null;
  sampler_name: string | null;
  seed: number | null;
  image_count: number;
  /** JSON from the backend (A1111 `info`), without images. */
  generation_info: string | null;
  rating: number | null;
  is_favorite: number;
  rating_updated_at: string | null;
  favorite_updated_at: string | null;
  created_at: string;
  /** The recipe this generation was made from (migration 0009); null otherwise. */
  recipe_id?: string | null;
}

/** One generated image: a file under OUTPUT_DIR (path relative to it), never the bytes. */
export interface GenerationImageTable {
  job_id: string;
  idx: number;
  file: string;
  thumbnail: string | null;
  content_type: string;
  width: number | null;
  height: number | null;
  bytes: number;
  seed: number | null;
  created_at: string;
}

export interface DeliveryAdapterTable {
  job_id: string;
  position: number;
  /** Null when the prompt named a LoRA the catalogue does not know. */
  adapter_id: string | null;
  name: string;
  weight: number;
}

export interface BackupTable {
  id: string;
  backup_type: string;
  trigger: string;
  status: string;
  file_name: string;
  size: number;
  sha256: string | null;
  adapter_count: number;
  file_count: number;
  note: string | null;
  error: string | null;
  created_at: string;
  completed_at: string | null;
}

/** A committed archive import: the marker crash recovery reads. */
export interface ArchiveImportTable {
  id: string;
  source: string;
  mode: string;
  status: string;
  summary: string | null;
  created_at: string;
  committed_at: string | null;
}

/** Finished generations per hour of their creation (`YYYY-MM-DDTHH`). */
export interface GenerationHourlyTable {
  hour: string;
  finished: number;
  succeeded: number;
  failed: number;
  duration_ms_sum: number;
  duration_count: number;
}

/** Failed generations per hour and normalised message (lib/error-signature.ts), with one real message. */
export interface GenerationErrorHourlyTable {
  hour: string;
  signature: string;
  count: number;
  example: string;
}

/** LoRA uses per UTC day; `lora_key` is the adapter id or `name:<lower name>` for names the catalogue lacks. */
export interface LoraUsageDailyTable {
  day: string;
  lora_key: string;
  adapter_id: string | null;
  name: string;
  uses: number;
  succeeded: number;
  failed: number;
}

/** LoRA uses per hour (`YYYY-MM-DDTHH`), for hour-sized windows. */
export interface LoraUsageHourlyTable {
  hour: string;
  lora_key: string;
  adapter_id: string | null;
  name: string;
  uses: number;
  succeeded: number;
  failed: number;
}

/** All-time uses per LoRA key (as lora_usage_daily keys them). */
export interface LoraUsageTotalTable {
  lora_key: string;
  adapter_id: string | null;
  name: string;
  uses: number;
}

/** A measured CPU/memory/GPU/queue sample of one process, raw (resolution = interval) or an hourly average. */
export interface ResourceSampleTable {
  process: string;
  at: string;
  resolution: number;
  samples: number;
  cpu_percent: number;
  memory_percent: number;
  gpu_percent: number | null;
  gpu_memory_percent: number | null;
  queue_depth: number;
  running: number;
}

/** One adapter's recommendation features (JSON of lib/recommend AdapterFeatures), or a tombstone once it is deleted. */
export interface RecommendationFeatureTable {
  adapter_id: string;
  features: string | null;
  /** adapter.updated_at the features were computed from: a newer one means they are stale. */
  source_updated_at: string | null;
  /** recommendation_state `features` at the write: processes reload rows newer than what they hold. */
  seq: number;
  deleted: number;
  computed_at: string;
}

/** Counters that tell every process its in-memory index (`features`) or learned signals (`signals`) changed. */
export interface RecommendationStateTable {
  key: string;
  value: number;
}

export interface RecommendationSessionTable {
  id: string;
  /** similar | for_prompt | by_trigger */
  recommendation_type: string;
  /** What the suggestions answered (lib/recommend/signals.ts contextKey): feedback applies there. */
  context_key: string;
  target_lora_id: string | null;
  context_prompt: string | null;
  trigger_query: string | null;
  /** JSON list of adapter ids. */
  active_loras: string;
  /** JSON list of {lora_id, final_score}. */
  recommendations: string;
  generated_at: string;
}

export interface RecommendationFeedbackTable {
  id: string;
  session_id: string;
  recommended_lora_id: string;
  feedback_type: string;
  feedback_reason: string | null;
  implicit_signal: number;
  created_at: string;
}

export interface UserPreferenceTable {
  id: string;
  preference_type: string;
  preference_value: string;
  /** lower(trim(value)): unique with the type. */
  value_key: string;
  confidence: number;
  learned_from: string;
  evidence_count: number;
  last_evidence_at: string;
  created_at: string;
  updated_at: string;
}

/** A saved recipe (issue 16). JSON columns are text; `tags` is the display list, `recipe_tag` the filter index. */
export interface RecipeTable {
  id: string;
  name: string;
  name_key: string;
  /** lower(name, prompt, LoRA names): what `search` matches. */
  search_text: string;
  prompt: string;
  negative_prompt: string;
  /** JSON: checkpoint, sampler, steps, … (lib/recipes DraftParams). */
  params: string;
  /** JSON: {embeddings, extra} from the source, kept so nothing it said is lost. */
  extra: string;
  source: string;
  base_model: string | null;
  /** File name under DATA_DIR/recipes. */
  preview_file: string | null;
  preview_type: string | null;
  favorite: number;
  rating: number | null;
  nsfw_level: number;
  notes: string | null;
  tags: string;
  /** Sorted LoRA identities and weights, hashed: equal for duplicates. */
  fingerprint: string;
  lora_count: number;
  missing_count: number;
  source_result_id: string | null;
  created_at: string;
  updated_at: string;
}

export interface RecipeLoraTable {
  recipe_id: string;
  position: number;
  name: string;
  weight: number;
  clip_weight: number | null;
  hash: string | null;
  /** The catalogue adapter it matched; null while missing. */
  adapter_id: string | null;
  match_kind: string | null;
  civitai_model_id: number | null;
  civitai_version_id: number | null;
  /** The model and version name CivitAI gave for the hash of a missing LoRA (migration 0011). */
  civitai_name: string | null;
  /** When the hash of a missing LoRA was looked up on CivitAI; null while not asked (or unreachable). */
  civitai_checked_at: string | null;
}

export interface RecipeTagTable {
  recipe_id: string;
  tag_key: string;
}

export interface DB {
  adapter: AdapterTable;
  adapter_tag: AdapterTagTable;
  adapter_search: AdapterSearchTable;
  setting: SettingTable;
  job: JobTable;
  job_outbox: JobOutboxTable;
  adapter_metadata: AdapterMetadataTable;
  file_hash_cache: FileHashCacheTable;
  library_issue: LibraryIssueTable;
  delivery_job: DeliveryJobTable;
  generation_image: GenerationImageTable;
  delivery_adapter: DeliveryAdapterTable;
  backup: BackupTable;
  archive_import: ArchiveImportTable;
  generation_hourly: GenerationHourlyTable;
  generation_error_hourly: GenerationErrorHourlyTable;
  lora_usage_daily: LoraUsageDailyTable;
  lora_usage_total: LoraUsageTotalTable;
  lora_usage_hourly: LoraUsageHourlyTable;
  resource_sample: ResourceSampleTable;
  recommendation_feature: RecommendationFeatureTable;
  recommendation_state: RecommendationStateTable;
  recommendation_session: RecommendationSessionTable;
  recommendation_feedback: RecommendationFeedbackTable;
  user_preference: UserPreferenceTable;
  recipe: RecipeTable;
  recipe_lora: RecipeLoraTable;
  recipe_tag: RecipeTagTable;
}
