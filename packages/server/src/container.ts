import fs from 'node:fs';
import { pino, type Logger } from 'pino';
import type { Config } from './config.ts';
import { migrateToLatest, openDatabase, type AppDatabase } from './db/database.ts';
import { systemClock, type Clock } from './lib/clock.ts';
import { AdapterRepository } from './repositories/adapter.repository.ts';
import { ArchiveRepository } from './repositories/archive.repository.ts';
import { SettingRepository } from './repositories/setting.repository.ts';
import { AdapterService } from './services/adapter.service.ts';
import { ArchiveExportService } from './services/archive/archive-export.service.ts';
import { ArchiveImportService } from './services/archive/archive-import.service.ts';
import { BackupService } from './services/archive/backup.service.ts';
import { ExportFiles } from './services/archive/export-files.ts';
import { StagingArea } from './services/archive/staging.ts';
import { LibraryRootsService } from './services/library-roots.service.ts';

/** The composition root: the one place that builds repositories, ports and services. */
export interface Container {
  config: Config;
  logger: Logger;
  clock: Clock;
  database: AppDatabase;
  repositories: {
    adapters: AdapterRepository;
    settings: SettingRepository;
    archive: ArchiveRepository;
  };
  services: {
    adapters: AdapterService;
    libraryRoots: LibraryRootsService;
    archiveExport: ArchiveExportService;
    archiveImport: ArchiveImportService;
    backups: BackupService;
    exportFiles: ExportFiles;
    staging: StagingArea;
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
    archive: new ArchiveRepository(database.db, database.dialect),
  };
  const libraryRoots = new LibraryRootsService(config.loraPaths, repositories.settings);
  const roots = () => libraryRoots.list();
  const archiveExport = new ArchiveExportService(repositories.adapters, repositories.archive, libraryRoots, config.dataDir, clock, logger);
  const backups = new BackupService(repositories.archive, archiveExport, repositories.settings, config.dataDir, config.archive, clock, logger);
  const staging = new StagingArea(config.dataDir, roots, async (id) => (await repositories.archive.findImport(id)) !== undefined, logger);
  const services = {
    adapters: new AdapterService(repositories.adapters, libraryRoots, clock),
    libraryRoots,
    archiveExport,
    archiveImport: new ArchiveImportService(repositories.archive, roots, staging, backups, config.dataDir, config.archive, clock, logger),
    backups,
    exportFiles: new ExportFiles(archiveExport, config.dataDir, clock),
    staging,
  };
  // Finish or undo imports a previous process left half-way (a crash between staging and moving files into place).
  const recovered = await staging.recover();
  if (recovered.rolledForward.length + recovered.discarded.length > 0) logger.warn(recovered, 'interrupted imports recovered');

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
