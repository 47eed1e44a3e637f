import fs from 'node:fs';
import path from 'node:path';
import { pino, type Logger } from 'pino';
import type { Config } from './config.ts';
import { migrateToLatest, openDatabase, type AppDatabase } from './db/database.ts';
import type { EventBus } from './events/event-bus.ts';
import { InProcessEventBus } from './events/in-process.event-bus.ts';
import { checkRedis, closeRedis, openRedis } from './events/redis-connection.ts';
import { RedisEventBus } from './events/redis.event-bus.ts';
import { BullMqJobQueue } from './jobs/bullmq.job-queue.ts';
import { InProcessJobQueue } from './jobs/in-process.job-queue.ts';
import { registerArchiveJobs } from './jobs/archive.jobs.ts';
import { JobLifecycle } from './jobs/job-lifecycle.ts';
import type { JobQueue } from './jobs/job-queue.ts';
import { BackendRegistry } from './backends/backend-registry.ts';
import { CliDeliveryTarget } from './backends/cli.delivery.ts';
import { HttpDeliveryTarget } from './backends/http.delivery.ts';
import { deliveryHandler } from './jobs/delivery.handler.ts';
import { generationHandler } from './jobs/generation.handler.ts';
import { JOB_KINDS } from './jobs/job-catalogue.ts';
import { registerLibraryJobs } from './jobs/library.jobs.ts';
import { systemClock, type Clock } from './lib/clock.ts';
import { loadOrCreateKeyFile } from './lib/secret-key-file.ts';
import { cachedFor } from './lib/ttl-cache.ts';
import { probeGpus } from './probes/gpu.probe.ts';
import { HostProbe, diskUsage, type DiskUsage } from './probes/host.probe.ts';
import { pingRedis, type BackendHealth } from './probes/service-health.ts';
import { AdapterRepository } from './repositories/adapter.repository.ts';
import { LibraryRepository } from './repositories/library.repository.ts';
import { ArchiveRepository } from './repositories/archive.repository.ts';
import { DashboardRepository } from './repositories/dashboard.repository.ts';
import { DeliveryRepository } from './repositories/delivery.repository.ts';
import { GenerationResultRepository } from './repositories/generation-result.repository.ts';
import { JobRepository } from './repositories/job.repository.ts';
import { SettingRepository } from './repositories/setting.repository.ts';
import { AdapterService } from './services/adapter.service.ts';
import { ArchiveExportService } from './services/archive/archive-export.service.ts';
import { ArchiveImportService } from './services/archive/archive-import.service.ts';
import { ArchiveJobService } from './services/archive/archive-jobs.service.ts';
import { BackupScheduler } from './services/archive/backup-scheduler.ts';
import { BackupService } from './services/archive/backup.service.ts';
import { ExportFiles } from './services/archive/export-files.ts';
import { StagingArea } from './services/archive/staging.ts';
import { ComposeService } from './services/compose.service.ts';
import { DeliveryRunner } from './services/delivery-runner.ts';
import { DeliveryService } from './services/delivery.service.ts';
import { GenerationRunner } from './services/generation-runner.ts';
import { GenerationSettingsService } from './services/generation-settings.service.ts';
import { GenerationService } from './services/generation.service.ts';
import { OutputStore } from './services/output-store.ts';
import { ResultService } from './services/result.service.ts';
import { SecretCipher } from './services/secret-cipher.ts';
import { DashboardService } from './services/dashboard.service.ts';
import { JobService } from './services/job.service.ts';
import { LibraryRootsService } from './services/library-roots.service.ts';
import { LibraryScanService, type LibraryTransaction } from './services/library/library-scan.service.ts';
import { LibrarySettingsService } from './services/library/library-settings.service.ts';
import { HttpCivitaiClient } from './services/library/civitai.client.ts';
import { CivitaiService } from './services/library/civitai.service.ts';
import { LibraryHashService } from './services/library/library-hash.service.ts';
import { LibraryJobRunner } from './services/library/library-job-runner.ts';
import { LibraryWatcher } from './services/library/library-watcher.ts';
import { LibraryService } from './services/library/library.service.ts';
import { PreviewService } from './services/library/preview.service.ts';
import { createAnalyser } from './workers/analyse-pool.ts';
import { configureNativeHeaderReader, nativeHeaderReaderStatus } from './lib/native-header-reader.ts';
import { SystemStatusService, type SystemProbes } from './services/system-status.service.ts';

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
    library: LibraryRepository;
    archive: ArchiveRepository;
    dashboard: DashboardRepository;
    jobs: JobRepository;
    deliveries: DeliveryRepository;
    results: GenerationResultRepository;
  };
  services: {
    adapters: AdapterService;
    libraryRoots: LibraryRootsService;
    librarySettings: LibrarySettingsService;
    libraryScan: LibraryScanService;
    libraryHash: LibraryHashService;
    library: LibraryService;
    civitai: CivitaiService;
    previews: PreviewService;
    archiveExport: ArchiveExportService;
    archiveImport: ArchiveImportService;
    backups: BackupService;
    exportFiles: ExportFiles;
    staging: StagingArea;
    /** Export, import, backup and restore as queued jobs. */
    archiveJobs: ArchiveJobService;
    /** Started by `serve` only. */
    backupScheduler: BackupScheduler;
    dashboard: DashboardService;
    systemStatus: SystemStatusService;
    jobs: JobService;
    compose: ComposeService;
    deliveries: DeliveryService;
    generation: GenerationService;
    generationSettings: GenerationSettingsService;
    results: ResultService;
  };
  /** Watches the library roots for changes; `serve` starts it when the setting is on. */
  libraryWatcher: LibraryWatcher;
  backends: BackendRegistry;
  outputs: OutputStore;
  close(): Promise<void>;
}

