import type { ActivityItem, DashboardStats, FeaturedLora, Job } from '@lora-manager/contract';
import { activityWords } from '../lib/activity-words.ts';
import type { Clock } from '../lib/clock.ts';
import { toIso } from '../lib/time.ts';
import type { AdapterRepository } from '../library/repositories/adapter.repository.ts';
import type { DashboardRepository } from '../repositories/dashboard.repository.ts';
import type { SystemStatusService } from './system-status.service.ts';

const RECENT_IMPORT_MS = 24 * 3_600_000;
const ICONS: Record<string, string> = { pending: '⏳', running: '🚀', retrying: '🔁', succeeded: '✅', failed: '⚠️', cancelled: '🚫' };

/** The dashboard's three panels (original §3.13) from live data. */
export class DashboardService {
  constructor(
    private readonly repository: DashboardRepository,
    private readonly adapters: AdapterRepository,
    private readonly system: SystemStatusService,
    private readonly clock: Clock,
  ) {}

  async stats(): Promise<DashboardStats> {
    const [summary, status] = await Promise.all([
      this.repository.adapterSummary(toIso(this.clock.now().getTime() - RECENT_IMPORT_MS)),
      this.system.status(),
    ]);
    const pct = (n: number) => (summary.total > 0 ? Math.round((n / summary.total) * 100) : 0);
    const dataDisk = status.metrics?.disks.find((d) => d.name === 'data') ?? status.metrics?.disks[0];
    return {
      stats: {
        total_loras: summary.total,
        active_loras: summary.active,
        embeddings_coverage: pct(summary.described),
        active_coverage: pct(summary.active),
        recent_imports: summary.recent,
        active_jobs: status.queue.active,
      },
      system_health: {
        // The original's dashboard knows healthy and warning only; a degraded service is a warning there.
        status: status.status === 'healthy' ? 'healthy' : 'warning',
        gpu_status: status.gpu_status,
        gpu_memory: status.gpu_available ? gigabytes(status.memory_used, status.memory_total) : 'no GPU',
        queue_status: status.queue.active > 0 ? 'active' : 'idle',
        storage_usage: dataDisk ? gigabytes(dataDisk.used, dataDisk.total) : 'unknown',
      },
    };
  }

  /** Up to five active adapters, most recently changed first. */
  async featured(): Promise<FeaturedLora[]> {
    const ids = await this.repository.featuredIds(5);
    const byId = new Map((await this.adapters.findByIds(ids)).map((a) => [a.id, a]));
    return ids.flatMap((id) => {
      const a = byId.get(id);
      if (!a) return [];
      return [
        {
          id: a.id,
          name: a.name,
          version: a.version,
          tags: a.tags,
          active: a.active,
          civitai_url: a.civitai_model_id
            ? `https://civitai.com/models/${a.civitai_model_id}${a.civitai_version_id ? `?modelVersionId=${a.civitai_version_id}` : ''}`
            : null,
          description: a.description,
        },
      ];
    });
  }

  /** The ten newest jobs of any kind, newest first. */
  async activity(): Promise<ActivityItem[]> {
    return (await this.repository.recentJobs(10)).map(activityItem);
  }
}

function gigabytes(usedMib: number | null, totalMib: number | null): string {
  const gb = (mib: number) => `${(mib / 1024).toFixed(1)} GB`;
  if (usedMib === null) return 'unknown';
  return totalMib ? `${gb(usedMib)} / ${gb(totalMib)}` : gb(usedMib);
}

function words(kind: string): string {
  const text = kind.replace(/[._-]+/g, ' ').trim();
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export function activityItem(job: Job): ActivityItem {
  const prompt = typeof job.payload.prompt === 'string' ? job.payload.prompt : null;
  const mode = typeof job.payload.mode === 'string' ? job.payload.mode : job.kind;
  // Deliveries and generations read as the original put them; other kinds (scan, hash, backup…) by name.
  const message = prompt !== null ? `Delivery job '${prompt}' ${job.status}` : `${words(job.kind)} job ${job.status}`;
  return {
    id: job.id,
    type: job.status,
    status: job.status,
    message,
    mode,
    prompt,
    timestamp: job.created_at,
    icon: ICONS[job.status] ?? 'ℹ️',
    kind: job.kind,
    progress: job.progress,
    error: job.error,
    summary: activityWords(job),
  };
}
