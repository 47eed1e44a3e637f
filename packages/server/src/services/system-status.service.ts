import type { BackendHealthReport, Health, JobStatus, SystemStatus } from '@lora-manager/contract';
import type { Config } from '../config.ts';
import type { Clock } from '../lib/clock.ts';
import { toIso } from '../lib/time.ts';
import type { GpuReport } from '../probes/gpu.probe.ts';
import type { DiskUsage, HostMetrics } from '../probes/host.probe.ts';
import type { BackendHealth, RedisHealth } from '../probes/service-health.ts';
import type { DashboardRepository, JobSummary } from '../repositories/dashboard.repository.ts';

export interface SystemProbes {
  gpus(): Promise<GpuReport>;
  host(): HostMetrics;
  /** Usage of the disks holding the data, output and library folders. */
  disks(): Promise<DiskUsage[]>;
  backends: BackendHealth;
  /** Null in embedded mode (no Redis configured). */
  redis: (() => Promise<RedisHealth>) | null;
  /** A round trip to the database, with a deadline; the error when it does not answer. */
  database: () => Promise<{ available: boolean; error: string | null }>;
}

const DISK_WARNING_PERCENT = 95;
const HOUR = 3_600_000;

/** GPU, host, disk, queue, importer and service health in one payload (original §3.14, with §6 item 15 fixed). */
export class SystemStatusService {
  constructor(
    private readonly repository: DashboardRepository,
    private readonly probes: SystemProbes,
    private readonly libraryRoots: () => Promise<string[]>,
    private readonly config: Pick<Config, 'systemStatus' | 'redisUrl'>,
    private readonly clock: Clock,
  ) {}

  /** `GET /health`: "ok", or "degraded" with the reasons while the database or Redis does not answer. */
  async health(): Promise<Health> {
    const reasons = await this.degradedReasons();
    return reasons.length > 0 ? { status: 'degraded', service: 'lora-manager', reasons } : { status: 'ok', service: 'lora-manager' };
  }

  private async degradedReasons(redisHealth?: RedisHealth | null): Promise<string[]> {
    const [database, redis] = await Promise.all([
      this.probes.database(),
      redisHealth !== undefined ? redisHealth : this.probes.redis ? this.probes.redis() : null,
    ]);
    const reasons: string[] = [];
    if (!database.available) reasons.push(`Database unavailable: ${database.error ?? 'no answer'}`);
    if (redis && !redis.available) reasons.push(`Redis unavailable: ${redis.error ?? 'no answer'} (new jobs wait in the database until it is back)`);
    return reasons;
  }

