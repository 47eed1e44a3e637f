import { Type, type Static } from 'typebox';
import { Nullable, StringEnum } from './common.ts';

const NStr = Nullable(Type.String());
const NNum = Nullable(Type.Number());
const Int = Type.Integer();

/** `GET /dashboard/stats`: the original's field names, with coverage computed for real (see embeddings_coverage). */
export const DashboardStats = Type.Object({
  stats: Type.Object({
    total_loras: Int,
    active_loras: Int,
    /** Percent of adapters the recommender can describe by more than a name (trigger words, tags or description). */
    embeddings_coverage: Int,
    /** Percent of adapters that are active: what the original mislabelled as embeddings_coverage. */
    active_coverage: Int,
    recent_imports: Int,
    active_jobs: Int,
  }),
  system_health: Type.Object({
    status: StringEnum(['healthy', 'warning'] as const),
    gpu_status: Type.String(),
    gpu_memory: Type.String(),
    queue_status: StringEnum(['active', 'idle'] as const),
    storage_usage: Type.String(),
  }),
});
export type DashboardStats = Static<typeof DashboardStats>;

export const FeaturedLora = Type.Object({
  id: Type.String(),
  name: Type.String(),
  version: NStr,
  tags: Type.Array(Type.String()),
  active: Type.Boolean(),
  civitai_url: NStr,
  description: NStr,
});
export type FeaturedLora = Static<typeof FeaturedLora>;

export const ActivityItem = Type.Object({
  id: Type.String(),
  /** The job status, as the original put it. */
  type: Type.String(),
  status: Type.String(),
  message: Type.String(),
  /** Delivery mode for deliveries and generations, the job kind otherwise. */
  mode: Type.String(),
  prompt: NStr,
  timestamp: Type.String({ description: 'When the job was created, ISO-8601 UTC' }),
  icon: Type.String(),
  kind: Type.String(),
  progress: Type.Number(),
  error: NStr,
  /** The same in plain words for people ("Generated 4 images: “a fox…”"); `message` keeps the original's wording. */
  summary: Type.Optional(Type.String()),
});
export type ActivityItem = Static<typeof ActivityItem>;

export const GpuInfo = Type.Object({
  id: Int,
  name: Type.String(),
  memory_total: NNum,
  memory_used: NNum,
  memory_percent: NNum,
  temperature: NNum,
  utilization: NNum,
  fan_speed: NNum,
  power_draw_watts: NNum,
});

export const DiskUsage = Type.Object({
  name: Type.String(),
  path: Type.String(),
  used: Type.Number(),
  total: Type.Number(),
  free: Type.Number(),
  percent: Type.Number(),
});

export const BackendHealthReport = Type.Object({
  name: Type.String(),
  kind: Type.String(),
  base_url: NStr,
  available: Type.Boolean(),
  error: NStr,
  checked_at: Type.String(),
});
export type BackendHealthReport = Static<typeof BackendHealthReport>;

/** `GET /system/status`: every field of the original's payload (§3.14) plus what it lacked (disks, Redis, all backends). */
export const SystemStatus = Type.Object({
  gpu_available: Type.Boolean(),
  queue_length: Int,
  /** "degraded" while the database or Redis does not answer (the reasons are in `warnings`). */
  status: StringEnum(['healthy', 'warning', 'degraded'] as const),
  gpu_status: Type.String(),
  /**
   * GPU memory in MiB, summed over GPUs; 0 without a GPU (there is none to use). Never system RAM, and never null:
   * the original client's schema refuses null here, and acceptance case 28 wants both keys.
   */
  memory_used: Type.Number(),
  memory_total: Type.Number(),
  /** Why the status is "degraded"; empty otherwise. */
  degraded_reasons: Type.Array(Type.String()),
  active_workers: Int,
  backend: StringEnum(['redis', 'in-process'] as const),
  queue_eta_seconds: NNum,
  last_updated: Type.String(),
  updated_at: Type.String(),
  warnings: Type.Array(Type.String()),
  metrics: Nullable(
    Type.Object({
      cpu_percent: Type.Number(),
      memory_percent: Type.Number(),
      memory_used: Type.Number(),
      memory_total: Type.Number(),
      disk_percent: NNum,
      disk_used: NNum,
      disk_total: NNum,
      disks: Type.Array(DiskUsage),
      gpus: Type.Array(GpuInfo),
      uptime_seconds: Type.Number(),
      timestamp: Type.String(),
    }),
  ),
  message: Type.String(),
  gpu: Type.Object({ source: NStr, error: NStr }),
  sdnext: Type.Object({ configured: Type.Boolean(), base_url: NStr, available: Nullable(Type.Boolean()), error: NStr, checked_at: NStr }),
  generation_backends: Type.Array(BackendHealthReport),
  redis: Type.Object({ configured: Type.Boolean(), available: Nullable(Type.Boolean()), latency_ms: NNum, error: NStr }),
  importer: Type.Object({
    import_path: NStr,
    library_roots: Type.Array(Type.String()),
    last_ingested_at: NStr,
    recent_imports: Int,
    total_adapters: Int,
    stale: Type.Boolean(),
    stale_threshold_hours: Int,
  }),
  recommendations: Type.Object({ models_loaded: Type.Boolean(), gpu_available: Type.Boolean() }),
  queue: Type.Object({
    total: Int,
    active: Int,
    running: Int,
    failed: Int,
    pending: Int,
    retrying: Int,
    succeeded: Int,
    cancelled: Int,
    /** Terminal statuses (failed, succeeded, cancelled, total) count jobs finished within this many hours. */
    window_hours: Int,
  }),
  thresholds: Type.Object({
    queue: Type.Object({ active_warning: Int, failed_warning: Int }),
    importer: Type.Object({ stale_hours: Int }),
  }),
});
export type SystemStatus = Static<typeof SystemStatus>;
