import { Type, type Static } from 'typebox';
import { JsonObject, Nullable, StringEnum } from './common.ts';
import type { Job } from './jobs.ts';

const Str = Type.String();
const NStr = Nullable(Type.String());
const NInt = Nullable(Type.Integer());
const Count = Type.Integer({ minimum: 0 });

/** A folder holding LoRAs. `config` roots come from LORA_PATHS and cannot be removed through the API. */
export const LibraryRoot = Type.Object({
  path: Str,
  source: StringEnum(['config', 'settings']),
  exists: Type.Boolean(),
  readable: Type.Boolean(),
  adapters: Type.Integer({ description: 'Catalogued adapters under this root (missing ones included)' }),
  refused: Type.Optional(
    Nullable(Type.String({ description: 'Why this root is not used (the whole file system, a system folder, DATA_DIR or OUTPUT_DIR): it is never walked' })),
  ),
});
export type LibraryRoot = Static<typeof LibraryRoot>;

export const LibraryRoots = Type.Object({ roots: Type.Array(LibraryRoot) });
export type LibraryRoots = Static<typeof LibraryRoots>;

export const LibraryRootAdd = Type.Object({ path: Type.String({ minLength: 1, maxLength: 4096 }) }, { additionalProperties: false });
export type LibraryRootAdd = Static<typeof LibraryRootAdd>;

/** Replaces the roots added at run time (LORA_PATHS roots stay). */
export const LibraryRootsPut = Type.Object(
  { roots: Type.Array(Type.String({ minLength: 1, maxLength: 4096 }), { maxItems: 100 }) },
  { additionalProperties: false },
);
export type LibraryRootsPut = Static<typeof LibraryRootsPut>;

export const LibraryRootQuery = Type.Object({ path: Type.String({ minLength: 1, maxLength: 4096 }) });
export type LibraryRootQuery = Static<typeof LibraryRootQuery>;

export const ScanRequest = Type.Object(
  {
    roots: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 4096 }), { maxItems: 100, description: 'Default: every root' })),
    force: Type.Optional(Type.Boolean({ description: 'Re-read files whose size and mtime are unchanged' })),
  },
  { additionalProperties: false },
);
export type ScanRequest = Static<typeof ScanRequest>;

export const ImportScanRequest = Type.Object(
  {
    dry_run: Type.Optional(Type.Boolean({ description: 'Report what a scan would change without changing anything (default true)' })),
    roots: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 4096 }), { maxItems: 100 })),
    force: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type ImportScanRequest = Static<typeof ImportScanRequest>;

const Issue = Type.Object({ path: Str, code: Str, reason: Str });

/** What a scan did (or, with dry_run, would do). Path lists hold at most 1000 entries each; counts are complete. */
export const ScanSummary = Type.Object({
  dry_run: Type.Boolean(),
  roots: Type.Array(Str),
  roots_unavailable: Type.Array(Type.Object({ root: Str, reason: Str })),
  files_seen: Count,
  added: Count,
  updated: Count,
  unchanged: Count,
  missing: Count,
  restored: Count,
  relinked: Count,
  /** Files not catalogued: broken, unreadable, or not a LoRA. */
  issues: Count,
  added_paths: Type.Array(Str),
  updated_paths: Type.Array(Str),
  missing_paths: Type.Array(Str),
  relinked_paths: Type.Array(Type.Object({ from: Str, to: Str })),
  errors: Type.Array(Issue, { description: 'Files that could not be read or are not LoRAs, with the reason' }),
  sidecar_errors: Type.Array(Type.Object({ path: Str, reason: Str })),
  walk_errors: Type.Array(Type.Object({ path: Str, reason: Str })),
  /** Roots whose walk stopped at LIBRARY_MAX_ENTRIES: what was found is catalogued, nothing under them is marked missing. */
  roots_truncated: Type.Optional(Type.Array(Type.Object({ root: Str, reason: Str }))),
  started_at: Str,
  finished_at: Str,
  duration_ms: Type.Number(),
});
export type ScanSummary = Static<typeof ScanSummary>;

/** Settings the library owns. The CivitAI key is write-only: reads say whether one is set. */
export const LibrarySettings = Type.Object({
  watch: Type.Boolean({ description: 'Watch the roots for added, changed and removed files while the server runs' }),
  auto_hash: Type.Boolean({ description: 'Hash new and changed files in the background after each scan' }),
  write_sidecars: Type.Boolean({ description: "Write edits of activation text, preferred weight, negative text, notes and description back to A1111's NAME.json" }),
  write_previews: Type.Boolean({ description: 'Save uploaded previews as NAME.preview.png beside the LoRA (else in the data directory)' }),
  civitai_enabled: Type.Boolean({ description: 'Look LoRAs up on CivitAI by hash (sends file hashes to civitai.com)' }),
  civitai_api_key_set: Type.Boolean(),
});
export type LibrarySettings = Static<typeof LibrarySettings>;

