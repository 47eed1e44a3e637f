import type { Adapter } from '@lora-manager/contract';
import type { BulkWriter } from '../../db/bulk-writer.ts';
import type { AdapterTable } from '../../db/tables.ts';
import { consistentSdVersion } from '../../lib/base-models.ts';
import { normaliseTags, tagKey } from '../../lib/tags.ts';
import { parseJsonList } from '../../lib/json-list.ts';

// The adapter row's storage form: defaults, API type <-> row, search text, and the SQLite bulk insert.

/** The fields callers write, in their API types (booleans, lists, objects); the repository owns the storage form. */
export type AdapterFields = Omit<Adapter, 'id' | 'tags' | 'created_at' | 'updated_at'>;
export type NewAdapter = Partial<AdapterFields> & Pick<Adapter, 'name' | 'file_path'> & {
  id: string;
  created_at: string;
  updated_at: string;
};

const BOOLEAN_FIELDS = ['active', 'supports_generation', 'missing', 'favorite'] as const;
const LIST_FIELDS = ['trained_words', 'triggers'] as const;
const OBJECT_FIELDS = ['stats', 'extra'] as const;

/**
 * `insertMany` on SQLite: each row's values are built straight into one array in column order and run through
 * prepared statements kept for the scan, without the per-row objects (defaults, storage form) the general path
 * spreads. Stores exactly what that path stores.
 */
export function insertManyBulk(bulk: BulkWriter, items: ReadonlyArray<{ adapter: NewAdapter; sourceTags: readonly string[] }>): void {
  const insertAdapter = bulk.inserter('adapter', ADAPTER_COLUMNS);
  const insertTag = bulk.inserter('adapter_tag', ['adapter_id', 'tag', 'tag_key', 'origin', 'position']);
  const insertSearch = bulk.inserter('adapter_search', ['adapter_id', 'text']);
  const values = new Array<unknown>(ADAPTER_COLUMNS.length);
  const tag: unknown[] = [null, null, null, 'source', 0];
  const search: unknown[] = [null, null];
  for (const { adapter, sourceTags } of items) {
    storedAdapter(adapter, values);
    insertAdapter(values);
    const clean = normaliseTags(sourceTags);
    tag[0] = adapter.id;
    for (let position = 0; position < clean.length; position++) {
      tag[1] = clean[position];
      tag[2] = tagKey(clean[position]);
      tag[4] = position;
      insertTag(tag);
    }
    search[0] = adapter.id;
    search[1] = joinSearchText(values[NAME] as string, values[DESCRIPTION] as string | null, clean, stringsOf(adapter.trained_words), stringsOf(adapter.triggers));
    insertSearch(search);
  }
}

/** Every adapter column: the key columns, then those `defaults()` fills. */
const ADAPTER_COLUMNS: readonly string[] = ['id', 'name', 'name_key', 'file_path', 'created_at', 'updated_at', ...Object.keys(defaults())];
const ADAPTER_DEFAULTS: readonly unknown[] = ADAPTER_COLUMNS.map((c) => (defaults() as Record<string, unknown>)[c] ?? null);
const COLUMN_INDEX = new Map(ADAPTER_COLUMNS.map((c, i) => [c, i]));
const NAME = ADAPTER_COLUMNS.indexOf('name');
const NAME_KEY = ADAPTER_COLUMNS.indexOf('name_key');
const DESCRIPTION = ADAPTER_COLUMNS.indexOf('description');

/**
 * A new adapter's stored row into `values`, in ADAPTER_COLUMNS order: what `{ ...defaults(), ...toRow(adapter) }`
 * holds, without building those objects. Only the keys the adapter has are visited (a scanned file sets about half).
 */
function storedAdapter(adapter: NewAdapter, values: unknown[]): void {
  for (let i = 0; i < ADAPTER_DEFAULTS.length; i++) values[i] = ADAPTER_DEFAULTS[i];
  const fields = adapter as unknown as Record<string, unknown>;
  for (const key in fields) {
    const value = fields[key];
    if (value === undefined) continue;
    const i = COLUMN_INDEX.get(key);
    if (i !== undefined) values[i] = storedValue(key, value);
  }
  if (typeof adapter.name === 'string') values[NAME_KEY] = adapter.name.toLowerCase();
}

/** Columns whose API value is stored in another form: booleans as 0/1, lists and objects as JSON. */
const STORAGE_FORM = new Map<string, (value: unknown) => unknown>([
  ...BOOLEAN_FIELDS.map((k) => [k, (v: unknown) => (v ? 1 : 0)] as const),
  ...LIST_FIELDS.map((k) => [k, (v: unknown) => JSON.stringify(v ?? [])] as const),
  ...OBJECT_FIELDS.map((k) => [k, (v: unknown) => (v === null ? null : JSON.stringify(v))] as const),
]);

/** A field's value as its column stores it (`toRow` and the bulk insert). */
function storedValue(key: string, value: unknown): unknown {
  const form = STORAGE_FORM.get(key);
  return form ? form(value) : value;
}

export function* chunks<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

