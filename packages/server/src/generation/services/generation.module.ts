import path from 'node:path';
import type { Config } from '../../config.ts';
import { BackendRegistry } from '../backends/backend-registry.ts';
import { CliDeliveryTarget } from '../backends/cli.delivery.ts';
import { HttpDeliveryTarget } from '../backends/http.delivery.ts';
import type { JobQueue } from '../../jobs/job-queue.ts';
import type { Clock } from '../../lib/clock.ts';
import type { AdapterRepository } from '../../library/repositories/adapter.repository.ts';
import type { DeliveryRepository } from '../repositories/delivery.repository.ts';
import type { GenerationResultRepository } from '../repositories/generation-result.repository.ts';
import type { JobRepository } from '../../repositories/job.repository.ts';
import type { SettingRepository } from '../../repositories/setting.repository.ts';
import { ComposeService } from './compose.service.ts';
import { DeliveryRunner } from './delivery-runner.ts';
import { DeliveryService } from './delivery.service.ts';
import { GenerationRunner } from './generation-runner.ts';
import { GenerationSettingsService } from './generation-settings.service.ts';
import { GenerationService } from './generation.service.ts';
import { OutputStore } from './output-store.ts';
import { ResultService, type ResultFeedbackListener } from './result.service.ts';
import type { SecretCipher } from '../../services/secret-cipher.ts';

export interface GenerationDeps {
  config: Pick<Config, 'dataDir' | 'outputDir' | 'generation' | 'delivery'>;
  repositories: {
    adapters: AdapterRepository;
    settings: SettingRepository;
    jobs: JobRepository;
    deliveries: DeliveryRepository;
    results: GenerationResultRepository;
  };
  queue: JobQueue;
  secrets: SecretCipher;
  clock: Clock;
  /** Told when results are rated or favourited (analytics' per-LoRA averages). */
  resultFeedback?: ResultFeedbackListener;
}

export interface GenerationCapability {
  services: {
    compose: ComposeService;
    deliveries: DeliveryService;
    generation: GenerationService;
    generationSettings: GenerationSettingsService;
    results: ResultService;
  };
  backends: BackendRegistry;
  outputs: OutputStore;
  /** What the generation and delivery job handlers run; container.ts registers them on the queue. */
  runners: { generation: GenerationRunner; delivery: DeliveryRunner };
}

/** The generation pipeline: compose → delivery/generation job → backend → images under OUTPUT_DIR. */
export async function createGeneration(deps: GenerationDeps): Promise<GenerationCapability> {
  const { config, repositories, queue, secrets, clock } = deps;
  const outputs = new OutputStore(config.outputDir, config.generation.thumbnailSize);
  const generationSettings = new GenerationSettingsService(config.generation, repositories.settings, clock, secrets);
  await generationSettings.sealLegacySecrets();
  const backends = new BackendRegistry(generationSettings, clock, config.generation.sdnext.pollIntervalMs);
  const compose = new ComposeService(repositories.adapters);
  const generation = new GenerationService({
    deliveries: repositories.deliveries,
    results: repositories.results,
    jobs: repositories.jobs,
    queue,
    registry: backends,
    settings: generationSettings,
    composer: compose,
    outputs,
    config: config.generation,
    clock,
  });
  const deliveryTargets = [
    new HttpDeliveryTarget({ allowedHosts: config.delivery.httpAllowedHosts, timeoutMs: config.delivery.httpTimeoutMs }),
    new CliDeliveryTarget({
      enabled: config.delivery.cliEnabled,
      dir: path.join(config.dataDir, 'deliveries'),
      command: config.delivery.cliCommand,
      timeoutMs: config.delivery.cliTimeoutMs,
    }),
  ];
  return {
    services: {
      compose,
      deliveries: new DeliveryService({ deliveries: repositories.deliveries, queue, registry: backends, generation, composer: compose, config: config.delivery, clock }),
      generation,
      generationSettings,
      results: new ResultService(repositories.deliveries, repositories.results, queue, outputs, clock, deps.resultFeedback ?? null),
    },
    backends,
    outputs,
    runners: {
      generation: new GenerationRunner({
        deliveries: repositories.deliveries,
        results: repositories.results,
        adapters: repositories.adapters,
        registry: backends,
        outputs,
        clock,
      }),
      delivery: new DeliveryRunner(repositories.deliveries, deliveryTargets),
    },
  };
}
