import type { Config } from '../config.ts';
import type { BackendRegistry } from '../generation/backends/backend-registry.ts';
import type { JobQueue } from '../jobs/job-queue.ts';
import type { Clock } from '../lib/clock.ts';
import { cachedFor } from '../lib/ttl-cache.ts';
import { probeGpus } from '../probes/gpu.probe.ts';
import { HostProbe, diskUsage, type DiskUsage } from '../probes/host.probe.ts';
import type { BackendHealth, RedisHealth } from '../probes/service-health.ts';
import type { AdapterRepository } from '../library/repositories/adapter.repository.ts';
import type { DashboardRepository } from '../repositories/dashboard.repository.ts';
import type { JobRepository } from '../repositories/job.repository.ts';
import { DashboardService } from './dashboard.service.ts';
import { JobService } from './job.service.ts';
import type { LibraryRootsService } from '../library/services/library-roots.service.ts';
import { SystemStatusService, type SystemProbes } from './system-status.service.ts';

/** A database that has not answered `select 1` within this is reported unavailable (health must answer quickly). */
const DATABASE_PING_TIMEOUT_MS = 2000;

async function pingDatabase(dashboard: DashboardRepository): Promise<{ available: boolean; error: string | null }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      dashboard.ping(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${DATABASE_PING_TIMEOUT_MS} ms`)), DATABASE_PING_TIMEOUT_MS);
      }),
    ]);
    return { available: true, error: null };
  } catch (error) {
    return { available: false, error: (error as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

/** How long GPU, disk and service probes are reused: status polls from many clients cost one probe per window. */
const PROBE_CACHE_MS = 5000;

export interface SystemDeps {
  config: Config;
  repositories: { adapters: AdapterRepository; dashboard: DashboardRepository; jobs: JobRepository };
  queue: JobQueue;
  libraryRoots: LibraryRootsService;
  backends: BackendRegistry;
  /** Pings the queue's Redis; null when the queue runs in-process. */
  pingRedis: (() => Promise<RedisHealth>) | null;
  /** Replace system probes (tests feed recorded nvidia-smi output or a failing generation server here). */
  probes?: Partial<SystemProbes>;
  clock: Clock;
}

export interface SystemServices {
  dashboard: DashboardService;
  systemStatus: SystemStatusService;
  jobs: JobService;
}

/** Dashboard, system status (GPU, disks, services) and the jobs listing. */
export function createSystem(deps: SystemDeps): SystemServices {
  const { config, repositories, queue, libraryRoots, backends, clock } = deps;
  // The configured generation servers and whether they answer (the registry caches its probes briefly too).
  const backendHealth: BackendHealth = async () =>
    (await backends.list())
      .filter((b) => b.configured)
      .map((b) => ({ name: b.name, kind: b.name, base_url: b.base_url, available: b.available, error: b.error, checked_at: b.checked_at ?? clock.now().toISOString() }));
  const host = new HostProbe();
  const probes: SystemProbes = {
    gpus: cachedFor(PROBE_CACHE_MS, () => probeGpus()),
    host: () => host.metrics(),
    disks: cachedFor(PROBE_CACHE_MS, async () => {
      const dirs: Array<[string, string]> = [
        ['data', config.dataDir],
        ['output', config.outputDir],
        ...(await libraryRoots.list().catch((): string[] => [])).map((root): [string, string] => ['library', root]),
      ];
      return (await Promise.all(dirs.map(([name, dir]) => diskUsage(name, dir)))).filter((d): d is DiskUsage => d !== null);
    }),
    backends: cachedFor(PROBE_CACHE_MS, backendHealth),
    redis: deps.pingRedis ? cachedFor(2000, deps.pingRedis) : null,
    database: cachedFor(1000, () => pingDatabase(repositories.dashboard)),
    ...deps.probes,
  };
  const systemStatus = new SystemStatusService(repositories.dashboard, probes, () => libraryRoots.list(), config, clock);
  return {
    dashboard: new DashboardService(repositories.dashboard, repositories.adapters, systemStatus, clock),
    systemStatus,
    jobs: new JobService(repositories.jobs, queue),
  };
}
