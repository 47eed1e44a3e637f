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
import { registerArchiveJobs } from './archive/jobs/archive.jobs.ts';
import { registerRecipeJobs } from './recipes/jobs/recipes.jobs.ts';
import { JobLifecycle } from './jobs/job-lifecycle.ts';
import type { JobQueue } from './jobs/job-queue.ts';
import { deliveryHandler } from './generation/jobs/delivery.handler.ts';
import { generationHandler } from './generation/jobs/generation.handler.ts';
import { JOB_KINDS } from './jobs/job-catalogue.ts';
import { registerLibraryJobs } from './library/jobs/library.jobs.ts';
import { systemClock, type Clock } from './lib/clock.ts';
import { loadOrCreateKeyFile } from './lib/secret-key-file.ts';
import { pingRedis } from './probes/service-health.ts';
import { AdapterRepository } from './library/repositories/adapter.repository.ts';
import { LibraryRepository } from './library/repositories/library.repository.ts';
import { ArchiveRepository } from './archive/repositories/archive.repository.ts';
import { DashboardRepository } from './repositories/dashboard.repository.ts';
import { DeliveryRepository } from './generation/repositories/delivery.repository.ts';
import { GenerationResultRepository } from './generation/repositories/generation-result.repository.ts';
import { JobRepository } from './repositories/job.repository.ts';
import { SettingRepository } from './repositories/setting.repository.ts';
import { createArchive, type ArchiveServices } from './archive/services/archive.module.ts';
import { createGeneration, type GenerationCapability } from './generation/services/generation.module.ts';
import { LibraryRootsService } from './library/services/library-roots.service.ts';
import { createLibrary, type LibraryCapability } from './library/services/library.module.ts';
import { SecretCipher } from './services/secret-cipher.ts';
import type { SystemProbes } from './services/system-status.service.ts';
import { createSystem, type SystemServices } from './services/system.module.ts';
import { createAnalytics, type AnalyticsCapability } from './analytics/services/analytics.module.ts';
import { createRecommendations, type RecommendationServices } from './recommendations/services/recommendations.module.ts';
import { createRecipes, type RecipesCapability } from './recipes/services/recipes.module.ts';

/** The composition root: builds the database, repositories and ports, then each capability from its factory. */
export interface Container {
  config: Config;
  logger: Logger;
  clock: Clock;
  database: AppDatabase;
  events: EventBus;
  queue: JobQueue;
  repositories: Repositories;
  services: { libraryRoots: LibraryRootsService } & LibraryCapability['services'] &
    ArchiveServices &
    GenerationCapability['services'] &
    SystemServices &
    AnalyticsCapability['services'] &
    RecommendationServices &
    RecipesCapability['services'];
  /** Samples CPU, memory, GPU and queue depth for analytics; `serve` and `worker` start it. */
  resourceSampler: AnalyticsCapability['sampler'];
  /** Watches the library roots for changes; `serve` starts it when the setting is on. */
  libraryWatcher: LibraryCapability['watcher'];
  backends: GenerationCapability['backends'];
  outputs: GenerationCapability['outputs'];
  close(): Promise<void>;
}

type Repositories = ReturnType<typeof createRepositories>;

export interface ContainerOverrides {
  /** An already-open database (tests pass PGlite or an in-memory SQLite). */
  database?: AppDatabase;
  clock?: Clock;
  logger?: Logger;
  /** Replace system probes (tests feed recorded nvidia-smi output or a failing generation server here). */
  probes?: Partial<SystemProbes>;
}

