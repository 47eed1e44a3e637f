import { Type, type Static } from 'typebox';
import { JsonObject, Nullable, StringEnum } from './common.ts';

// The original's recommendation API (§2.6), field for field, plus what makes it learn: every response carries the
// `session_id` that feedback refers to, and items carry their reasons as a list as well as the joined explanation.

export const FEEDBACK_TYPES = ['positive', 'negative', 'activated', 'ignored', 'dismissed'] as const;
export const PREFERENCE_TYPES = ['archetype', 'style', 'technical', 'author', 'tag'] as const;

const Limit = Type.Optional(Type.Integer({ minimum: 1, maximum: 50, default: 10 }));
const Unit = (description: string) => Type.Optional(Type.Number({ minimum: 0, maximum: 1, description }));
const Id = Type.String({ minLength: 1, maxLength: 200 });

export const LoraIdParams = Type.Object({ lora_id: Id });
export type LoraIdParams = Static<typeof LoraIdParams>;

export const SimilarQuery = Type.Object({
  limit: Limit,
  similarity_threshold: Unit('Smallest score kept (default 0.1)'),
  diversify_results: Type.Optional(Type.Boolean({ description: 'Favour well-rated LoRAs and push near-copies of earlier results down (default true)' })),
  weight_semantic: Unit('Weight of triggers, trained words and names (default 0.6)'),
  weight_artistic: Unit('Weight of style and subject tags (default 0.3)'),
  weight_technical: Unit('Weight of base model, network type, rank and size (default 0.1)'),
  include_incompatible: Type.Optional(Type.Boolean({ description: 'Keep LoRAs of another base-model family (default false: they are filtered out)' })),
});
export type SimilarQuery = Static<typeof SimilarQuery>;

const Weights = Type.Object(
  { semantic: Unit('default 0.5'), artistic: Unit('default 0.35'), technical: Unit('default 0.15') },
  { additionalProperties: false },
);

export const PromptRecommendationBody = Type.Object({
  prompt: Type.String({ minLength: 1, maxLength: 20_000 }),
  active_loras: Type.Optional(Type.Array(Type.String({ maxLength: 300 }), { maxItems: 100, description: 'Adapter ids (or names) already in the prompt: left out, and what they go with counts' })),
  limit: Limit,
  include_explanations: Type.Optional(Type.Boolean()),
  style_preference: Type.Optional(Nullable(Type.String({ maxLength: 200 }))),
  technical_requirements: Type.Optional(Nullable(JsonObject)),
  weights: Type.Optional(Nullable(Weights)),
});
export type PromptRecommendationBody = Static<typeof PromptRecommendationBody>;

export const TriggerQuery = Type.Object({
  trigger_query: Type.String({ minLength: 1, maxLength: 300 }),
  limit: Limit,
});
export type TriggerQuery = Static<typeof TriggerQuery>;

export const RecommendationItem = Type.Object({
  lora_id: Type.String(),
  lora_name: Type.String(),
  lora_description: Nullable(Type.String()),
  similarity_score: Type.Number(),
  final_score: Type.Number(),
  explanation: Type.String(),
  reasons: Type.Array(Type.String()),
  semantic_similarity: Type.Optional(Type.Number()),
  artistic_similarity: Type.Optional(Type.Number()),
  technical_similarity: Type.Optional(Type.Number()),
  quality_boost: Type.Optional(Type.Number()),
  popularity_boost: Type.Optional(Type.Number()),
  recency_boost: Type.Optional(Type.Number()),
  learned_boost: Type.Optional(Type.Number({ description: 'What co-usage, feedback and preferences added' })),
  metadata: JsonObject,
});
export type RecommendationItem = Static<typeof RecommendationItem>;

export const RecommendationResponse = Type.Object({
  session_id: Type.String({ description: 'Refer to it in POST /recommendations/feedback' }),
  target_lora_id: Type.Optional(Type.String()),
  prompt: Type.Optional(Type.String()),
  trigger_query: Type.Optional(Type.String()),
  recommendations: Type.Array(RecommendationItem),
  total_candidates: Type.Integer(),
  processing_time_ms: Type.Number(),
  recommendation_config: JsonObject,
  generated_at: Type.String(),
});
export type RecommendationResponse = Static<typeof RecommendationResponse>;

