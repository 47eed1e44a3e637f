import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Config } from '../../config.ts';
import type { DB } from '../../db/tables.ts';
import { PermanentJobError } from '../../jobs/job-queue.ts';
import type { Clock } from '../../lib/clock.ts';
import { probeGpus } from '../../probes/gpu.probe.ts';
import { HostProbe } from '../../probes/host.probe.ts';
import { AnalyticsRepository } from '../repositories/analytics.repository.ts';
import { ResourceSampleRepository } from '../repositories/resource-sample.repository.ts';
import { UsageRepository } from '../repositories/usage.repository.ts';
import { AnalyticsService } from './analytics.service.ts';
import { ResourceSampler, type SamplerProbes } from './resource-sampler.ts';
import { UsageRecorder } from './usage-recorder.ts';

export interface AnalyticsDeps {
  config: Config;
  db: Kysely<DB>;
  clock: Clock;
  logger: Logger;
  /** Replace the host or GPU probe (tests feed recorded figures). */
  probes?: Partial<SamplerProbes>;
}

export interface AnalyticsCapability {
  services: { analytics: AnalyticsService; usageRecorder: UsageRecorder };
  /** Started by `serve` and `worker`, stopped by the container's close. */
  sampler: ResourceSampler;
}

/** Analytics: the read service over the roll-ups, the recorder that fills them, and the resource sampler. */
export function createAnalytics(deps: AnalyticsDeps): AnalyticsCapability {
  const { config, db, clock, logger } = deps;
  const host = new HostProbe();
  const probes: SamplerProbes = { host: () => host.metrics(), gpus: () => probeGpus(), ...deps.probes };
  const log = logger.child({ component: 'analytics' });
  return {
    services: {
      analytics: new AnalyticsService(new AnalyticsRepository(db), clock),
      usageRecorder: new UsageRecorder(new UsageRepository(db), clock, (error) => error instanceof PermanentJobError, log),
    },
    sampler: new ResourceSampler(new ResourceSampleRepository(db), probes, config.analytics, clock, log),
  };
}