export const LibrarySettingsPatch = Type.Object(
  {
    watch: Type.Optional(Type.Boolean()),
    auto_hash: Type.Optional(Type.Boolean()),
    write_sidecars: Type.Optional(Type.Boolean()),
    write_previews: Type.Optional(Type.Boolean()),
    civitai_enabled: Type.Optional(Type.Boolean()),
    civitai_api_key: Type.Optional(Nullable(Type.String({ maxLength: 200 }))),
  },
  { additionalProperties: false },
);
export type LibrarySettingsPatch = Static<typeof LibrarySettingsPatch>;

export const LibraryIssue = Type.Object({ path: Str, library_root: Str, file_size: Type.Number(), file_mtime: Str, code: Str, reason: Str, seen_at: Str });
export type LibraryIssue = Static<typeof LibraryIssue>;

export const LibraryStatus = Type.Object({
  roots: Type.Array(LibraryRoot),
  adapters: Count,
  missing: Count,
  issues: Count,
  hash: Type.Object({ pending: Count, hashing: Count, done: Count, error: Count }),
  watcher: Type.Object({
    enabled: Type.Boolean(),
    running: Type.Boolean(),
    /** Roots too large to watch (LIBRARY_WATCH_MAX_ENTRIES): rescanned periodically instead. */
    rescanned_roots: Type.Optional(Type.Array(Str)),
    detail: Type.Optional(Nullable(Str)),
  }),
  last_scan: Nullable(ScanSummary),
  /** The scan waiting or running now (the one at start-up, a watcher's, a user's), so a page can show its progress. */
  active_scan: Type.Optional(Nullable(Type.Ref('Job'))),
});
export type LibraryStatus = Static<typeof LibraryStatus> & { active_scan?: Job | null };

export const LibraryIssues = Type.Object({ issues: Type.Array(LibraryIssue) });
export type LibraryIssues = Static<typeof LibraryIssues>;

/** Everything read from one adapter's file and sidecars: served apart from the list rows because it is large. */
export const AdapterMetadata = Type.Object({
  adapter_id: Str,
  header: Type.Object({ header_length: NInt, data_offset: NInt, tensor_count: NInt, module_count: NInt }),
  base_model_source: NStr,
  base_family: NStr,
  /** `__metadata__` as stored in the file (embedded cover images left out). */
  metadata: Nullable(Type.Record(Type.String(), Type.String())),
  training: Nullable(JsonObject),
  tag_frequency: Type.Array(Type.Object({ tag: Str, count: Type.Number() })),
  suggested_triggers: Type.Array(Str),
  sidecars: Nullable(JsonObject),
  civitai: Nullable(JsonObject),
  hashes: Type.Object({
    sha256: NStr,
    autov1: NStr,
    autov2: NStr,
    autov3: NStr,
    data_hash: NStr,
    embedded_data_hash: NStr,
    autov3_verified: Nullable(Type.Boolean()),
    hash_status: NStr,
    hash_error: NStr,
  }),
  user_fields: Type.Array(Str),
  scanned_at: NStr,
});
export type AdapterMetadata = Static<typeof AdapterMetadata>;

export const DuplicateGroups = Type.Object({
  groups: Type.Array(Type.Object({ sha256: Str, adapters: Type.Array(Type.Ref('Adapter')) })),
  total_groups: Count,
});

export const HashRequest = Type.Object(
  {
    adapter_ids: Type.Optional(Type.Array(Type.String({ maxLength: 200 }), { maxItems: 100_000, description: 'Default: every adapter whose hash is pending' })),
    verify: Type.Optional(Type.Boolean({ description: 'Recompute even cached hashes and check the embedded sshs_model_hash (AutoV3)' })),
  },
  { additionalProperties: false },
);
export type HashRequest = Static<typeof HashRequest>;

export const CivitaiRefreshRequest = Type.Object(
  {
    adapter_ids: Type.Optional(Type.Array(Type.String({ maxLength: 200 }), { maxItems: 100_000 })),
    retry_not_found: Type.Optional(Type.Boolean({ description: 'Also ask again for files CivitAI did not know' })),
  },
  { additionalProperties: false },
);
export type CivitaiRefreshRequest = Static<typeof CivitaiRefreshRequest>;

export const CivitaiRefreshResult = Type.Object({
  adapter_id: Str,
  status: StringEnum(['found', 'not_found', 'unreachable', 'no_hash']),
  filled: Type.Array(Str, { description: 'Fields that were empty and now hold CivitAI values' }),
  error: Type.Optional(Str),
});
export type CivitaiRefreshResult = Static<typeof CivitaiRefreshResult>;

export const PreviewQuery = Type.Object({
  thumbnail: Type.Optional(Type.Boolean({ description: 'A WebP thumbnail (cached) instead of the original file' })),
  size: Type.Optional(Type.Integer({ minimum: 32, maximum: 1024, description: 'Thumbnail width in pixels (default 256)' })),
});
export type PreviewQuery = Static<typeof PreviewQuery>;