export interface ContainerOverrides {
  /** An already-open database (tests pass PGlite or an in-memory SQLite). */
  database?: AppDatabase;
  clock?: Clock;
  logger?: Logger;
  /** Replace system probes (tests feed recorded nvidia-smi output or a failing generation server here). */
  probes?: Partial<SystemProbes>;
}

/** How long GPU, disk and service probes are reused: status polls from many clients cost one probe per window. */
const PROBE_CACHE_MS = 5000;

export async function createContainer(config: Config, overrides: ContainerOverrides = {}): Promise<Container> {
  const logger = overrides.logger ?? pino({ level: config.logLevel, base: { service: 'lora-manager' } });
  const clock = overrides.clock ?? systemClock;
  // Private: DATA_DIR holds the database, the secrets key and backups. A folder that already exists keeps its mode.
  fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const database =
    overrides.database ?? openDatabase(config.databaseUrl, (err) => logger.warn({ err }, 'lost an idle database connection; the next query opens a new one'));
  const applied = await migrateToLatest(database);
  if (applied.length > 0) logger.info({ migrations: applied }, 'database migrated');

  const repositories = {
    adapters: new AdapterRepository(database.db, database.dialect),
    settings: new SettingRepository(database.db),
    library: new LibraryRepository(database.db, database.dialect.bulk),
    archive: new ArchiveRepository(database.db, database.dialect),
    dashboard: new DashboardRepository(database.db),
    jobs: new JobRepository(database.db),
    deliveries: new DeliveryRepository(database.db),
    results: new GenerationResultRepository(database.db),
  };
  // Embedded: in-process bus and queue. With REDIS_URL: Redis pub/sub and BullMQ, so any number of `serve` and
  // `worker` processes share the work and the progress. Services see only the ports either way.
  const redis = config.redisUrl ? await connectRedis(config.redisUrl, logger) : null;
  const events: EventBus = config.redisUrl
    ? await RedisEventBus.connect(config.redisUrl, {
        prefix: config.redisPrefix,
        onListenerError: (error, channel) => logger.error({ err: error, channel }, 'event listener failed'),
      })
    : new InProcessEventBus();
  const lifecycle = new JobLifecycle(repositories.jobs, events, clock, logger.child({ component: 'jobs' }));
  const queueLogger = logger.child({ component: 'queue' });
  const queue: JobQueue = redis
    ? new BullMqJobQueue(repositories.jobs, lifecycle, events, queueLogger, {
        connection: redis,
        prefix: config.redisPrefix,
        stallTimeoutMs: config.queueStallTimeoutMs,
      })
    : new InProcessJobQueue(repositories.jobs, lifecycle, events, queueLogger);
  // Every job kind is registered here, on the queue, so `serve` and `worker` run the same set of handlers.

  const libraryRoots = new LibraryRootsService(config.loraPaths, repositories.settings, {
    dataDir: config.dataDir,
    outputDir: config.outputDir,
    allowLinksOut: config.library.allowLinksOut,
  });
  // A refused root (from LORA_PATHS or saved earlier) is skipped, never walked; the roots listing shows why.
  for (const { root, reason } of await libraryRoots.refused()) logger.warn({ root, reason }, 'library root refused: it is not walked or watched');
  const roots = () => libraryRoots.list();
  const archiveExport = new ArchiveExportService(repositories.adapters, repositories.archive, libraryRoots, config.dataDir, config.outputDir, clock, logger);
  const backups = new BackupService(repositories.archive, archiveExport, repositories.settings, config.dataDir, config.archive, clock, logger);
  const exportFiles = new ExportFiles(archiveExport, config.dataDir, clock);
  // Imported images go to OUTPUT_DIR, which may be on a disk of its own: staging considers it a root too.
  const staging = new StagingArea(config.dataDir, async () => [...(await roots()), config.outputDir], async (id) => (await repositories.archive.findImport(id)) !== undefined, logger);
  const archiveImport = new ArchiveImportService(repositories.archive, roots, staging, backups, config.dataDir, config.outputDir, config.archive, clock, logger);
  // Generation pipeline: compose → delivery/generation job → backend → images under OUTPUT_DIR.
  const outputs = new OutputStore(config.outputDir, config.generation.thumbnailSize);
  // Secrets in the database are sealed with a key kept outside it (SECRETS_KEY, else DATA_DIR/secret.key).
  const secrets = new SecretCipher(config.secretsKey ?? loadOrCreateKeyFile(path.join(config.dataDir, 'secret.key')), logger.child({ component: 'secrets' }));
  const generationSettings = new GenerationSettingsService(config.generation, repositories.settings, clock, secrets);
  const backends = new BackendRegistry(generationSettings, clock, config.generation.sdnext.pollIntervalMs);
  const compose = new ComposeService(repositories.adapters);
  const generation = new GenerationService(
    repositories.deliveries,
    repositories.results,
    repositories.jobs,
    queue,
    backends,
    generationSettings,
    compose,
    outputs,
    config.generation,
    clock,
  );
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
        ...(await libraryRoots.list()).map((root): [string, string] => ['library', root]),
      ];
      return (await Promise.all(dirs.map(([name, dir]) => diskUsage(name, dir)))).filter((d): d is DiskUsage => d !== null);
    }),
    backends: cachedFor(PROBE_CACHE_MS, backendHealth),
    redis: redis ? cachedFor(2000, () => pingRedis(redis)) : null,
    ...overrides.probes,
  };
  const systemStatus = new SystemStatusService(repositories.dashboard, probes, () => libraryRoots.list(), config, clock);
  const libraryTransaction: LibraryTransaction = (fn) =>
    database.db.transaction().execute((trx) => fn({ adapters: new AdapterRepository(trx, database.dialect), library: new LibraryRepository(trx, database.dialect.bulk) }));
  const librarySettings = new LibrarySettingsService(repositories.settings, clock, secrets);
  await generationSettings.sealLegacySecrets();
  await librarySettings.sealLegacySecrets();
  const libraryLogger = logger.child({ component: 'library' });
  configureNativeHeaderReader({ enabled: config.nativeHeaderReader });
  const headerReader = nativeHeaderReaderStatus();
  // A missing addon only slows scans down (the JavaScript reader gives the same results), but say so once.
  if (headerReader.active) libraryLogger.debug(headerReader.reason);
  else libraryLogger.warn(headerReader.reason);
  const libraryScan = new LibraryScanService(
    libraryRoots,
    repositories.adapters,
    repositories.library,
    repositories.settings,
    libraryTransaction,
    () => createAnalyser(config.scanThreads, { nativeHeaderReader: config.nativeHeaderReader }),
    clock,
    libraryLogger,
    config.dataDir,
    config.scanThreads,
    database.dialect.holdCheckpoints,
    { maxEntries: config.library.maxEntries, maxDepth: config.library.maxDepth },
  );
  const libraryHash = new LibraryHashService(repositories.adapters, repositories.library, libraryTransaction, clock, libraryLogger, (file) =>
    libraryRoots.confine(file),
  );
  const civitai = new CivitaiService(
    new HttpCivitaiClient({ baseUrl: config.civitaiApiUrl, minIntervalMs: config.civitaiMinIntervalMs }),
    repositories.adapters,
    repositories.library,
    librarySettings,
    clock,
    libraryLogger,
    config.dataDir,
  );
  const library = new LibraryService(libraryRoots, repositories.adapters, repositories.library, repositories.jobs, queue, libraryScan, librarySettings, clock, libraryLogger, config.loraPaths);
  const libraryWatcher = new LibraryWatcher(
    (paths) => library.startScan({ paths }),
    () => libraryRoots.list(),
    async () => (await librarySettings.values()).watch,
    libraryLogger,
    {
      maxEntries: config.library.watchMaxEntries,
      maxDepth: config.library.maxDepth,
      rescanIntervalMs: config.library.rescanIntervalMs,
      followLinks: config.library.allowLinksOut,
    },
  );
  library.watcherState = () => libraryWatcher.state();
  librarySettings.onChange(() => void libraryWatcher.sync());
  library.onRootsChanged(() => void libraryWatcher.sync());
  registerLibraryJobs(queue, new LibraryJobRunner(libraryScan, libraryHash, civitai, librarySettings, library));
  const services = {
    adapters: new AdapterService(repositories.adapters, libraryRoots, clock, (adapter, fields) => library.adapterPatched(adapter, fields)),
    libraryRoots,
    dashboard: new DashboardService(repositories.dashboard, repositories.adapters, systemStatus, clock),
    systemStatus,
    archiveExport,
    archiveImport,
    backups,
    exportFiles,
    staging,
    archiveJobs: new ArchiveJobService(archiveExport, exportFiles, archiveImport, backups, queue),
    backupScheduler: new BackupScheduler(backups, exportFiles, queue, clock, logger.child({ component: 'backups' })),
    jobs: new JobService(repositories.jobs, queue),
    librarySettings,
    libraryScan,
    libraryHash,
    library,
    civitai,
    previews: new PreviewService(repositories.adapters, libraryRoots, librarySettings, clock, libraryLogger, config.dataDir),
    compose,
    deliveries: new DeliveryService(repositories.deliveries, queue, backends, generation, compose, config.delivery, clock),
    generation,
    generationSettings,
    results: new ResultService(repositories.deliveries, repositories.results, queue, outputs, clock),
  };
  const generationRunner = new GenerationRunner(repositories.deliveries, repositories.results, repositories.adapters, backends, outputs, clock);
  queue.register(JOB_KINDS.generation, generationHandler(generationRunner), {
    concurrency: config.generation.concurrency,
    maxAttempts: config.generation.maxAttempts,
    backoffMs: config.generation.backoffMs,
  });
  const deliveryRunner = new DeliveryRunner(repositories.deliveries, [
    new HttpDeliveryTarget({ allowedHosts: config.delivery.httpAllowedHosts, timeoutMs: config.delivery.httpTimeoutMs }),
    new CliDeliveryTarget({
      enabled: config.delivery.cliEnabled,
      dir: path.join(config.dataDir, 'deliveries'),
      command: config.delivery.cliCommand,
      timeoutMs: config.delivery.cliTimeoutMs,
    }),
  ]);
  queue.register(JOB_KINDS.delivery, deliveryHandler(deliveryRunner), { concurrency: 4, maxAttempts: config.delivery.maxAttempts, backoffMs: config.generation.backoffMs });
  registerArchiveJobs(queue, services.archiveJobs);
  // Finish or undo imports a previous process left half-way (a crash between staging and moving files into place).
  const recovered = await staging.recover();
  if (recovered.rolledForward.length + recovered.discarded.length > 0) logger.warn(recovered, 'interrupted imports recovered');

  return {
    config,
    logger,
    clock,
    database,
    events,
    queue,
    repositories,
    services,
    libraryWatcher,
    backends,
    outputs,
    async close() {
      await libraryWatcher.end();
      services.backupScheduler.stop();
      await queue.close();
      await events.close();
      if (redis) await closeRedis(redis);
      await database.close();
    },
  };
}

/** The queue's Redis connection, checked first so a wrong REDIS_URL stops the process with a reason instead of hanging. */
async function connectRedis(url: string, logger: Logger) {
  await checkRedis(url);
  const redis = openRedis(url, 'lora-manager:queue');
  redis.on('error', (error) => logger.warn({ err: error }, 'Redis connection error'));
  return redis;
}
