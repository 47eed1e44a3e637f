import { Type, type Static } from 'typebox';
import { JsonObject, Nullable, StringEnum } from './common.ts';

const Str = Type.String();
const NStr = Nullable(Type.String());
const NInt = Nullable(Type.Integer());
const NNum = Nullable(Type.Number());
const StrList = Type.Array(Type.String());

// Bounds of what a client may send (responses carry whatever the files held). Every other request string is capped
// by the server's validator too; these are the limits a user can meet, so they are spelled out here.
const InWords = Type.Array(Type.String({ maxLength: 200 }), { maxItems: 500 });
const InLine = Nullable(Type.String({ maxLength: 1000 }));
const InText = Nullable(Type.String({ maxLength: 50_000 }));

export const HASH_STATUSES = ['pending', 'hashing', 'done', 'error'] as const;

/** One LoRA (or other network) file and everything we know about it. Every field of the original plus library facts. */
export const Adapter = Type.Object(
  {
    id: Str,
    name: Str,
    version: NStr,
    canonical_version_name: NStr,
    description: NStr,
    author_username: NStr,
    visibility: Str,
    published_at: NStr,
    tags: StrList,
    trained_words: StrList,
    triggers: StrList,
    file_path: Str,
    weight: Type.Number(),
    active: Type.Boolean(),
    ordinal: NInt,
    archetype: NStr,
    archetype_confidence: NNum,
    primary_file_name: NStr,
    primary_file_size_kb: NInt,
    primary_file_sha256: NStr,
    primary_file_download_url: NStr,
    primary_file_local_path: NStr,
    supports_generation: Type.Boolean(),
    sd_version: NStr,
    nsfw_level: Type.Integer(),
    activation_text: NStr,
    stats: Nullable(JsonObject),
    extra: Nullable(JsonObject),
    json_file_path: NStr,
    json_file_mtime: NStr,
    json_file_size: NInt,
    last_ingested_at: NStr,
    created_at: Str,
    updated_at: Str,
    // Library facts (filled by the scanner; null until known).
    library_root: NStr,
    relative_path: NStr,
    file_size: Nullable(Type.Number({ description: 'Size of the file on disk in bytes' })),
    file_mtime: NStr,
    sha256: NStr,
    autov1: NStr,
    autov2: NStr,
    autov3: NStr,
    hash_status: NStr,
    base_model: NStr,
    network_type: NStr,
    rank: NInt,
    alpha: NNum,
    resolution: NStr,
    preview_path: NStr,
    negative_text: NStr,
    preferred_weight: NNum,
    civitai_model_id: NInt,
    civitai_version_id: NInt,
    civitai_status: NStr,
    missing: Type.Boolean(),
    // The user's own fields: never touched by a rescan.
    favorite: Type.Boolean(),
    rating: NInt,
    notes: NStr,
    // Usage, recorded as generations finish (analytics): optional so older clients' fixtures stay valid.
    use_count: Type.Optional(Type.Integer({ description: 'Finished generations that used this LoRA' })),
    last_used_at: Type.Optional(Nullable(Type.String({ format: 'date-time' }))),
  },
  { $id: 'Adapter' },
);
export type Adapter = Static<typeof Adapter>;

export const AdapterEnvelope = Type.Object({ adapter: Type.Ref('Adapter') });
export type AdapterEnvelope = { adapter: Adapter };

