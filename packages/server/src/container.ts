import fs from 'node:fs';
import { pino, type Logger } from 'pino';
import type { Config } from './config.ts';
import { migrateToLatest, openDatabase, type AppDatabase } from './db/database.ts';
import type { EventBus } from './events/event-bus.ts';
import { InProcessEventBus } from './events/in-process.event-bus.ts';
import { InProcessJobQueue } from './jobs/in-process.job-queue.ts';
import { JobLifecycle } from './jobs/job-lifecycle.ts';
import type { JobQueue } from './jobs/job-queue.ts';
import { systemClock, type Clock } from './lib/clock.ts';
import { AdapterRepository } from './repositories/adapter.repository.ts';
import { JobRepository } from './repositories/job.repository.ts';
import { SettingRepository } from './repositories/setting.repository.ts';
import { AdapterService } from './services/adapter.service.ts';
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
  };
  services: {
    adapters: AdapterService;
    libraryRoots: LibraryRootsService;
    jobs: JobService;
  };
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
  };
  const events = new InProcessEventBus();
  const lifecycle = new JobLifecycle(repositories.jobs, events, clock, logger.child({ component: 'jobs' }));
  const queue: JobQueue = new InProcessJobQueue(repositories.jobs, lifecycle, events, logger.child({ component: 'queue' }));

  const libraryRoots = new LibraryRootsService(config.loraPaths, repositories.settings);
  const services = {
    adapters: new AdapterService(repositories.adapters, libraryRoots, clock),
    libraryRoots,
    jobs: new JobService(repositories.jobs, queue),
  };

  return {
    config,
    logger,
    clock,
    database,
    events,
    queue,
    repositories,
    services,
    async close() {
      await queue.close();
      await events.close();
      await database.close();
    },
  };
}
