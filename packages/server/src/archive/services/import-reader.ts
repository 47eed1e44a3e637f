import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Adapter } from '@lora-manager/contract';
import { Type, type Static, type TSchema } from 'typebox';
import { Value } from 'typebox/value';
import {
  describeErrors,
  formatVersionOf,
  MANIFEST_NAME,
  ManifestError,
  MAX_MANIFEST_BYTES,
  MAX_METADATA_BYTES,
  parseManifest,
  type Manifest,
  type ManifestAdapter,
  type ManifestFile,
  type ManifestResult,
} from '../../lib/archive-manifest.ts';
import { RECIPE_PREVIEW_FILE } from '../../lib/recipes/preview-file.ts';
import type { ZipReader } from '../../lib/zip-reader.ts';
import { HashingStream, sha256 } from './hashing.ts';
import { UserDataDocument } from './user-data.ts';

/**
 * An adapter document as found in an archive: any subset of the adapter's fields (older archives and the original's
 * carry fewer) with the right types, plus our exact tag rows. Unknown fields are ignored, wrong types refused.
 */
const TagRowSchema = Type.Object({
  tag: Type.String({ minLength: 1, maxLength: 200 }),
  origin: Type.Union([Type.Literal('user'), Type.Literal('source'), Type.Literal('removed')]),
  position: Type.Integer(),
});
const AdapterDocument = Type.Intersect([
  Type.Partial(Type.Omit(Adapter, ['name', 'tags'])),
  Type.Object({
    name: Type.String({ minLength: 1, maxLength: 500 }),
    tags: Type.Optional(Type.Union([Type.Array(Type.String({ maxLength: 200 })), Type.Null()])),
    tag_rows: Type.Optional(Type.Array(TagRowSchema, { maxItems: 10_000 })),
  }),
]);
export type AdapterDocument = Static<typeof AdapterDocument>;
export type TagRowDocument = Static<typeof TagRowSchema>;

const SettingsDocument = Type.Array(Type.Object({ key: Type.String({ minLength: 1, maxLength: 200 }), value: Type.Unknown(), updated_at: Type.Optional(Type.String()) }), {
  maxItems: 100_000,
});
export type SettingsDocument = Static<typeof SettingsDocument>;

/** recipes.json: rows as stored; every column is picked and typed again when written (archive.repository.ts). */
const RecipesDocument = Type.Array(
  Type.Object({
    recipe: Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }), name: Type.String({ maxLength: 1000 }), prompt: Type.String(), params: Type.String(), fingerprint: Type.String() }),
    loras: Type.Array(Type.Object({ position: Type.Integer({ minimum: 0 }), name: Type.String({ maxLength: 1000 }), weight: Type.Number() }), { maxItems: 64 }),
    tag_keys: Type.Array(Type.String({ maxLength: 100 }), { maxItems: 50 }),
  }),
  { maxItems: 1_000_000 },
);
export type RecipesDocument = Static<typeof RecipesDocument>;

export interface ArchiveAdapter {
  manifest: ManifestAdapter;
  /** 0 for the original's archives. */
  formatVersion: number;
  doc: AdapterDocument;
  /** Files the archive carries for this adapter (exists + archive_path), checked against the zip. */
  files: ArchiveFile[];
}

export interface ArchiveFile {
  manifest: ManifestFile;
  entry: string;
  size: number;
  /** From the manifest (format 1) or computed while reading (format 0). */
  sha256: string;
}

/** A result document: the rows as the exporting server stored them. Columns are checked when written. */
const Scalar = Type.Union([Type.String(), Type.Number(), Type.Null()]);
const Row = Type.Record(Type.String(), Scalar);
const ResultDocument = Type.Object({
  delivery: Type.Intersect([Row, Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }), kind: Type.String(), prompt: Type.String(), created_at: Type.String() })]),
  job: Type.Intersect([Row, Type.Object({ id: Type.String(), kind: Type.String(), status: Type.String() })]),
  images: Type.Array(Type.Intersect([Row, Type.Object({ file: Type.String(), idx: Type.Integer() })]), { maxItems: 10_000 }),
  adapters: Type.Array(Row, { maxItems: 10_000 }),
});
export type ResultDocument = Static<typeof ResultDocument>;

export interface ArchiveResult {
  manifest: ManifestResult;
  doc: ResultDocument;
  /** Images and thumbnails the archive carries, each with the path below OUTPUT_DIR it belongs at. */
  files: Array<{ entry: string; size: number; sha256: string; relativePath: string; mtime: string | null }>;
}

/** A recipe preview the archive carries, to be written to DATA_DIR/recipes/<file>. */
export interface ArchiveRecipePreview {
  recipeId: string;
  /** A preview-store name (`<id>.png|jpg|webp`), checked here. */
  file: string;
  entry: string;
  size: number;
  sha256: string;
  contentType: string | null;
}

