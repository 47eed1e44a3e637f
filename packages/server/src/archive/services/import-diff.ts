import type { Adapter, ImportFieldDifference } from '@lora-manager/contract';
import type { AdapterDocument } from './import-reader.ts';

/**
 * Fields that change without anyone editing the adapter: hashes and file facts computed in the background, scan
 * times, where the file lies on this machine, what the file header says. An archive that differs from the catalogue
 * only in these is the same adapter, not a conflict (an export checked again minutes later showed hundreds).
 */
export const DERIVED_ADAPTER_FIELDS: ReadonlySet<string> = new Set([
  'updated_at',
  'created_at',
  'last_ingested_at',
  'json_file_path',
  'json_file_mtime',
  'json_file_size',
  'file_path',
  'primary_file_local_path',
  'library_root',
  'relative_path',
  'file_size',
  'file_mtime',
  'sha256',
  'autov1',
  'autov2',
  'autov3',
  'hash_status',
  'missing',
  'network_type',
  'rank',
  'alpha',
  'resolution',
  'civitai_status',
  'stats',
  'preview_path',
]);

/** Values longer than this are cut in a conflict's field list: it tells what differs, it is not a copy. */
const SHOWN_CHARS = 200;

/**
 * The fields a person could have changed that differ between an archive's adapter document and the adapter here, in
 * the document's field order. A field the archive does not carry (older archives, the original's) is not a difference.
 */
export function adapterDifferences(doc: AdapterDocument, current: Adapter): ImportFieldDifference[] {
  const out: ImportFieldDifference[] = [];
  const here = current as unknown as Record<string, unknown>;
  for (const [field, value] of Object.entries(doc)) {
    if (field === 'id' || field === 'tag_rows' || DERIVED_ADAPTER_FIELDS.has(field) || !(field in here) || value === undefined) continue;
    if (same(value, here[field])) continue;
    out.push({ field, archive: shown(value), current: shown(here[field]) });
  }
  return out;
}

function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  // Absent and empty say the same thing for lists and text the user never filled in.
  if (empty(a) && empty(b)) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => same(v, b[i]));
  if (typeof a === 'object' && typeof b === 'object' && a !== null && b !== null) return stable(a) === stable(b);
  return false;
}

function empty(v: unknown): boolean {
  return v === null || v === undefined || v === '' || (Array.isArray(v) && v.length === 0);
}

/** JSON with keys sorted, so objects that differ only in key order are the same. */
function stable(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b))) : v,
  );
}

function shown(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > SHOWN_CHARS ? `${text.slice(0, SHOWN_CHARS - 1)}…` : text;
}
