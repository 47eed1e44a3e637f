import path from 'node:path';
import type { Kysely } from 'kysely';
import { USER_OWNABLE_FIELDS, userFieldMask } from '../../lib/user-fields.ts';
import type { DialectHelpers } from '../dialect.ts';

/** Stored values that mean "nothing set": a scan or the API left the column at its default. */
const EMPTY = new Set<unknown>([null, '', '[]', 'Public']);
const ZERO_IS_EMPTY = new Set(['nsfw_level', 'supports_generation']);

/**
 * Which fields of an adapter a user or API client set, on the adapter row itself (see lib/user-fields.ts): the scan's
 * UPDATE tests it in the same statement, so an edit committed while a scan runs is never written over, and a
 * restart keeps it. Supersedes adapter_metadata.user_fields / user_preview, which were recorded after the edit's
 * transaction and read by the scan once at its start (left in place, no longer read).
 *
 * Backfill, erring towards the user: what the old columns recorded; non-empty notes (they may be the user's; a
 * scan only copies sidecar notes, which it can no longer refresh for these rows); a name that is not the file's
 * stem (a scan always names by stem, so the user renamed it); and for adapters no scan ever catalogued (created
 * through the API, no metadata row) every field that holds a value.
 */
export function up0006(d: DialectHelpers) {
  return async (db: Kysely<any>): Promise<void> => {
    await db.schema.alterTable('adapter').addColumn('user_field_mask', d.bigint, (c) => c.notNull().defaultTo(0)).execute();

    const rows: Array<Record<string, unknown>> = await db
      .selectFrom('adapter as a')
      .leftJoin('adapter_metadata as m', 'm.adapter_id', 'a.id')
      .select(['a.id', 'a.file_path', ...USER_OWNABLE_FIELDS.map((f) => `a.${f}`), 'm.adapter_id as meta_id', 'm.user_fields as old_fields', 'm.user_preview as old_preview'])
      .execute();
    const byMask = new Map<number, string[]>();
    for (const row of rows) {
      const fields = new Set<string>();
      if (row.meta_id === null) {
        for (const f of USER_OWNABLE_FIELDS) if (!isEmpty(f, row[f])) fields.add(f);
        fields.add('name');
      } else {
        for (const f of parseList(row.old_fields)) fields.add(f);
        if (Number(row.old_preview) === 1) fields.add('preview_path');
        if (!isEmpty('notes', row.notes)) fields.add('notes');
        if (row.name !== path.basename(String(row.file_path)).replace(/\.safetensors$/i, '')) fields.add('name');
      }
      const mask = userFieldMask(fields);
      if (mask !== 0) byMask.set(mask, [...(byMask.get(mask) ?? []), String(row.id)]);
    }
    for (const [mask, ids] of byMask) {
      for (let i = 0; i < ids.length; i += 500) {
        await db.updateTable('adapter').set({ user_field_mask: mask }).where('id', 'in', ids.slice(i, i + 500)).execute();
      }
    }
  };
}

function isEmpty(field: string, value: unknown): boolean {
  return EMPTY.has(value) || value === undefined || (ZERO_IS_EMPTY.has(field) && Number(value) === 0);
}

function parseList(text: unknown): string[] {
  try {
    const value: unknown = JSON.parse(String(text ?? '[]'));
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  } catch {
    return [];
  }
}
