import fs from 'node:fs';
import { pino, type Logger } from 'pino';
import type { Config } from './config.ts';
import { migrateToLatest, openDatabase, type AppDatabase } from './db/database.ts';
import { systemClock, type Clock } from './lib/clock.ts';
import { AdapterRepository } from './repositories/adapter.repository.ts';
import { LibraryRepository } from './repositories/library.repository.ts';
import { SettingRepository } from './repositories/setting.repository.ts';
import { AdapterService } from './services/adapter.service.ts';
import { LibraryRootsService } from './services/library-roots.service.ts';
import { LibraryScanService, type LibraryTransaction } from './services/library/library-scan.service.ts';
import { LibrarySettingsService } from './services/library/library-settings.service.ts';
import { createAnalyser } from './workers/analyse-pool.ts';

/** The composition root: the one place that builds repositories, ports and services. */
export interface Container {
  config: Config;
  logger: Logger;
  clock: Clock;
  database: AppDatabase;
  repositories: {
    adapters: AdapterRepository;
    settings: SettingRepository;
    library: LibraryRepository;
  };
  services: {
    adapters: AdapterService;
    libraryRoots: LibraryRootsService;
    librarySettings: LibrarySettingsService;
    libraryScan: LibraryScanService;
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
    library: new LibraryRepository(database.db),
  };
  const libraryRoots = new LibraryRootsService(config.loraPaths, repositories.settings);
  const libraryTransaction: LibraryTransaction = (fn) =>
    database.db.transaction().execute((trx) => fn({ adapters: new AdapterRepository(trx, database.dialect), library: new LibraryRepository(trx) }));
  const librarySettings = new LibrarySettingsService(repositories.settings, clock);
  const services = {
    adapters: new AdapterService(repositories.adapters, libraryRoots, clock),
    libraryRoots,
    librarySettings,
    libraryScan: new LibraryScanService(
      libraryRoots,
      repositories.adapters,
      repositories.library,
      repositories.settings,
      libraryTransaction,
      () => createAnalyser(config.scanThreads),
      clock,
      logger,
      config.dataDir,
      config.scanThreads,
    ),
  };

  return {
    config,
    logger,
    clock,
    database,
    repositories,
    services,
    async close() {
      await database.close();
    },
  };
}