export const AdapterCreate = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 500 }),
    file_path: Type.String({ minLength: 1, maxLength: 4096 }),
    version: Type.Optional(InLine),
    canonical_version_name: Type.Optional(InLine),
    description: Type.Optional(InText),
    author_username: Type.Optional(InLine),
    visibility: Type.Optional(Type.String({ maxLength: 100 })),
    published_at: Type.Optional(Nullable(Type.String({ format: 'date-time' }))),
    tags: Type.Optional(Nullable(InWords)),
    trained_words: Type.Optional(Nullable(InWords)),
    triggers: Type.Optional(Nullable(InWords)),
    weight: Type.Optional(Nullable(Type.Number({ minimum: -10, maximum: 10 }))),
    active: Type.Optional(Type.Boolean()),
    ordinal: Type.Optional(NInt),
    primary_file_name: Type.Optional(InLine),
    primary_file_size_kb: Type.Optional(Nullable(Type.Union([Type.Number({ minimum: 0 }), Type.String({ pattern: '^\\s*\\d+(\\.\\d+)?\\s*$' })]))),
    primary_file_sha256: Type.Optional(InLine),
    primary_file_download_url: Type.Optional(InLine),
    primary_file_local_path: Type.Optional(InLine),
    supports_generation: Type.Optional(Type.Boolean()),
    sd_version: Type.Optional(InLine),
    nsfw_level: Type.Optional(Type.Integer({ minimum: 0, maximum: 255 })),
    activation_text: Type.Optional(InText),
    stats: Type.Optional(Nullable(JsonObject)),
    extra: Type.Optional(Nullable(JsonObject)),
    json_file_path: Type.Optional(InLine),
    json_file_mtime: Type.Optional(InLine),
    json_file_size: Type.Optional(NInt),
    last_ingested_at: Type.Optional(InLine),
    notes: Type.Optional(Nullable(Type.String({ maxLength: 100_000 }))),
    rating: Type.Optional(Nullable(Type.Integer({ minimum: 0, maximum: 5 }))),
    favorite: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type AdapterCreate = Static<typeof AdapterCreate>;

/** The fields a user may change. Unknown keys are refused (422), types are strict (no "true" for true). */
export const AdapterPatch = Type.Object(
  {
    weight: Type.Optional(Type.Number({ minimum: -10, maximum: 10 })),
    active: Type.Optional(Type.Boolean()),
    ordinal: Type.Optional(NInt),
    tags: Type.Optional(InWords),
    trained_words: Type.Optional(InWords),
    triggers: Type.Optional(InWords),
    description: Type.Optional(InText),
    activation_text: Type.Optional(InText),
    archetype: Type.Optional(InLine),
    archetype_confidence: Type.Optional(Nullable(Type.Number({ minimum: 0, maximum: 1 }))),
    visibility: Type.Optional(Type.String({ maxLength: 100 })),
    nsfw_level: Type.Optional(Type.Integer({ minimum: 0, maximum: 255 })),
    supports_generation: Type.Optional(Type.Boolean()),
    sd_version: Type.Optional(InLine),
    base_model: Type.Optional(InLine),
    negative_text: Type.Optional(InText),
    preferred_weight: Type.Optional(Nullable(Type.Number({ minimum: -10, maximum: 10 }))),
    favorite: Type.Optional(Type.Boolean()),
    rating: Type.Optional(Nullable(Type.Integer({ minimum: 0, maximum: 5 }))),
    notes: Type.Optional(Nullable(Type.String({ maxLength: 100_000 }))),
  },
  { additionalProperties: false },
);
export type AdapterPatch = Static<typeof AdapterPatch>;

export const ADAPTER_SORT_KEYS = [
  'name',
  'created_at',
  'updated_at',
  'file_size',
  'rating',
  'weight',
  'ordinal',
  'base_model',
  'nsfw_level',
  'published_at',
  'last_ingested_at',
  'use_count',
  'last_used_at',
] as const;
export type AdapterSortKey = (typeof ADAPTER_SORT_KEYS)[number];

const QueryBool = Type.Boolean();

