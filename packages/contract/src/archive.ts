import { Type, type Static } from 'typebox';
import { Nullable, StringEnum } from './common.ts';

const NStr = Nullable(Type.String());
const DateLike = Type.String({ maxLength: 40, description: 'A date (2025-01-31) or an ISO-8601 time' });

export const COMPRESSION_LEVELS = ['none', 'fast', 'balanced', 'maximum'] as const;
export type CompressionLevel = (typeof COMPRESSION_LEVELS)[number];

/**
 * What to put in an export archive. Every field of the original's ExportConfig is accepted; the ones it ignored are
 * honoured or, where we cannot honour them (encryption, splitting, embeddings, analytics), refused with a 400.
 */
export const ExportConfig = Type.Object({
  loras: Type.Optional(Type.Boolean({ default: false, description: 'Must be true: the archive is built around adapters' })),
  lora_files: Type.Optional(Type.Boolean({ default: true, description: 'Include the LoRA weight files (false: a metadata-only archive)' })),
  lora_metadata: Type.Optional(Type.Boolean({ default: true, description: 'Include sidecar files (.civitai.info, .json, .metadata.json, …)' })),
  previews: Type.Optional(Type.Boolean({ default: true, description: 'Include preview images next to the LoRA files' })),
  lora_embeddings: Type.Optional(Type.Boolean({ default: false })),
  generations: Type.Optional(Type.Boolean({ default: false, description: 'Include generation results (jobs) and their images' })),
  generation_images: Type.Optional(Type.Boolean({ default: true, description: 'With generations: include the image files too' })),
  generation_range: Type.Optional(Type.String({ default: 'all', maxLength: 40, description: '"all", or anything else to apply date_from/date_to to results' })),
  date_from: Type.Optional(Nullable(DateLike)),
  date_to: Type.Optional(Nullable(DateLike)),
  user_data: Type.Optional(
    Type.Boolean({ default: false, description: 'Include user-data.json (ratings, favourites, notes) and the generation history (as generations does)' }),
  ),
  system_config: Type.Optional(Type.Boolean({ default: false, description: 'Include the server settings, less secrets (API keys, passwords)' })),
  analytics: Type.Optional(Type.Boolean({ default: false })),
  format: Type.Optional(Type.String({ default: 'zip', maxLength: 20 })),
  compression: Type.Optional(StringEnum(COMPRESSION_LEVELS, { description: 'none: store everything; maximum: deflate LoRA files too' })),
  split_archives: Type.Optional(Type.Boolean({ default: false })),
  max_size_mb: Type.Optional(Type.Number({ minimum: 1 })),
  encrypt: Type.Optional(Type.Boolean({ default: false })),
  password: Type.Optional(NStr),
  // Selection (all adapters when none is given; the given filters combine with AND).
  adapter_ids: Type.Optional(Type.Array(Type.String({ maxLength: 200 }), { maxItems: 100_000 })),
  tags: Type.Optional(Type.Array(Type.String({ maxLength: 200 }), { maxItems: 100 })),
  tag_mode: Type.Optional(StringEnum(['any', 'all'])),
  adapter_date_from: Type.Optional(Nullable(DateLike)),
  adapter_date_to: Type.Optional(Nullable(DateLike)),
});
export type ExportConfig = Static<typeof ExportConfig>;

/** The original's `{size, time}` strings plus the numbers they came from. */
export const ExportEstimate = Type.Object({
  size: Type.String(),
  time: Type.String(),
  bytes: Type.Integer(),
  seconds: Type.Number(),
  adapter_count: Type.Integer(),
  file_count: Type.Integer(),
  result_count: Type.Integer(),
  approximate: Type.Optional(Type.Boolean({ description: 'From the sizes the catalogue records, without reading the disk' })),
});
export type ExportEstimate = Static<typeof ExportEstimate>;

export const IMPORT_MODES = ['merge', 'replace', 'dry-run', 'dryrun', 'preview'] as const;
export const CONFLICT_RESOLUTIONS = ['ask', 'skip', 'overwrite', 'rename'] as const;
export type ConflictResolution = (typeof CONFLICT_RESOLUTIONS)[number];
export const CONFLICT_DECISIONS = ['skip', 'overwrite', 'rename'] as const;
export type ConflictDecision = (typeof CONFLICT_DECISIONS)[number];

/** The `config` part of POST /import (a JSON string in the multipart form). */
export const ImportConfig = Type.Object({
  mode: Type.Optional(StringEnum(IMPORT_MODES, { description: 'merge: add to the catalogue; replace: the archive becomes the catalogue; dry-run/preview: check only' })),
  conflict_resolution: Type.Optional(StringEnum(CONFLICT_RESOLUTIONS, { description: 'ask: import nothing and report the conflicts' })),
  validate: Type.Optional(Type.Boolean({ description: 'In dry-run, also read every file to verify its checksum' })),
  backup_before: Type.Optional(Type.Boolean({ description: 'Make a backup of what the import changes first (default true)' })),
  password: Type.Optional(NStr),
  target_root: Type.Optional(Nullable(Type.String({ maxLength: 4096, description: 'Library root to import files into (default: the first)' }))),
  decisions: Type.Optional(
    Type.Record(Type.String({ maxLength: 200 }), StringEnum(CONFLICT_DECISIONS), { description: 'Per archive adapter id: how to resolve its conflict' }),
  ),
  import_settings: Type.Optional(
    Type.Boolean({ description: 'Replace settings set here with the archive\'s (default: only in replace mode); settings not set here are always added' }),
  ),
  overwrite_user_data: Type.Optional(
    Type.Boolean({ description: 'Replace ratings, favourites and notes set here with the archive\'s (default: only in replace mode); unset ones are always filled' }),
  ),
});
export type ImportConfig = Static<typeof ImportConfig>;