export interface ArchiveContents {
  manifest: Manifest;
  formatVersion: number;
  adapters: ArchiveAdapter[];
  results: ArchiveResult[];
  settings: SettingsDocument | null;
  recipes: RecipesDocument | null;
  recipePreviews: ArchiveRecipePreview[];
  /** Ratings, favourites and notes (user-data.json), when the archive has them. */
  userData: UserDataDocument | null;
  warnings: string[];
}

/**
 * Read and check everything an archive claims before anything is planned: the manifest, every adapter document,
 * every declared file (present, same size, checksum known) and the settings. Throws ManifestError with a reason.
 */
export async function readArchive(zip: ZipReader, onHashBytes?: (n: number) => void): Promise<ArchiveContents> {
  if (!zip.has(MANIFEST_NAME)) throw new ManifestError('manifest_missing', 'Archive missing manifest.json');
  const manifestBytes = await zip.buffer(MANIFEST_NAME, MAX_MANIFEST_BYTES).catch((error: Error) => {
    throw new ManifestError('manifest_invalid', `manifest.json cannot be read: ${error.message}`);
  });
  const manifest = parseManifest(manifestBytes);
  const formatVersion = formatVersionOf(manifest);
  const warnings: string[] = [];

  // Format 1 lists every entry with its checksum; format 0 (the original's) has none, so we compute them here.
  const checksums = new Map<string, { size: number; sha256: string }>();
  if (formatVersion >= 1) {
    if (!manifest.entries) throw new ManifestError('manifest_invalid', 'Manifest missing entries (checksums)');
    for (const e of manifest.entries) {
      const actual = zip.entries.get(e.path);
      if (!actual) throw new ManifestError('archive_incomplete', `Archive missing declared file: ${e.path}`);
      if (actual.size !== e.size) throw new ManifestError('checksum_mismatch', `Size of ${e.path} is ${actual.size} bytes, the manifest says ${e.size}`);
      checksums.set(e.path, { size: e.size, sha256: e.sha256 });
    }
    const unlisted = [...zip.entries.keys()].filter((name) => name !== MANIFEST_NAME && !checksums.has(name));
    if (unlisted.length > 0) warnings.push(`${unlisted.length} archive entr${unlisted.length === 1 ? 'y is' : 'ies are'} not in the manifest and were ignored`);
  } else {
    warnings.push('This archive has no checksums (format 0, made by the original LoRA Manager): its contents could not be verified');
  }

  const readVerified = async (name: string, max: number, what: string): Promise<Buffer> => {
    const bytes = await zip.buffer(name, max).catch((error: Error) => {
      throw new ManifestError('archive_incomplete', `${what} cannot be read: ${error.message}`);
    });
    const expected = checksums.get(name);
    if (expected && sha256(bytes) !== expected.sha256) throw new ManifestError('checksum_mismatch', `Checksum mismatch for ${name}`);
    if (formatVersion >= 1 && !expected) throw new ManifestError('checksum_missing', `No checksum for ${name} in the manifest`);
    return bytes;
  };

  const seenIds = new Set<string>();
  const adapters: ArchiveAdapter[] = [];
  for (const entry of manifest.adapters) {
    if (seenIds.has(entry.id)) throw new ManifestError('manifest_invalid', `Adapter ${entry.id} appears twice in the manifest`);
    seenIds.add(entry.id);
    if (!entry.metadata_path) throw new ManifestError('manifest_invalid', `Adapter entry ${entry.id} missing metadata_path`);
    if (!zip.has(entry.metadata_path)) throw new ManifestError('archive_incomplete', `Metadata file missing: ${entry.metadata_path}`);
    const bytes = await readVerified(entry.metadata_path, MAX_METADATA_BYTES, `Metadata of adapter ${entry.id}`);
    let doc: unknown;
    try {
      doc = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw new ManifestError('metadata_invalid', `Invalid metadata JSON for adapter ${entry.id}`);
    }
    if (!Value.Check(AdapterDocument, doc)) {
      throw new ManifestError('metadata_invalid', `Invalid metadata for adapter ${entry.id}: ${describeErrors(AdapterDocument, doc)}`);
    }
    const files: ArchiveFile[] = [];
    for (const file of entry.files) {
      if (!file.exists) continue;
      if (!file.archive_path) throw new ManifestError('manifest_invalid', `A file of adapter ${entry.id} has no archive_path`);
      const actual = zip.entries.get(file.archive_path);
      if (!actual) throw new ManifestError('archive_incomplete', `Archive missing declared file: ${file.archive_path}`);
      let checksum = checksums.get(file.archive_path)?.sha256;
      if (formatVersion >= 1) {
        if (!checksum) throw new ManifestError('checksum_missing', `No checksum for ${file.archive_path} in the manifest`);
        if (file.sha256 && file.sha256 !== checksum) throw new ManifestError('checksum_mismatch', `Checksum mismatch for ${file.archive_path} within the manifest`);
      } else {
        checksum = await hashEntry(zip, file.archive_path, onHashBytes);
      }
      files.push({ manifest: file, entry: file.archive_path, size: actual.size, sha256: checksum });
    }
    adapters.push({ manifest: entry, formatVersion, doc, files });
  }

  const results: ArchiveResult[] = [];
  const seenResults = new Set<string>();
  for (const entry of manifest.results ?? []) {
    if (seenResults.has(entry.id)) throw new ManifestError('manifest_invalid', `Result ${entry.id} appears twice in the manifest`);
    seenResults.add(entry.id);
    if (!zip.has(entry.metadata_path)) throw new ManifestError('archive_incomplete', `Metadata file missing: ${entry.metadata_path}`);
    const bytes = await readVerified(entry.metadata_path, MAX_METADATA_BYTES, `Metadata of result ${entry.id}`);
    let doc: unknown;
    try {
      doc = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw new ManifestError('metadata_invalid', `Invalid metadata JSON for result ${entry.id}`);
    }
    if (!Value.Check(ResultDocument, doc)) throw new ManifestError('metadata_invalid', `Invalid metadata for result ${entry.id}: ${describeErrors(ResultDocument, doc)}`);
    if (doc.delivery.id !== entry.id || doc.job.id !== entry.id) throw new ManifestError('metadata_invalid', `Result ${entry.id} has rows of another id`);
    const files: ArchiveResult['files'] = [];
    for (const asset of entry.assets) {
      const actual = zip.entries.get(asset.archive_path);
      if (!actual) throw new ManifestError('archive_incomplete', `Archive missing declared file: ${asset.archive_path}`);
      const checksum = checksums.get(asset.archive_path)?.sha256 ?? (formatVersion >= 1 ? undefined : await hashEntry(zip, asset.archive_path, onHashBytes));
      if (!checksum) throw new ManifestError('checksum_missing', `No checksum for ${asset.archive_path} in the manifest`);
      if (!asset.relative_path) throw new ManifestError('manifest_invalid', `Image ${asset.archive_path} has no relative_path`);
      files.push({ entry: asset.archive_path, size: actual.size, sha256: checksum, relativePath: asset.relative_path, mtime: asset.mtime ?? null });
    }
    results.push({ manifest: entry, doc, files });
  }

  /** A declared top-level JSON document (settings, user data, recipes): present, within its size, valid against its schema. */
  const readDocument = async <S extends TSchema>(name: string | null | undefined, max: number, what: string, schema: S): Promise<Static<S> | null> => {
    if (!name) return null;
    if (!zip.has(name)) throw new ManifestError('archive_incomplete', `Archive missing declared file: ${name}`);
    const bytes = await readVerified(name, max, `The ${what}`);
    let value: unknown;
    try {
      value = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw new ManifestError('metadata_invalid', `Invalid ${what} JSON`);
    }
    if (!Value.Check(schema, value)) throw new ManifestError('metadata_invalid', `Invalid ${what}: ${describeErrors(schema, value)}`);
    return value;
  };
  const settings = await readDocument(manifest.settings_path, MAX_METADATA_BYTES, 'settings', SettingsDocument);
  const userData = await readDocument(manifest.user_data_path, MAX_METADATA_BYTES * 4, 'user data', UserDataDocument);
  const recipes = await readDocument(manifest.recipes_path, MAX_MANIFEST_BYTES, 'recipes', RecipesDocument);
  const recipePreviews: ArchiveRecipePreview[] = [];
  const seenPreviews = new Set<string>();
  for (const preview of manifest.recipe_previews ?? []) {
    if (seenPreviews.has(preview.recipe_id)) throw new ManifestError('manifest_invalid', `Recipe ${preview.recipe_id} has two previews in the manifest`);
    seenPreviews.add(preview.recipe_id);
    // Named by its own recipe, as the preview store names them: one recipe's preview can never be written as another's.
    if (!RECIPE_PREVIEW_FILE.test(preview.file) || path.parse(preview.file).name !== preview.recipe_id) throw new ManifestError('zip_entry_unsafe', `Unsafe recipe preview name: ${preview.file}`);
    const actual = zip.entries.get(preview.archive_path);
    if (!actual) throw new ManifestError('archive_incomplete', `Archive missing declared file: ${preview.archive_path}`);
    const checksum = checksums.get(preview.archive_path)?.sha256 ?? (formatVersion >= 1 ? undefined : await hashEntry(zip, preview.archive_path, onHashBytes));
    if (!checksum) throw new ManifestError('checksum_missing', `No checksum for ${preview.archive_path} in the manifest`);
    recipePreviews.push({ recipeId: preview.recipe_id, file: preview.file, entry: preview.archive_path, size: actual.size, sha256: checksum, contentType: preview.content_type ?? null });
  }
  return { manifest, formatVersion, adapters, results, settings, userData, recipes, recipePreviews, warnings };
}

/** SHA-256 of one entry, streamed (yauzl checks it inflates to its declared size on the way). */
export async function hashEntry(zip: ZipReader, name: string, onBytes?: (n: number) => void, signal?: AbortSignal): Promise<string> {
  const hashing = new HashingStream(onBytes);
  const sink = new Writable({ write: (_chunk, _encoding, callback) => callback() });
  await pipeline(await zip.stream(name), hashing, sink, signal ? { signal } : {});
  return hashing.digest();
}
