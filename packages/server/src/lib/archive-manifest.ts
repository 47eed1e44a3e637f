import { Type, type Static, type TSchema } from 'typebox';
import { Value } from 'typebox/value';

/**
 * The archive format. `manifest.json` is written last (it carries every other entry's SHA-256) and read first.
 * Layout, compatible with the original's archives (format version 0, which had no format fields and no checksums):
 *
 *   manifest.json                          this document
 *   adapters/<id>/metadata.json            the adapter row (every field) + its tag rows
 *   adapters/<id>/files/<n>_<basename>     the LoRA file, sidecars, previews (as chosen)
 *   results/<job id>/metadata.json         a generation result (job row)
 *   results/<job id>/<n>_<basename>        its images
 *   recipes.json, settings.json            when chosen (settings never carry secrets)
 *   recipes/<file>                         a recipe's preview image (with recipes.json)
 *   user-data.json                         ratings, favourites and notes, when chosen
 */
export const ARCHIVE_FORMAT = 'lora-manager-archive';
export const ARCHIVE_FORMAT_VERSION = 1;
export const MANIFEST_NAME = 'manifest.json';
export const SETTINGS_NAME = 'settings.json';
export const RECIPES_NAME = 'recipes.json';
export const USER_DATA_NAME = 'user-data.json';
export const MAX_MANIFEST_BYTES = 256 * 1024 * 1024;
export const MAX_METADATA_BYTES = 16 * 1024 * 1024;

export const FILE_KINDS = ['primary', 'primary_local', 'metadata', 'sidecar', 'preview'] as const;
export type FileKind = (typeof FILE_KINDS)[number];

const NStr = Type.Union([Type.String(), Type.Null()]);

export const ManifestFile = Type.Object({
  kind: Type.String(),
  original_path: Type.String(),
  original_name: Type.String(),
  exists: Type.Boolean(),
  size: Type.Optional(Type.Union([Type.Integer({ minimum: 0 }), Type.Null()])),
  archive_path: Type.Optional(NStr),
  sha256: Type.Optional(NStr),
  /** Path below the library root (or DATA_DIR) it came from, `/`-separated. */
  relative_path: Type.Optional(NStr),
  root_kind: Type.Optional(Type.Union([Type.Literal('library'), Type.Literal('data'), Type.Null()])),
  mtime: Type.Optional(NStr),
  /** Why a file was not included (missing on disk, outside the library, not chosen). */
  note: Type.Optional(NStr),
});
export type ManifestFile = Static<typeof ManifestFile>;

export const ManifestAdapter = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 200 }),
  name: Type.String(),
  version: Type.Optional(NStr),
  metadata_path: Type.String(),
  files: Type.Array(ManifestFile),
});
export type ManifestAdapter = Static<typeof ManifestAdapter>;

export const ManifestAsset = Type.Object({
  filename: Type.String(),
  archive_path: Type.String(),
  content_type: Type.Optional(NStr),
  size: Type.Integer({ minimum: 0 }),
  sha256: Type.Optional(NStr),
  /** Path below OUTPUT_DIR the image came from. */
  relative_path: Type.Optional(NStr),
  mtime: Type.Optional(NStr),
});
export type ManifestAsset = Static<typeof ManifestAsset>;

export const ManifestResult = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 200 }),
  prompt: Type.Optional(NStr),
  status: Type.Optional(NStr),
  created_at: Type.Optional(NStr),
  finished_at: Type.Optional(NStr),
  metadata_path: Type.String(),
  assets: Type.Array(ManifestAsset),
});
export type ManifestResult = Static<typeof ManifestResult>;

/** A recipe's preview image; `file` is its name in DATA_DIR/recipes (`<recipe id>.png|jpg|webp`). */
export const ManifestRecipePreview = Type.Object({
  recipe_id: Type.String({ minLength: 1, maxLength: 200 }),
  file: Type.String({ maxLength: 200 }),
  archive_path: Type.String(),
  content_type: Type.Optional(NStr),
  size: Type.Integer({ minimum: 0 }),
  sha256: Type.Optional(NStr),
});
export type ManifestRecipePreview = Static<typeof ManifestRecipePreview>;

/** The archive folder of recipe previews. */
export const RECIPE_PREVIEW_FOLDER = 'recipes';

export const ManifestEntry = Type.Object({
  path: Type.String(),
  size: Type.Integer({ minimum: 0 }),
  sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
});
export type ManifestEntry = Static<typeof ManifestEntry>;

export const Manifest = Type.Object({
  format: Type.Optional(Type.String()),
  format_version: Type.Optional(Type.Integer({ minimum: 0 })),
  generator: Type.Optional(Type.String()),
  generated_at: Type.Optional(NStr),
  adapter_count: Type.Optional(Type.Integer()),
  file_total_bytes: Type.Optional(Type.Number()),
  metadata_total_bytes: Type.Optional(Type.Number()),
  total_bytes: Type.Optional(Type.Number()),
  counts: Type.Optional(Type.Record(Type.String(), Type.Integer())),
  options: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  adapters: Type.Array(ManifestAdapter),
  results: Type.Optional(Type.Array(ManifestResult)),
  settings_path: Type.Optional(NStr),
  recipes_path: Type.Optional(NStr),
  recipe_previews: Type.Optional(Type.Array(ManifestRecipePreview)),
  user_data_path: Type.Optional(NStr),
  /** Every entry but the manifest, with its size and SHA-256 (format version 1 on). */
  entries: Type.Optional(Type.Array(ManifestEntry)),
});
export type Manifest = Static<typeof Manifest>;

export class ManifestError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ManifestError';
  }
}

/** Parse and check manifest.json with the original's messages where it had one. */
export function parseManifest(bytes: Buffer): Manifest {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new ManifestError('manifest_invalid', 'Invalid manifest JSON');
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new ManifestError('manifest_invalid', 'Manifest must be a JSON object');
  const object = value as Record<string, unknown>;
  if (!('adapters' in object)) throw new ManifestError('manifest_invalid', 'Manifest missing adapters section');
  if (!Array.isArray(object.adapters)) throw new ManifestError('manifest_invalid', 'Manifest adapters section must be a list');
  if (object.format !== undefined && object.format !== ARCHIVE_FORMAT) {
    throw new ManifestError('archive_format_unknown', `Unknown archive format "${String(object.format)}"`);
  }
  const version = object.format_version;
  if (typeof version === 'number' && version > ARCHIVE_FORMAT_VERSION) {
    throw new ManifestError(
      'archive_version_unsupported',
      `Archive format version ${version} is newer than this server understands (${ARCHIVE_FORMAT_VERSION}); update LoRA Manager`,
    );
  }
  if (!Value.Check(Manifest, value)) throw new ManifestError('manifest_invalid', `Invalid manifest: ${describeErrors(Manifest, value)}`);
  return value;
}

export function formatVersionOf(manifest: Manifest): number {
  return manifest.format === ARCHIVE_FORMAT ? (manifest.format_version ?? 0) : 0;
}

/** The first few schema violations as `path: message`. */
export function describeErrors(schema: TSchema, value: unknown): string {
  return [...Value.Errors(schema, value)]
    .slice(0, 5)
    .map((e) => `${e.instancePath || '/'}: ${e.message}`)
    .join('; ');
}

/** A name safe to use as one archive path segment (ids from our own database are already safe; be sure anyway). */
export function safeSegment(text: string): string {
  const cleaned = text.replace(/[^A-Za-z0-9._ ()+-]/g, '_').replace(/^\.+/, '_').slice(0, 180);
  return cleaned || '_';
}
