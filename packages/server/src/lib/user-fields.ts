/**
 * Per-field provenance of an adapter: which fields a user or an API client set, so a library scan or a CivitAI lookup
 * never writes over them. Stored as one integer column (`adapter.user_field_mask`), bit i = USER_OWNABLE_FIELDS[i],
 * so the scan's bulk UPDATE can test it in SQL inside its own statement (a PATCH committed after the scan read the
 * row still wins) and a PATCH can add to it atomically (`mask | bits`).
 *
 * APPEND ONLY: a field's position is its bit in stored rows. Fields the scan never writes (active, weight, ordinal,
 * favorite, rating, tags: tags carry their own origin) need no bit. 38 bits at most fit in a JS number and an int8.
 */
export const USER_OWNABLE_FIELDS = [
  'name',
  'version',
  'description',
  'notes',
  'trained_words',
  'triggers',
  'activation_text',
  'preview_path',
  'base_model',
  'nsfw_level',
  'sd_version',
  'negative_text',
  'preferred_weight',
  'author_username',
  'canonical_version_name',
  'visibility',
  'published_at',
  'archetype',
  'archetype_confidence',
  'supports_generation',
  'stats',
  'extra',
  'primary_file_name',
  'primary_file_size_kb',
  'primary_file_sha256',
  'primary_file_download_url',
  'primary_file_local_path',
  'json_file_path',
  'json_file_mtime',
  'json_file_size',
  'last_ingested_at',
  'civitai_model_id',
  'civitai_version_id',
] as const;

export type UserOwnableField = (typeof USER_OWNABLE_FIELDS)[number];

const BIT = new Map<string, number>(USER_OWNABLE_FIELDS.map((f, i) => [f, 2 ** i]));

/** The bit of one field, or undefined when the field has none (the scan never writes it). */
export function userFieldBit(field: string): number | undefined {
  return BIT.get(field);
}

/** The mask of these fields; fields without a bit are ignored. Sums distinct powers of two (JS `|` is 32-bit). */
export function userFieldMask(fields: Iterable<string>): number {
  let mask = 0;
  for (const f of new Set(fields)) mask += BIT.get(f) ?? 0;
  return mask;
}

/** The field names a stored mask holds, in bit order. */
export function userFieldsOf(mask: number | null | undefined): UserOwnableField[] {
  const value = Number(mask ?? 0);
  return USER_OWNABLE_FIELDS.filter((_, i) => Math.floor(value / 2 ** i) % 2 === 1);
}

export function hasUserField(mask: number | null | undefined, field: UserOwnableField): boolean {
  return Math.floor(Number(mask ?? 0) / BIT.get(field)!) % 2 === 1;
}
