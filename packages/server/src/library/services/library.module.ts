import type { Logger } from 'pino';
import type { AdaptersChanged } from '../../events/adapter-changes.ts';
import type { Config } from '../../config.ts';
import type { AppDatabase } from '../../db/database.ts';
import type { JobQueue } from '../../jobs/job-queue.ts';
import type { Clock } from '../../lib/clock.ts';
import { configureNativeHeaderReader, nativeHeaderReaderStatus } from '../../lib/native-header-reader.ts';
import { AdapterRepository } from '../repositories/adapter.repository.ts';
import type { JobRepository } from '../../repositories/job.repository.ts';
import { LibraryRepository } from '../repositories/library.repository.ts';
import type { SettingRepository } from '../../repositories/setting.repository.ts';
import { createAnalyser } from '../../workers/analyse-pool.ts';
import { AdapterService } from './adapter.service.ts';
import type { LibraryRootsService } from './library-roots.service.ts';
import type { SecretCipher } from '../../services/secret-cipher.ts';
import { HttpCivitaiClient, type CivitaiClient } from './civitai.client.ts';
import { CivitaiService } from './civitai.service.ts';
import { LibraryHashService } from './library-hash.service.ts';
import { LibraryJobRunner } from './library-job-runner.ts';
import { LibraryScanService, type LibraryTransaction } from './library-scan.service.ts';
import { LibrarySettingsService } from './library-settings.service.ts';
import { LibraryWatcher } from './library-watcher.ts';
import { LibraryService } from './library.service.ts';
import { PreviewService } from './preview.service.ts';

export interface LibraryDeps {
  config: Pick<Config, 'dataDir' | 'loraPaths' | 'scanThreads' | 'nativeHeaderReader' | 'civitaiApiUrl' | 'civitaiMinIntervalMs' | 'library'>;
  /** The scan and hash write adapters and catalogue rows in one transaction of this database. */
  database: AppDatabase;
  repositories: { adapters: AdapterRepository; library: LibraryRepository; settings: SettingRepository; jobs: JobRepository };
  queue: JobQueue;
  libraryRoots: LibraryRootsService;
  secrets: SecretCipher;
  clock: Clock;
  logger: Logger;
  /** Told which adapters were added, changed or deleted, after the change is committed. */
  onAdaptersChanged?: AdaptersChanged;
}

export interface LibraryCapability {
  services: {
    adapters: AdapterService;
    librarySettings: LibrarySettingsService;
    libraryScan: LibraryScanService;
    libraryHash: LibraryHashService;
    library: LibraryService;
    civitai: CivitaiService;
    previews: PreviewService;
  };
  /** CivitAI's API, shared with recipes (missing LoRAs are looked up by hash). */
  civitaiClient: CivitaiClient;
  /** Watches the library roots for changes; `serve` starts it when the setting is on. */
  watcher: LibraryWatcher;
  /** What the library job handlers run; container.ts registers them on the queue. */
  jobRunner: LibraryJobRunner;
}

/** The adapter library: settings, scan, hash, CivitAI, previews and the watcher that rescans on change. */
export async function createLibrary(deps: LibraryDeps): Promise<LibraryCapability> {
  const { config, database, repositories, queue, libraryRoots, secrets, clock } = deps;
  const logger = deps.logger.child({ component: 'library' });
  const transaction: LibraryTransaction = (fn) =>
    database.db.transaction().execute((trx) => fn({ adapters: new AdapterRepository(trx, database.dialect), library: new LibraryRepository(trx, database.dialect.bulk) }));
  const librarySettings = new LibrarySettingsService(repositories.settings, clock, secrets);
  await librarySettings.sealLegacySecrets();
  configureNativeHeaderReader({ enabled: config.nativeHeaderReader });
  const headerReader = nativeHeaderReaderStatus();
  // A missing addon only slows scans down (the JavaScript reader gives the same results), but say so once.
  if (headerReader.active) logger.debug(headerReader.reason);
  else logger.warn(headerReader.reason);
  const libraryScan = new LibraryScanService({
    roots: libraryRoots,
    adapters: repositories.adapters,
    library: repositories.library,
    settings: repositories.settings,
    transaction,
    analyser: () => createAnalyser(config.scanThreads, { nativeHeaderReader: config.nativeHeaderReader }),
    clock,
    logger,
    dataDir: config.dataDir,
    readerThreads: config.scanThreads,
    holdCheckpoints: database.dialect.holdCheckpoints,
    limits: { maxEntries: config.library.maxEntries, maxDepth: config.library.maxDepth },
    onAdaptersChanged: deps.onAdaptersChanged,
  });
  const libraryHash = new LibraryHashService({
    adapters: repositories.adapters,
    library: repositories.library,
    transaction,
    clock,
    logger,
    confine: (file) => libraryRoots.confine(file),
    onAdaptersChanged: deps.onAdaptersChanged,
  });
  // One client for every CivitAI caller, so its spacing between requests holds for all of them.
  const civitaiClient = new HttpCivitaiClient({ baseUrl: config.civitaiApiUrl, minIntervalMs: config.civitaiMinIntervalMs });
  const civitai = new CivitaiService({
    client: civitaiClient,
    adapters: repositories.adapters,
    library: repositories.library,
    settings: librarySettings,
    clock,
    logger,
    dataDir: config.dataDir,
    onAdaptersChanged: deps.onAdaptersChanged,
  });
  const library = new LibraryService({
    roots: libraryRoots,
    adapters: repositories.adapters,
    library: repositories.library,
    jobs: repositories.jobs,
    queue,
    scanner: libraryScan,
    settings: librarySettings,
    clock,
    logger,
    configuredRoots: config.loraPaths,
  });
  const watcher = new LibraryWatcher(
    (paths) => library.startScan({ paths }),
    () => libraryRoots.list(),
    async () => (await librarySettings.values()).watch,
    logger,
    {
      maxEntries: config.library.watchMaxEntries,
      maxDepth: config.library.maxDepth,
      rescanIntervalMs: config.library.rescanIntervalMs,
      followLinks: config.library.allowLinksOut,
    },
  );
  library.watcherState = () => watcher.state();
  librarySettings.onChange(() => void watcher.sync());
  library.onRootsChanged(() => void watcher.sync());
  return {
    services: {
      adapters: new AdapterService(repositories.adapters, libraryRoots, clock, (adapter, fields) => library.adapterPatched(adapter, fields), deps.onAdaptersChanged),
      librarySettings,
      libraryScan,
      libraryHash,
      library,
      civitai,
      previews: new PreviewService({ adapters: repositories.adapters, roots: libraryRoots, settings: librarySettings, clock, logger, dataDir: config.dataDir }),
    },
    watcher,
    civitaiClient,
    jobRunner: new LibraryJobRunner(libraryScan, libraryHash, civitai, librarySettings, library),
  };
}