export function defaults(): Omit<AdapterTable, 'id' | 'name' | 'name_key' | 'file_path' | 'created_at' | 'updated_at'> {
  return {
    version: null,
    canonical_version_name: null,
    description: null,
    author_username: null,
    visibility: 'Public',
    published_at: null,
    trained_words: '[]',
    triggers: '[]',
    weight: 1,
    active: 0,
    ordinal: null,
    archetype: null,
    archetype_confidence: null,
    primary_file_name: null,
    primary_file_size_kb: null,
    primary_file_sha256: null,
    primary_file_download_url: null,
    primary_file_local_path: null,
    supports_generation: 0,
    sd_version: null,
    nsfw_level: 0,
    activation_text: null,
    stats: null,
    extra: null,
    json_file_path: null,
    json_file_mtime: null,
    json_file_size: null,
    last_ingested_at: null,
    library_root: null,
    relative_path: null,
    file_size: null,
    file_mtime: null,
    sha256: null,
    autov1: null,
    autov2: null,
    autov3: null,
    hash_status: null,
    base_model: null,
    network_type: null,
    rank: null,
    alpha: null,
    resolution: null,
    preview_path: null,
    negative_text: null,
    preferred_weight: null,
    civitai_model_id: null,
    civitai_version_id: null,
    civitai_status: null,
    missing: 0,
    favorite: 0,
    rating: null,
    notes: null,
    user_field_mask: 0,
    use_count: 0,
    use_succeeded: 0,
    use_failed: 0,
    last_used_at: null,
    result_rating_sum: 0,
    result_rating_count: 0,
    result_favorite_count: 0,
  };
}

/** API-typed fields → storage form. Only keys present in `fields` are returned. */
export function toRow(fields: Partial<AdapterFields> & { updated_at?: string; name?: string }): Partial<AdapterTable> {
  const row: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined) row[key] = storedValue(key, value);
  }
  if (typeof fields.name === 'string') row.name_key = fields.name.toLowerCase();
  return row as Partial<AdapterTable>;
}

/**
 * A row as the API's Adapter. Spelled out field by field rather than spread: every adapter then has one object shape
 * with fast properties, and copying 58 columns by spread cost about 30 µs a row (most of a page's time).
 */
export function toAdapter(row: AdapterTable, tags: string[]): Adapter {
  return {
    id: row.id,
    name: row.name,
    version: row.version,
    canonical_version_name: row.canonical_version_name,
    description: row.description,
    author_username: row.author_username,
    visibility: row.visibility,
    published_at: row.published_at,
    trained_words: parseJsonList(row.trained_words),
    triggers: parseJsonList(row.triggers),
    file_path: row.file_path,
    weight: Number(row.weight),
    active: row.active === 1,
    ordinal: row.ordinal,
    archetype: row.archetype,
    archetype_confidence: row.archetype_confidence,
    primary_file_name: row.primary_file_name,
    primary_file_size_kb: numberOrNull(row.primary_file_size_kb),
    primary_file_sha256: row.primary_file_sha256,
    primary_file_download_url: row.primary_file_download_url,
    primary_file_local_path: row.primary_file_local_path,
    supports_generation: row.supports_generation === 1,
    sd_version: consistentSdVersion(row.sd_version, row.base_model),
    nsfw_level: row.nsfw_level,
    activation_text: row.activation_text,
    stats: parseObject(row.stats),
    extra: parseObject(row.extra),
    json_file_path: row.json_file_path,
    json_file_mtime: row.json_file_mtime,
    json_file_size: numberOrNull(row.json_file_size),
    last_ingested_at: row.last_ingested_at,
    created_at: row.created_at,
    updated_at: row.updated_at,
    library_root: row.library_root,
    relative_path: row.relative_path,
    file_size: numberOrNull(row.file_size),
    file_mtime: row.file_mtime,
    sha256: row.sha256,
    autov1: row.autov1,
    autov2: row.autov2,
    autov3: row.autov3,
    hash_status: row.hash_status,
    base_model: row.base_model,
    network_type: row.network_type,
    rank: row.rank,
    alpha: row.alpha,
    resolution: row.resolution,
    preview_path: row.preview_path,
    negative_text: row.negative_text,
    preferred_weight: row.preferred_weight,
    civitai_model_id: numberOrNull(row.civitai_model_id),
    civitai_version_id: numberOrNull(row.civitai_version_id),
    civitai_status: row.civitai_status,
    missing: row.missing === 1,
    favorite: row.favorite === 1,
    rating: row.rating,
    notes: row.notes,
    use_count: Number(row.use_count ?? 0),
    last_used_at: row.last_used_at ?? null,
    tags,
  };
}

function numberOrNull(value: number | null): number | null {
  return value === null ? null : Number(value);
}

export function searchText(row: Pick<AdapterTable, 'name' | 'description' | 'trained_words' | 'triggers'>, tags: readonly string[]): string {
  return joinSearchText(row.name, row.description, tags, parseJsonList(row.trained_words), parseJsonList(row.triggers));
}

function joinSearchText(name: string, description: string | null, tags: readonly string[], trainedWords: readonly string[], triggers: readonly string[]): string {
  return [name, description ?? '', ...tags, ...trainedWords, ...triggers].join('\n').toLowerCase();
}

/** The strings of a list field as storing and reading it back yields them (`parseList` of its JSON). */
function stringsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}


function parseObject(text: string | null): Record<string, unknown> | null {
  if (!text) return null;
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