export const AdapterListQuery = Type.Object({
  search: Type.Optional(Type.String({ maxLength: 500 })),
  active_only: Type.Optional(QueryBool),
  active: Type.Optional(Type.Boolean({ description: 'Legacy spelling of active_only used by the original SPA' })),
  tags: Type.Optional(Type.String({ maxLength: 2000, description: 'Comma-separated, case-insensitive' })),
  tag_mode: Type.Optional(StringEnum(['any', 'all'])),
  sort: Type.Optional(
    Type.String({
      maxLength: 64,
      description: `One of ${ADAPTER_SORT_KEYS.join(', ')} or relevance (the default with a search: exact and prefix name matches first, then names, triggers, tags, descriptions); legacy name_asc-style keys accepted; unknown keys sort by name`,
    }),
  ),
  order: Type.Optional(StringEnum(['asc', 'desc'])),
  page: Type.Optional(Type.Integer()),
  per_page: Type.Optional(Type.Integer()),
  favorites_only: Type.Optional(QueryBool),
  missing: Type.Optional(QueryBool),
  base_model: Type.Optional(Type.String({ maxLength: 100 })),
  network_type: Type.Optional(Type.String({ maxLength: 100 })),
  min_rating: Type.Optional(Type.Integer({ minimum: 0, maximum: 5 })),
  never_used: Type.Optional(Type.Boolean({ description: 'true: only adapters no finished generation has used; false: only used ones' })),
});
export type AdapterListQuery = Static<typeof AdapterListQuery>;

/** Why a search matched one adapter: the field that held the term, how, and the value (or an excerpt) holding it. */
export const AdapterMatch = Type.Object({
  field: StringEnum(['name', 'trigger', 'tag', 'description']),
  kind: StringEnum(['exact', 'prefix', 'contains']),
  value: Type.String(),
});
export type AdapterMatch = Static<typeof AdapterMatch>;

export const AdapterPage = Type.Object({
  items: Type.Array(Type.Ref('Adapter')),
  matches: Type.Optional(
    Type.Record(Type.String(), AdapterMatch, { description: 'With a search: why each listed adapter matched, by id (absent for one whose match is not shown on a card)' }),
  ),
  total: Type.Integer({ description: 'All adapters, ignoring filters' }),
  filtered: Type.Integer({ description: 'Adapters matching the filters' }),
  page: Type.Integer(),
  pages: Type.Integer({ description: 'ceil(filtered / per_page); 0 when nothing matches' }),
  per_page: Type.Integer(),
});
export type AdapterPage = { items: Adapter[]; matches?: Record<string, AdapterMatch>; total: number; filtered: number; page: number; pages: number; per_page: number };

export const TagList = Type.Object({ tags: StrList });
export type TagList = Static<typeof TagList>;

const FacetValues = Type.Array(Type.Object({ value: Type.String(), count: Type.Integer({ minimum: 1 }) }));
/** The values the catalogue holds for the library's filters, most common first, with how many adapters have each. */
export const AdapterFacets = Type.Object({
  base_models: FacetValues,
  network_types: FacetValues,
  /** Adapters whose file is gone (marked missing by a scan). */
  missing: Type.Integer({ minimum: 0 }),
});
export type AdapterFacets = Static<typeof AdapterFacets>;

export const BULK_ACTIONS = [
  'activate',
  'deactivate',
  'delete',
  'favorite',
  'unfavorite',
  'add_tags',
  'remove_tags',
  'set_nsfw_level',
] as const;
export type BulkAction = (typeof BULK_ACTIONS)[number];

export const BulkRequest = Type.Object(
  {
    action: StringEnum(BULK_ACTIONS),
    lora_ids: Type.Array(Type.String({ maxLength: 200 }), { maxItems: 100_000 }),
    tags: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 100 })),
    /** For set_nsfw_level: CivitAI's scale (1 PG, 2 PG-13, 4 R, 8 X, 16 XXX; 0 unrated). */
    nsfw_level: Type.Optional(Type.Integer({ minimum: 0, maximum: 255 })),
  },
  { additionalProperties: false },
);
export type BulkRequest = Static<typeof BulkRequest>;

export const BulkResult = Type.Object({
  success: Type.Boolean(),
  action: Type.String(),
  processed: Type.Integer(),
  ids: StrList,
  not_found: StrList,
});
export type BulkResult = Static<typeof BulkResult>;

export const ActivateQuery = Type.Object({ ordinal: Type.Optional(Type.Integer()) });
export type ActivateQuery = Static<typeof ActivateQuery>;
