import os from 'node:os';
import type { Logger } from 'pino';
import type { AnalyticsConfig } from '../../config.ts';
import type { Clock } from '../../lib/clock.ts';
import { floorTo } from '../../lib/time-window.ts';
import { toIso } from '../../lib/time.ts';
import type { HostMetrics } from '../../probes/host.probe.ts';
import type { GpuReport } from '../../probes/gpu.probe.ts';
import type { ResourceSampleRepository } from '../repositories/resource-sample.repository.ts';

export interface SamplerProbes {
  host(): HostMetrics;
  gpus(): Promise<GpuReport>;
}

/** Housekeeping (downsampling and pruning) runs on this many samples' interval, and once at start. */
const HOUSEKEEPING_EVERY_MS = 15 * 60_000;

/**
 * Measures CPU, memory, GPU and queue depth every ANALYTICS_SAMPLE_INTERVAL_S and stores one row per process, so
 * `resource_usage` is what the machines did, not a figure derived from job counts. Every `serve` and `worker`
 * process samples (each names itself host:pid), folds its own raw rows older than ANALYTICS_SAMPLE_RAW_HOURS into
 * hourly averages, and deletes anything older than ANALYTICS_SAMPLE_RETENTION_DAYS.
 */
export class ResourceSampler {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private lastHousekeeping = 0;
  readonly process: string;

  constructor(
    private readonly repo: ResourceSampleRepository,
    private readonly probes: SamplerProbes,
    private readonly config: AnalyticsConfig,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    this.process = `${os.hostname()}:${process.pid}`;
  }

  start(): void {
    if (this.timer || this.config.sampleIntervalS === 0) return;
    this.timer = setInterval(() => void this.tick(), this.config.sampleIntervalS * 1000);
    this.timer.unref();
    void this.tick();
  }

  /** Stop sampling and wait for a sample being written, so the database can close after. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One sample (and housekeeping when due); never throws. Exposed for tests and for `tick` scheduling. */
  async tick(): Promise<void> {
    if (this.running) return this.running;
    this.running = this.sampleOnce()
      .catch((error: unknown) => this.logger.warn({ err: error }, 'resource sample failed'))
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  private async sampleOnce(): Promise<void> {
    const now = this.clock.now();
    const host = this.probes.host();
    const [gpu, queue] = await Promise.all([this.probes.gpus().catch(() => null), this.repo.queueCounts()]);
    const gpus = gpu?.available ? gpu.gpus : [];
    const mean = (values: Array<number | null | undefined>) => {
      const known = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
      return known.length > 0 ? known.reduce((a, b) => a + b, 0) / known.length : null;
    };
    await this.repo.insert({
      process: this.process,
      at: toIso(now),
      resolution: this.config.sampleIntervalS || 1,
      samples: 1,
      cpu_percent: host.cpu_percent,
      memory_percent: host.memory_percent,
      gpu_percent: mean(gpus.map((g) => g.utilization)),
      gpu_memory_percent: mean(gpus.map((g) => g.memory_percent)),
      queue_depth: queue.waiting,
      running: queue.running,
    });
    if (now.getTime() - this.lastHousekeeping >= HOUSEKEEPING_EVERY_MS) {
      this.lastHousekeeping = now.getTime();
      await this.housekeeping(now);
    }
  }

  async housekeeping(now: Date): Promise<void> {
    const rawCutoff = floorTo(new Date(now.getTime() - this.config.sampleRawHours * 3_600_000), 'hour');
    await this.repo.downsample(this.process, toIso(rawCutoff));
    await this.repo.prune(toIso(new Date(now.getTime() - this.config.sampleRetentionDays * 86_400_000)));
  }
}