  async status(): Promise<SystemStatus> {
    const now = this.clock.now();
    const t = this.config.systemStatus;
    // Without the database the counts are unknown, not zero: the payload still answers, degraded, with the reason.
    const noAdapters = { total: 0, active: 0, recent: 0, described: 0, lastActivity: null };
    const [gpu, disks, backends, redis, roots, adapters, jobs] = await Promise.all([
      this.probes.gpus(),
      this.probes.disks(),
      this.probes.backends().catch((error: Error): BackendHealthReport[] => [
        { name: 'generation backends', kind: 'unknown', base_url: null, available: false, error: error.message, checked_at: toIso(now) },
      ]),
      this.probes.redis ? this.probes.redis() : Promise.resolve(null),
      this.libraryRoots().catch((): string[] => []),
      this.repository.adapterSummary(toIso(now.getTime() - t.importerStaleHours * HOUR)).catch(() => noAdapters),
      this.repository.jobSummary(toIso(now.getTime() - t.windowHours * HOUR)).catch((): JobSummary => ({ byStatus: {}, recentDurations: [] })),
    ]);
    const degraded = await this.degradedReasons(redis);
    const host = this.probes.host();
    const count = (s: JobStatus) => jobs.byStatus[s] ?? 0;
    const queue = {
      pending: count('pending'),
      running: count('running'),
      retrying: count('retrying'),
      succeeded: count('succeeded'),
      failed: count('failed'),
      cancelled: count('cancelled'),
      active: count('pending') + count('running') + count('retrying'),
      total: Object.values(jobs.byStatus).reduce((a, b) => a + (b ?? 0), 0),
      window_hours: t.windowHours,
    };

    const warnings: string[] = [];
    if (gpu.source === null && gpu.error && !gpu.error.startsWith('No GPU found')) warnings.push(`GPU probe failed: ${gpu.error}`);
    if (queue.active > t.queueWarningActive) warnings.push(`Queue backlog above threshold: ${queue.active} active > ${t.queueWarningActive}`);
    if (queue.failed > t.queueWarningFailed) {
      warnings.push(`Job failures above threshold: ${queue.failed} failed in the last ${t.windowHours} h > ${t.queueWarningFailed}`);
    }
    for (const b of backends) if (!b.available) warnings.push(`Generation backend ${b.name} unavailable: ${b.error ?? 'no answer'}`);
    for (const reason of degraded) warnings.push(reason);
    for (const d of disks) if (d.percent >= DISK_WARNING_PERCENT) warnings.push(`Disk holding the ${d.name} folder is ${d.percent}% full`);

    const gpuUsed = sum(gpu.gpus.map((g) => g.memory_used));
    const gpuTotal = sum(gpu.gpus.map((g) => g.memory_total));
    const dataDisk = disks.find((d) => d.name === 'data') ?? disks[0] ?? null;
    const sdnext = backends.find((b) => /sdnext|a1111|automatic/i.test(b.kind));
    const iso = toIso(now);
    const averageRun = jobs.recentDurations.length > 0 ? jobs.recentDurations.reduce((a, b) => a + b, 0) / jobs.recentDurations.length : null;

    return {
      gpu_available: gpu.available,
      queue_length: queue.active,
      status: degraded.length > 0 ? 'degraded' : warnings.length > 0 ? 'warning' : 'healthy',
      degraded_reasons: degraded,
      gpu_status: gpuStatus(gpu),
      // 0 without a GPU: the original client's schema refuses null here, and system RAM is not GPU memory.
      memory_used: gpu.available ? gpuUsed : 0,
      memory_total: gpu.available ? gpuTotal : 0,
      active_workers: queue.running,
      backend: this.config.redisUrl ? 'redis' : 'in-process',
      // Sequential estimate from recent run times; null until a job has finished in the window.
      queue_eta_seconds: queue.active === 0 ? 0 : averageRun === null ? null : Math.round(averageRun * queue.active),
      last_updated: iso,
      updated_at: iso,
      warnings,
      metrics: {
        ...host,
        disk_percent: dataDisk?.percent ?? null,
        disk_used: dataDisk?.used ?? null,
        disk_total: dataDisk?.total ?? null,
        disks,
        gpus: gpu.gpus,
        timestamp: iso,
      },
      message: 'System status collected successfully',
      gpu: { source: gpu.source, error: gpu.error },
      sdnext: sdnext
        ? { configured: true, base_url: sdnext.base_url, available: sdnext.available, error: sdnext.error, checked_at: sdnext.checked_at }
        : { configured: false, base_url: null, available: null, error: null, checked_at: null },
      generation_backends: backends,
      redis: redis
        ? { configured: true, ...redis }
        : { configured: false, available: null, latency_ms: null, error: null },
      importer: {
        import_path: roots[0] ?? null,
        library_roots: roots,
        last_ingested_at: adapters.lastActivity,
        recent_imports: adapters.recent,
        total_adapters: adapters.total,
        stale: importerStale(adapters.total, adapters.recent, adapters.lastActivity, t.importerStaleHours, now),
        stale_threshold_hours: t.importerStaleHours,
      },
      // Recommendations are computed from text and tags; there is no model to preload, so they are ready at once.
      recommendations: { models_loaded: true, gpu_available: gpu.available },
      queue,
      thresholds: {
        queue: { active_warning: t.queueWarningActive, failed_warning: t.queueWarningFailed },
        importer: { stale_hours: t.importerStaleHours },
      },
    };
  }
}

function sum(values: Array<number | null>): number {
  return values.reduce<number>((a, b) => a + (b ?? 0), 0);
}

function gpuStatus(gpu: GpuReport): string {
  if (!gpu.available) return gpu.error?.startsWith('No GPU found') ? 'No GPU detected' : 'GPU unavailable';
  const names = [...new Set(gpu.gpus.map((g) => g.name))];
  return names.length === 1 && gpu.gpus.length > 1 ? `${gpu.gpus.length} × ${names[0]}` : names.join(', ');
}

/** The original's rule: stale when idle for twice the threshold plus a buffer (5 min, or 1 h from 6 h thresholds). */
function importerStale(total: number, recent: number, last: string | null, hours: number, now: Date): boolean {
  if (total === 0) return false;
  if (last === null) return true;
  if (recent > 0) return false;
  const buffer = hours >= 6 ? HOUR : 5 * 60_000;
  return now.getTime() - Date.parse(last) >= 2 * hours * HOUR + buffer;
}
