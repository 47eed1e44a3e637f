import { Type, type Static } from 'typebox';
import { Nullable, StringEnum } from './common.ts';

/** The original's ranges plus 90d; `custom` comes with `from` and `to`. */
export const ANALYTICS_RANGES = ['24h', '7d', '30d', '90d', 'custom'] as const;
export type AnalyticsRange = (typeof ANALYTICS_RANGES)[number];

export const AnalyticsQuery = Type.Object({
  time_range: Type.Optional(StringEnum(ANALYTICS_RANGES, { description: 'Default 24h; custom (or from/to alone) needs both from and to' })),
  from: Type.Optional(Type.String({ format: 'date-time', description: 'Start of a custom range (ISO-8601)' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'End of a custom range (ISO-8601), at most 366 days after from' })),
});
export type AnalyticsQuery = Static<typeof AnalyticsQuery>;

export const AnalyticsKpis = Type.Object({
  total_generations: Type.Integer(),
  generation_growth: Type.Number({ description: 'Percent change against the previous window of the same length' }),
  avg_generation_time: Type.Number({ description: 'Seconds, mean of finished − started' }),
  time_improvement: Type.Number({ description: 'Percent faster than the previous window (negative: slower)' }),
  success_rate: Type.Number({ description: 'succeeded / (succeeded + failed) × 100; 0 when none finished' }),
  total_failed: Type.Integer(),
  active_loras: Type.Integer(),
  total_loras: Type.Integer(),
  /** Ours: generations queued or running now within the window (counted in total_generations). */
  in_progress: Type.Integer(),
});
export type AnalyticsKpis = Static<typeof AnalyticsKpis>;

const Timestamp = Type.String({ format: 'date-time', description: 'Start of the bucket (hour or UTC day)' });

export const GenerationVolumePoint = Type.Object({ timestamp: Timestamp, count: Type.Integer(), succeeded: Type.Integer(), failed: Type.Integer() });
export const PerformancePoint = Type.Object({
  timestamp: Timestamp,
  avg_time: Type.Number(),
  success_rate: Type.Number(),
  /** Ours: whether anything finished in the bucket (a 0 success rate with finished 0 means no data, not all failed). */
  finished: Type.Integer(),
});
export const LoraUsageSlice = Type.Object({
  name: Type.String(),
  usage_count: Type.Integer(),
  adapter_id: Nullable(Type.String({ description: 'Null for a LoRA name the catalogue does not know' })),
  success_rate: Type.Number(),
});
export const ResourceUsagePoint = Type.Object({
  timestamp: Timestamp,
  cpu_percent: Type.Number(),
  memory_percent: Type.Number(),
  gpu_percent: Nullable(Type.Number({ description: 'Null when no GPU was measured' })),
  gpu_memory_percent: Nullable(Type.Number()),
  queue_depth: Type.Number({ description: 'Mean jobs waiting (pending or retrying)' }),
  samples: Type.Integer(),
});
export type ResourceUsagePoint = Static<typeof ResourceUsagePoint>;

export const AnalyticsCharts = Type.Object({
  generation_volume: Type.Array(GenerationVolumePoint),
  performance: Type.Array(PerformancePoint),
  lora_usage: Type.Array(LoraUsageSlice),
  resource_usage: Type.Array(ResourceUsagePoint, { description: 'Measured samples only: buckets without a sample are left out' }),
});
export type AnalyticsCharts = Static<typeof AnalyticsCharts>;

export const ErrorBreakdownEntry = Type.Object({
  type: Type.String({ description: 'The normalised message: numbers, ids, paths and URLs folded' }),
  count: Type.Integer(),
  percentage: Type.Number(),
  description: Type.String({ description: 'One real message of this type' }),
});
export type ErrorBreakdownEntry = Static<typeof ErrorBreakdownEntry>;

export const PerformanceInsight = Type.Object({
  id: Type.String(),
  title: Type.String(),
  description: Type.String(),
  severity: StringEnum(['low', 'medium', 'high'] as const),
  recommendation: Nullable(Type.String()),
});
export type PerformanceInsight = Static<typeof PerformanceInsight>;

const WindowInfo = {
  time_range: StringEnum(ANALYTICS_RANGES),
  from: Type.String({ format: 'date-time' }),
  to: Type.String({ format: 'date-time' }),
  bucket: StringEnum(['hour', 'day'] as const),
};

export const AnalyticsSummary = Type.Object({
  ...WindowInfo,
  generated_at: Type.String({ format: 'date-time' }),
  kpis: AnalyticsKpis,
  chart_data: AnalyticsCharts,
  error_breakdown: Type.Array(ErrorBreakdownEntry),
  performance_insights: Type.Array(PerformanceInsight),
});
export type AnalyticsSummary = Static<typeof AnalyticsSummary>;

export const LORA_USAGE_SORTS = ['most_used', 'least_used', 'last_used'] as const;
export const LoraUsageQuery = Type.Object({
  sort: Type.Optional(StringEnum(LORA_USAGE_SORTS)),
  never_used: Type.Optional(Type.Boolean({ description: 'Only adapters no finished generation used' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
});
export type LoraUsageQuery = Static<typeof LoraUsageQuery>;

export const LoraUsageStat = Type.Object({
  id: Type.String(),
  name: Type.String(),
  use_count: Type.Integer(),
  last_used_at: Nullable(Type.String({ format: 'date-time' })),
  success_rate: Nullable(Type.Number({ description: 'Null when never used' })),
  avg_rating: Nullable(Type.Number({ description: 'Mean rating of the rated results that used it; null when none' })),
  favorite_results: Type.Integer(),
});
export type LoraUsageStat = Static<typeof LoraUsageStat>;
export const LoraUsageList = Type.Object({ items: Type.Array(LoraUsageStat), never_used: Type.Integer(), total: Type.Integer() });
export type LoraUsageList = Static<typeof LoraUsageList>;
