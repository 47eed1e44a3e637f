import type {
  Backup,
  BackupCreate,
  CivitaiRefreshResult,
  ExportConfig,
  ExportFile,
  ImportConfig,
  ImportReport,
  ResolvedGenerationParams,
  ScanSummary,
} from '@lora-manager/contract';

/**
 * Every job kind the app runs, by name. The values are stored on job rows and in Redis queue names: never rename one
 * (a rename strands the jobs already queued under the old name). Kinds a test registers for itself are not here.
 */
export const JOB_KINDS = {
  libraryScan: 'library.scan',
  libraryHash: 'library.hash',
  libraryCivitai: 'library.civitai',
  generation: 'generation',
  delivery: 'delivery',
  archiveExport: 'archive.export',
  archiveImport: 'archive.import',
  backupCreate: 'backup.create',
  backupRestore: 'backup.restore',
  backupScheduled: 'backup.scheduled',
  recipesCivitai: 'recipes.civitai',
} as const;

export type JobKind = (typeof JOB_KINDS)[keyof typeof JOB_KINDS];

/** An uploaded archive waiting in DATA_DIR for its import job (the job deletes it when it is done with it). */
export type ArchiveUpload = { path: string; name: string };

/** What a hash job stores: the summary with only the count of hashed adapters (the ids can be many thousands). */
export type LibraryHashResult = {
  hashed: number;
  cached: number;
  skipped: number;
  failed: number;
  /** New adapters recognised by hash as a missing adapter's file that moved, and merged into it. */
  relinked: number;
  /** Embedded AutoV3 hashes that did not match the data. */
  autov3_mismatches: number;
  bytes: number;
  errors: Array<{ adapter_id: string; path: string; reason: string }>;
  hashed_ids: number;
};

export type LibraryCivitaiResult = {
  looked_up: number;
  found: number;
  not_found: number;
  unreachable: number;
  no_hash: number;
  filled: number;
  /** At most 1000. */
  results: CivitaiRefreshResult[];
};

/** What a recipe CivitAI lookup stores: missing recipe LoRAs asked about by hash, and what came of it. */
export type RecipeCivitaiResult = {
  looked_up: number;
  found: number;
  not_found: number;
};

/** A finished generation; a failed one ends with `{ status: 'failed', error_message }` as its result instead. */
export type GenerationJobResult = {
  status: 'completed';
  job_id: string;
  backend: string;
  images: string[];
  thumbnails: string[];
  progress: number;
  generation_info: Record<string, unknown>;
};

/**
 * Each kind's payload (what `enqueue` stores on the job row) and result (what its handler returns). Library payload
 * fields are optional because rows queued by earlier versions may lack them.
 */
export interface JobCatalogue {
  'library.scan': { payload: { roots?: string[] | null; paths?: string[] | null; force?: boolean }; result: ScanSummary };
  'library.hash': { payload: { adapter_ids?: string[] | null; verify?: boolean }; result: LibraryHashResult };
  'library.civitai': { payload: { adapter_ids?: string[] | null; retry_not_found?: boolean }; result: LibraryCivitaiResult };
  /** The handler reads the request from its delivery row; the payload is what the WebSocket's generation_started shows. */
  generation: { payload: ResolvedGenerationParams & { backend: string }; result: GenerationJobResult };
  /** The handler reads the request from its delivery row. */
  delivery: { payload: { mode: string; prompt: string }; result: Record<string, unknown> };
  'archive.export': { payload: { config: ExportConfig }; result: ExportFile & { adapter_count: number } };
  'archive.import': { payload: { uploads: ArchiveUpload[]; config: ImportConfig }; result: ImportReport };
  'backup.create': { payload: BackupCreate; result: Backup };
  'backup.restore': { payload: { backup_id: string; config: ImportConfig }; result: ImportReport };
  'backup.scheduled': { payload: Record<string, never>; result: Backup | { skipped: string } };
  /** Recipes whose missing LoRAs to look up; null: every recipe's. */
  'recipes.civitai': { payload: { recipe_ids?: string[] | null }; result: RecipeCivitaiResult };
}

export type JobPayload<K extends JobKind> = JobCatalogue[K]['payload'];
export type JobResult<K extends JobKind> = JobCatalogue[K]['result'];

// The catalogue and the names list the same kinds: a kind added to one and not the other does not compile.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const catalogueMatchesNames: Same<keyof JobCatalogue, JobKind> = true;
void catalogueMatchesNames;