export const RecommendationStats = Type.Object({
  total_loras: Type.Integer(),
  loras_with_embeddings: Type.Integer(),
  embedding_coverage: Type.Number(),
  avg_recommendation_time_ms: Type.Number(),
  cache_hit_rate: Type.Number(),
  total_sessions: Type.Integer(),
  user_preferences_count: Type.Integer(),
  feedback_count: Type.Integer(),
  model_memory_usage_gb: Type.Number(),
  last_index_update: Type.String(),
  indexed_in_memory: Type.Integer(),
});
export type RecommendationStats = Static<typeof RecommendationStats>;

export const EmbeddingComputeBody = Type.Object({
  adapter_ids: Type.Optional(Type.Array(Id, { maxItems: 10_000 })),
  force_recompute: Type.Optional(Type.Boolean()),
  compute_all: Type.Optional(Type.Boolean()),
  batch_size: Type.Optional(Type.Integer({ minimum: 1, maximum: 128 })),
});
export type EmbeddingComputeBody = Static<typeof EmbeddingComputeBody>;

export const EmbeddingBatchResult = Type.Object({
  processed_count: Type.Integer(),
  skipped_count: Type.Integer(),
  error_count: Type.Integer(),
  processing_time_seconds: Type.Number(),
  errors: Type.Array(Type.Object({ adapter_id: Type.String(), error: Type.String() })),
  completed_at: Type.String(),
});
export type EmbeddingBatchResult = Static<typeof EmbeddingBatchResult>;

export const EmbeddingStatus = Type.Object({
  adapter_id: Type.String(),
  has_semantic_embedding: Type.Boolean(),
  has_artistic_embedding: Type.Boolean(),
  has_technical_embedding: Type.Boolean(),
  has_extracted_features: Type.Boolean(),
  last_computed: Nullable(Type.String()),
  needs_recomputation: Type.Boolean(),
});
export type EmbeddingStatus = Static<typeof EmbeddingStatus>;

export const ForceQuery = Type.Object({ force_recompute: Type.Optional(Type.Boolean()), force: Type.Optional(Type.Boolean()) });
export type ForceQuery = Static<typeof ForceQuery>;

export const EmbeddingComputeResult = Type.Object({ status: Type.String(), message: Type.String() });

export const FeedbackBody = Type.Object({
  session_id: Id,
  recommended_lora_id: Id,
  feedback_type: StringEnum(FEEDBACK_TYPES),
  feedback_reason: Type.Optional(Nullable(Type.String({ maxLength: 2000 }))),
  implicit_signal: Type.Optional(Type.Boolean()),
});
export type FeedbackBody = Static<typeof FeedbackBody>;

export const FeedbackRecord = Type.Object({
  id: Type.String(),
  session_id: Type.String(),
  recommended_lora_id: Type.String(),
  feedback_type: Type.String(),
  feedback_reason: Nullable(Type.String()),
  implicit_signal: Type.Boolean(),
  created_at: Type.String(),
});
export type FeedbackRecord = Static<typeof FeedbackRecord>;

export const PreferenceBody = Type.Object({
  preference_type: StringEnum(PREFERENCE_TYPES),
  preference_value: Type.String({ minLength: 1, maxLength: 200 }),
  confidence: Type.Number({ minimum: 0, maximum: 1, description: 'Above 0.5 favours matching LoRAs, below 0.5 disfavours them' }),
  explicit: Type.Optional(Type.Boolean()),
});
export type PreferenceBody = Static<typeof PreferenceBody>;

export const PreferenceRecord = Type.Object({
  id: Type.String(),
  preference_type: Type.String(),
  preference_value: Type.String(),
  confidence: Type.Number(),
  learned_from: Type.String(),
  evidence_count: Type.Integer(),
  last_evidence_at: Type.String(),
  created_at: Type.String(),
  updated_at: Type.String(),
});
export type PreferenceRecord = Static<typeof PreferenceRecord>;

export const IndexRebuildResult = Type.Object({
  status: StringEnum(['rebuilt', 'skipped', 'empty'] as const),
  indexed_items: Type.Integer(),
  index_path: Nullable(Type.String()),
  index_size_bytes: Type.Integer(),
  processing_time_seconds: Type.Number(),
  rebuilt_at: Type.String(),
  skipped: Type.Boolean(),
  skipped_reason: Nullable(Type.String()),
});
export type IndexRebuildResult = Static<typeof IndexRebuildResult>;

export const RecommendationHealth = Type.Object({
  status: Type.String(),
  checks: Type.Record(Type.String(), Type.Boolean()),
  metrics: JsonObject,
  timestamp: Type.String(),
});
export type RecommendationHealth = Static<typeof RecommendationHealth>;