export async function createContainer(config: Config, overrides: ContainerOverrides = {}): Promise<Container> {
  const logger = overrides.logger ?? pino({ level: config.logLevel, base: { service: 'lora-manager' } });
  const clock = overrides.clock ?? systemClock;
  // Private: DATA_DIR holds the database, the secrets key and backups. A folder that already exists keeps its mode.
  fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const database =
    overrides.database ?? openDatabase(config.databaseUrl, (err) => logger.warn({ err }, 'lost an idle database connection; the next query opens a new one'));
  const applied = await migrateToLatest(database);
  if (applied.length > 0) logger.info({ migrations: applied }, 'database migrated');
  const repositories = createRepositories(database);

  const { redis, events, queue } = await createMessaging(config, repositories, clock, logger);

  const libraryRoots = new LibraryRootsService(config.loraPaths, repositories.settings, {
    dataDir: config.dataDir,
    outputDir: config.outputDir,
    allowLinksOut: config.library.allowLinksOut,
  });
  // A refused root (from LORA_PATHS or saved earlier) is skipped, never walked; the roots listing shows why.
  for (const { root, reason } of await libraryRoots.refused()) logger.warn({ root, reason }, 'library root refused: it is not walked or watched');
  // Secrets in the database are sealed with a key kept outside it (SECRETS_KEY, else DATA_DIR/secret.key).
  const secrets = new SecretCipher(config.secretsKey ?? loadOrCreateKeyFile(path.join(config.dataDir, 'secret.key')), logger.child({ component: 'secrets' }));

  const analytics = createAnalytics({ config, db: database.db, clock, logger, probes: overrides.probes });
  // Recommendation features follow every committed adapter change, whoever made it, without holding the writer up (a
  // scan flushes thousands): the refresh is queued on the index, which any read in this process waits for, and other
  // processes see it through the stored counter once written. A failure is logged, never the writer's failure, and
  // makes the next read sweep for stale features.
  const recommendations = createRecommendations({ database, repositories, clock, logger });
  const onAdaptersChanged = async (ids: readonly string[]) => {
    recommendations.recommendationIndex.refresh(ids).catch((err: unknown) => logger.warn({ err, adapters: ids.length }, 'recommendation features not updated'));
  };
  const archive = createArchive({
    config,
    repositories,
    queue,
    libraryRoots,
    clock,
    logger,
    onAdaptersChanged,
    onHistoryImported: () => analytics.services.usageRecorder.rebuild(),
  });
  // Roll-ups are filled from the jobs already there the first time a database meets them (after migration 0008).
  if (await analytics.services.usageRecorder.ensureRollups()) logger.info('analytics roll-ups built from existing jobs');
  const generation = await createGeneration({ config, repositories, queue, secrets, clock, resultFeedback: analytics.services.usageRecorder });
  const system = createSystem({
    config,
    repositories,
    queue,
    libraryRoots,
    backends: generation.backends,
    pingRedis: redis ? () => pingRedis(redis) : null,
    probes: overrides.probes,
    clock,
  });
  const library = await createLibrary({ config, database, repositories, queue, libraryRoots, secrets, clock, logger, onAdaptersChanged });
  const recipes = createRecipes({
    config,
    database,
    repositories,
    queue,
    events,
    results: generation.services.results,
    generator: generation.services.generation,
    civitai: { client: library.civitaiClient, settings: () => library.services.librarySettings.values() },
    clock,
    logger,
  });
  const services: Container['services'] = {
    libraryRoots,
    ...library.services,
    ...archive,
    ...generation.services,
    ...system,
    ...analytics.services,
    ...recommendations,
    ...recipes.services,
  };

  registerJobHandlers(queue, config, { library, generation, archive, analytics, recipes });
  // Finish or undo imports a previous process left half-way (a crash between staging and moving files into place).
  const recovered = await archive.staging.recover();
  if (recovered.rolledForward.length + recovered.discarded.length > 0) logger.warn(recovered, 'interrupted imports recovered');

  const libraryWatcher = library.watcher;
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
    resourceSampler: analytics.sampler,
    backends: generation.backends,
    outputs: generation.outputs,
    async close() {
      await libraryWatcher.end();
      await recipes.stop();
      services.backupScheduler.stop();
      await analytics.sampler.stop();
      await queue.close();
      await events.close();
      if (redis) await closeRedis(redis);
      await database.close();
    },
  };
}

/**
 * Embedded: in-process bus and queue. With REDIS_URL: Redis pub/sub and BullMQ, so any number of `serve` and `worker`
 * processes share the work and the progress. Services see only the ports either way.
 */
async function createMessaging(config: Config, repositories: ReturnType<typeof createRepositories>, clock: Clock, logger: Logger) {
  const redis = config.redisUrl ? await connectRedis(config.redisUrl, logger) : null;
  const events: EventBus = config.redisUrl
    ? await RedisEventBus.connect(config.redisUrl, {
        prefix: config.redisPrefix,
        onListenerError: (error, channel) => logger.error({ err: error, channel }, 'event listener failed'),
        onDropped: (channel, reason) => logger.warn({ channel, reason }, 'Redis unavailable: events are dropped until it answers (the database keeps the state)'),
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
  return { redis, events, queue };
}

/** Every job kind is registered here, on the queue, so `serve` and `worker` run the same set of handlers. */
function registerJobHandlers(
  queue: JobQueue,
  config: Config,
  capabilities: {
    library: LibraryCapability;
    generation: GenerationCapability;
    archive: ArchiveServices;
    analytics: AnalyticsCapability;
    recipes: RecipesCapability;
  },
): void {
  const { library, generation, archive, analytics, recipes } = capabilities;
  registerLibraryJobs(queue, library.jobRunner);
  queue.register(JOB_KINDS.generation, generationHandler(generation.runners.generation, analytics.services.usageRecorder), {
    concurrency: config.generation.concurrency,
    maxAttempts: config.generation.maxAttempts,
    backoffMs: config.generation.backoffMs,
  });
  queue.register(JOB_KINDS.delivery, deliveryHandler(generation.runners.delivery), {
    concurrency: 4,
    maxAttempts: config.delivery.maxAttempts,
    backoffMs: config.generation.backoffMs,
  });
  registerArchiveJobs(queue, archive.archiveJobs);
  registerRecipeJobs(queue, recipes.services.recipeCivitai);
}

function createRepositories(database: AppDatabase) {
  return {
    adapters: new AdapterRepository(database.db, database.dialect),
    settings: new SettingRepository(database.db),
    library: new LibraryRepository(database.db, database.dialect.bulk),
    archive: new ArchiveRepository(database.db, database.dialect),
    dashboard: new DashboardRepository(database.db),
    jobs: new JobRepository(database.db),
    deliveries: new DeliveryRepository(database.db),
    results: new GenerationResultRepository(database.db),
  };
}

/** The queue's Redis connection, checked first so a wrong REDIS_URL stops the process with a reason instead of hanging. */
async function connectRedis(url: string, logger: Logger) {
  await checkRedis(url);
  const redis = openRedis(url, 'lora-manager:queue');
  // Once per outage: ioredis reports every reconnect attempt as an error.
  let reported = false;
  redis.on('error', (error) => {
    if (!reported) logger.warn({ err: error }, 'Redis connection error: reconnecting (jobs wait in the database meanwhile)');
    reported = true;
  });
  redis.on('ready', () => {
    if (reported) logger.info('Redis connection ready again');
    reported = false;
  });
  return redis;
}