export const IMPORT_ADAPTER_STATUSES = ['created', 'updated', 'renamed', 'skipped', 'unchanged', 'deleted', 'validated', 'conflict'] as const;

/** One field that differs between the archive and this catalogue (values as text, long ones cut). */
export const ImportFieldDifference = Type.Object({ field: Type.String(), archive: NStr, current: NStr });
export type ImportFieldDifference = Static<typeof ImportFieldDifference>;

export const ImportConflict = Type.Object({
  archive_id: Type.String(),
  name: Type.String(),
  version: NStr,
  reason: StringEnum(['same_id', 'same_name_version', 'file_differs']),
  existing_id: NStr,
  path: NStr,
  differences: Type.Optional(
    Type.Array(ImportFieldDifference, {
      description: 'same_id and same_name_version: the fields a person could have changed that differ (derived ones such as hashes and updated_at never count)',
    }),
  ),
});
export type ImportConflict = Static<typeof ImportConflict>;

export const ImportAdapterResult = Type.Object({
  id: Type.String({ description: 'The adapter id in this catalogue after the import' }),
  archive_id: Type.String(),
  name: Type.String(),
  version: NStr,
  status: StringEnum(IMPORT_ADAPTER_STATUSES),
});
export type ImportAdapterResult = Static<typeof ImportAdapterResult>;

export const ImportFileResult = Type.Object({
  file: Type.String(),
  status: StringEnum(['imported', 'validated', 'conflict', 'error']),
  code: Type.Optional(Type.String({ description: 'Stable reason when status is error or conflict' })),
  detail: Type.Optional(Type.String()),
  created: Type.Integer(),
  updated: Type.Integer(),
  renamed: Type.Integer(),
  skipped: Type.Integer(),
  unchanged: Type.Integer(),
  deleted: Type.Integer(),
  results_imported: Type.Integer(),
  files_written: Type.Integer(),
  bytes_written: Type.Integer(),
  adapters: Type.Array(ImportAdapterResult),
  conflicts: Type.Array(ImportConflict),
  warnings: Type.Array(Type.String()),
  backup_id: NStr,
  format_version: Nullable(Type.Integer()),
});
export type ImportFileResult = Static<typeof ImportFileResult>;

export const ImportReport = Type.Object({
  success: Type.Boolean({ description: 'No archive had an error or an unresolved conflict' }),
  processed_files: Type.Integer(),
  total_files: Type.Integer(),
  results: Type.Array(ImportFileResult),
});
export type ImportReport = Static<typeof ImportReport>;

export const BACKUP_TYPES = ['full', 'metadata'] as const;
export type BackupType = (typeof BACKUP_TYPES)[number];
export const BACKUP_TRIGGERS = ['manual', 'scheduled', 'pre-import'] as const;
export type BackupTrigger = (typeof BACKUP_TRIGGERS)[number];

/** One backup. `id, created_at, type, size, status` are the original's history fields. */
export const Backup = Type.Object({
  id: Type.String(),
  created_at: Type.String(),
  type: Type.String({ description: 'Display label, e.g. "Full"' }),
  size: Type.Integer({ description: 'Bytes' }),
  status: StringEnum(['completed', 'failed', 'missing']),
  backup_type: StringEnum(BACKUP_TYPES),
  trigger: StringEnum(BACKUP_TRIGGERS),
  adapter_count: Type.Integer(),
  file_count: Type.Integer(),
  sha256: NStr,
  note: NStr,
  error: NStr,
});
export type Backup = Static<typeof Backup>;

export const BackupCreate = Type.Object({
  backup_type: Type.Optional(
    Type.String({ maxLength: 40, description: 'full (adapters, files, previews, results, images, settings) or metadata (no LoRA files or images); full_system and metadata_only also accepted' }),
  ),
  note: Type.Optional(Nullable(Type.String({ maxLength: 500 }))),
});
export type BackupCreate = Static<typeof BackupCreate>;

export const BackupCreateResult = Type.Object({
  success: Type.Boolean(),
  backup_id: Type.String(),
  type: Type.String(),
  status: Type.String(),
  size: Type.Integer(),
  created_at: Type.String(),
  backup: Backup,
});
export type BackupCreateResult = Static<typeof BackupCreateResult>;

export const BackupIdParams = Type.Object({ id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,100}$' }) });
export type BackupIdParams = Static<typeof BackupIdParams>;

/** Restoring is an import in replace mode with overwrite by default; any ImportConfig field may change that. */
export const RestoreRequest = ImportConfig;
export type RestoreRequest = ImportConfig;

export const BackupSchedule = Type.Object({
  enabled: Type.Boolean(),
  interval_hours: Type.Number({ minimum: 1, maximum: 24 * 365 }),
  backup_type: StringEnum(BACKUP_TYPES),
  keep: Type.Integer({ minimum: 1, maximum: 1000, description: 'Scheduled backups to keep; older ones are deleted' }),
});
export type BackupSchedule = Static<typeof BackupSchedule>;

export const BackupScheduleState = Type.Object({
  ...BackupSchedule.properties,
  last_run_at: NStr,
  next_run_at: NStr,
});
export type BackupScheduleState = Static<typeof BackupScheduleState>;

/** An archive written by an export job, kept in DATA_DIR/exports for download. */
export const ExportFile = Type.Object({
  id: Type.String(),
  file_name: Type.String(),
  size: Type.Integer(),
  created_at: Type.String(),
  download_url: Type.String({ description: 'Relative to the API base' }),
});
export type ExportFile = Static<typeof ExportFile>;
