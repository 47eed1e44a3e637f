import fs from 'node:fs';
import path from 'node:path';
import { pino, type Logger } from 'pino';
import type { Config } from './config.ts';
import { migrateToLatest, openDatabase, type AppDatabase } from './db/database.ts';
import type { EventBus } from './events/event-bus.ts';
import { InProcessEventBus } from './events/in-process.event-bus.ts';
import { InProcessJobQueue } from './jobs/in-process.job-queue.ts';
import { JobLifecycle } from './jobs/job-lifecycle.ts';
import type { JobQueue } from './jobs/job-queue.ts';
import { BackendRegistry } from './backends/backend-registry.ts';
import { CliDeliveryTarget } from './backends/cli.delivery.ts';
import { HttpDeliveryTarget } from './backends/http.delivery.ts';
import { DELIVERY_JOB, DeliveryJobHandler } from './jobs/delivery.handler.ts';
import { GENERATION_JOB, GenerationJobHandler } from './jobs/generation.handler.ts';
import { systemClock, type Clock } from './lib/clock.ts';
import { AdapterRepository } from './repositories/adapter.repository.ts';
import { DeliveryRepository } from './repositories/delivery.repository.ts';
import { JobRepository } from './repositories/job.repository.ts';
import { SettingRepository } from './repositories/setting.repository.ts';
import { AdapterService } from './services/adapter.service.ts';
import { ComposeService } from './services/compose.service.ts';
import { DeliveryService } from './services/delivery.service.ts';
import { GenerationSettingsService } from './services/generation-settings.service.ts';
import { GenerationService } from './services/generation.service.ts';
import { OutputStore } from './services/output-store.ts';
import { ResultService } from './services/result.service.ts';
import { JobService } from './services/job.service.ts';
import { LibraryRootsService } from './services/library-roots.service.ts';

/** The composition root: the one place that builds repositories, ports and services. */
export interface Container {
  config: Config;
  logger: Logger;
  clock: Clock;
  database: AppDatabase;
  events: EventBus;
  queue: JobQueue;
  repositories: {
    adapters: AdapterRepository;
    settings: SettingRepository;
    jobs: JobRepository;
    deliveries: DeliveryRepository;
  };
  services: {
    adapters: AdapterService;
    libraryRoots: LibraryRootsService;
    jobs: JobService;
    compose: ComposeService;
    deliveries: DeliveryService;
    generation: GenerationService;
    generationSettings: GenerationSettingsService;
    results: ResultService;
  };
  backends: BackendRegistry;
  outputs: OutputStore;
  close(): Promise<void>;
}

export interface ContainerOverrides {
  /** An already-open database (tests pass PGlite or an in-memory SQLite). */
  database?: AppDatabase;
  clock?: Clock;
  logger?: Logger;
}

export async function createContainer(config: Config, overrides: ContainerOverrides = {}): Promise<Container> {
  const logger = overrides.logger ?? pino({ level: config.logLevel, base: { service: 'lora-manager' } });
  const clock = overrides.clock ?? systemClock;
  fs.mkdirSync(config.dataDir, { recursive: true });
  const database = overrides.database ?? openDatabase(config.databaseUrl);
  const applied = await migrateToLatest(database);
  if (applied.length > 0) logger.info({ migrations: applied }, 'database migrated');

  const repositories = {
    adapters: new AdapterRepository(database.db, database.dialect),
    settings: new SettingRepository(database.db),
    jobs: new JobRepository(database.db),
    deliveries: new DeliveryRepository(database.db),
  };
  const events = new InProcessEventBus();
  const lifecycle = new JobLifecycle(repositories.jobs, events, clock, logger.child({ component: 'jobs' }));
  const queue: JobQueue = new InProcessJobQueue(repositories.jobs, lifecycle, events, logger.child({ component: 'queue' }));

  const libraryRoots = new LibraryRootsService(config.loraPaths, repositories.settings);
  // Generation pipeline: compose → delivery/generation job → backend → images under OUTPUT_DIR.
  const outputs = new OutputStore(config.outputDir, config.generation.thumbnailSize);
  const generationSettings = new GenerationSettingsService(config.generation, repositories.settings, clock);
  const backends = new BackendRegistry(generationSettings, clock, config.generation.sdnext.pollIntervalMs);
  const compose = new ComposeService(repositories.adapters);
  const generation = new GenerationService(
    repositories.deliveries,
    repositories.jobs,
    queue,
    backends,
    generationSettings,
    compose,
    outputs,
    config.generation,
    clock,
  );
  const services = {
    adapters: new AdapterService(repositories.adapters, libraryRoots, clock),
    libraryRoots,
    jobs: new JobService(repositories.jobs, queue),
    compose,
    deliveries: new DeliveryService(repositories.deliveries, queue, backends, generation, compose, config.delivery, clock),
    generation,
    generationSettings,
    results: new ResultService(repositories.deliveries, queue, outputs, clock),
  };
  const generationHandler = new GenerationJobHandler(repositories.deliveries, repositories.adapters, backends, outputs, clock);
  queue.register(GENERATION_JOB, generationHandler.handle, {
    concurrency: config.generation.concurrency,
    maxAttempts: config.generation.maxAttempts,
    backoffMs: config.generation.backoffMs,
  });
  const deliveryHandler = new DeliveryJobHandler(repositories.deliveries, [
    new HttpDeliveryTarget({ allowedHosts: config.delivery.httpAllowedHosts, timeoutMs: config.delivery.httpTimeoutMs }),
    new CliDeliveryTarget({
      enabled: config.delivery.cliEnabled,
      dir: path.join(config.dataDir, 'deliveries'),
      command: config.delivery.cliCommand,
      timeoutMs: config.delivery.cliTimeoutMs,
    }),
  ]);
  queue.register(DELIVERY_JOB, deliveryHandler.handle, { concurrency: 4, maxAttempts: config.delivery.maxAttempts, backoffMs: config.generation.backoffMs });

  return {
    config,
    logger,
    clock,
    database,
    events,
    queue,
    repositories,
    services,
    backends,
    outputs,
    async close() {
      await queue.close();
      await events.close();
      await database.close();
    },
  };
}
