import type { Kysely, Transaction } from 'kysely';
import type { BulkWriter } from '../../db/bulk-writer.ts';
import type { AdapterMetadataTable, DB, FileHashCacheTable, LibraryIssueTable } from '../../db/tables.ts';

type LibraryDb = Kysely<DB> | Transaction<DB>;

/** What a scan writes about one adapter's file (everything but the user-owned columns). */
export type AdapterMetadataRow = Omit<AdapterMetadataTable, 'user_fields' | 'user_preview' | 'data_hash' | 'autov3_verified' | 'hash_error' | 'civitai_checked_at'>;

export interface ScanState {
  signature: string | null;
  fingerprint: string | null;
}

/** SQL for the library tables: adapter_metadata, file_hash_cache, library_issue. */
export class LibraryRepository {
  constructor(
    private readonly db: LibraryDb,
    private readonly bulk?: BulkWriter,
  ) {}

  /** Scan state of every adapter that has some, keyed by adapter id. */
  async scanStates(): Promise<Map<string, ScanState>> {
    const rows = await this.db.selectFrom('adapter_metadata').select(['adapter_id', 'scan_signature', 'fingerprint']).execute();
    return new Map(rows.map((r) => [r.adapter_id, { signature: r.scan_signature, fingerprint: r.fingerprint }]));
  }

  async upsertMetadata(rows: readonly AdapterMetadataRow[]): Promise<void> {
    if (rows.length === 0) return;
    if (this.bulk && this.db.isTransaction) {
      // A new row's user columns start empty; an existing row keeps them (they are not in the update).
      const update = Object.keys(rows[0]).filter((k) => k !== 'adapter_id');
      this.bulk.insert('adapter_metadata', rows, { key: 'adapter_id', update }, { user_fields: '[]', user_preview: 0 });
      return;
    }
    for (const chunk of chunks(rows, 100)) {
      await this.db
        .insertInto('adapter_metadata')
        .values(chunk.map((r) => ({ ...r, user_fields: '[]', user_preview: 0 })))
        .onConflict((oc) =>
          oc.column('adapter_id').doUpdateSet((eb) => ({
            header_length: eb.ref('excluded.header_length'),
            data_offset: eb.ref('excluded.data_offset'),
            tensor_count: eb.ref('excluded.tensor_count'),
            module_count: eb.ref('excluded.module_count'),
            fingerprint: eb.ref('excluded.fingerprint'),
            base_model_source: eb.ref('excluded.base_model_source'),
            base_family: eb.ref('excluded.base_family'),
            metadata: eb.ref('excluded.metadata'),
            training: eb.ref('excluded.training'),
            tag_frequency: eb.ref('excluded.tag_frequency'),
            sidecars: eb.ref('excluded.sidecars'),
            civitai: eb.ref('excluded.civitai'),
            embedded_data_hash: eb.ref('excluded.embedded_data_hash'),
            scan_signature: eb.ref('excluded.scan_signature'),
            scanned_at: eb.ref('excluded.scanned_at'),
          })),
        )
        .execute();
    }
  }

  async get(adapterId: string): Promise<AdapterMetadataTable | undefined> {
    return this.db.selectFrom('adapter_metadata').selectAll().where('adapter_id', '=', adapterId).executeTakeFirst();
  }

  async getMany(adapterIds: readonly string[]): Promise<Map<string, AdapterMetadataTable>> {
    const out = new Map<string, AdapterMetadataTable>();
    for (const chunk of chunks(adapterIds, 500)) {
      for (const row of await this.db.selectFrom('adapter_metadata').selectAll().where('adapter_id', 'in', chunk).execute()) out.set(row.adapter_id, row);
    }
    return out;
  }

  /** Change columns of one adapter's row, creating an empty row first when there is none (adapters made by the API). */
  async patch(adapterId: string, values: Partial<Omit<AdapterMetadataTable, 'adapter_id'>>): Promise<void> {
    await this.db
      .insertInto('adapter_metadata')
      .values({ adapter_id: adapterId, user_fields: '[]', user_preview: 0, ...values } as AdapterMetadataTable)
      .onConflict((oc) => oc.column('adapter_id').doUpdateSet(values))
      .execute();
  }

  /** Adapters whose header fingerprint is one of these (candidates when re-linking a moved file). */
  async byFingerprints(fingerprints: readonly string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    for (const chunk of chunks(fingerprints, 500)) {
      const rows = await this.db.selectFrom('adapter_metadata').select(['adapter_id', 'fingerprint']).where('fingerprint', 'in', chunk).execute();
      for (const r of rows) out.set(r.fingerprint!, [...(out.get(r.fingerprint!) ?? []), r.adapter_id]);
    }
    return out;
  }

  // ── hashes ──

  async cachedHash(path: string, size: number, mtime: string): Promise<FileHashCacheTable | undefined> {
    const row = await this.db.selectFrom('file_hash_cache').selectAll().where('path', '=', path).executeTakeFirst();
    return row && Number(row.file_size) === size && row.file_mtime === mtime ? row : undefined;
  }

  async putHash(row: FileHashCacheTable): Promise<void> {
    const { path: _p, ...rest } = row;
    await this.db.insertInto('file_hash_cache').values(row).onConflict((oc) => oc.column('path').doUpdateSet(rest)).execute();
  }

  // ── issues ──

  async issues(): Promise<LibraryIssueTable[]> {
    const rows = await this.db.selectFrom('library_issue').selectAll().orderBy('path').execute();
    return rows.map((r) => ({ ...r, file_size: Number(r.file_size) }));
  }

  async upsertIssues(rows: readonly LibraryIssueTable[]): Promise<void> {
    if (rows.length === 0) return;
    if (this.bulk && this.db.isTransaction) {
      this.bulk.insert('library_issue', rows, { key: 'path', update: ['library_root', 'file_size', 'file_mtime', 'code', 'reason', 'seen_at'] });
      return;
    }
    for (const chunk of chunks(rows, 500)) {
      await this.db
        .insertInto('library_issue')
        .values([...chunk])
        .onConflict((oc) =>
          oc.column('path').doUpdateSet((eb) => ({
            library_root: eb.ref('excluded.library_root'),
            file_size: eb.ref('excluded.file_size'),
            file_mtime: eb.ref('excluded.file_mtime'),
            code: eb.ref('excluded.code'),
            reason: eb.ref('excluded.reason'),
            seen_at: eb.ref('excluded.seen_at'),
          })),
        )
        .execute();
    }
  }

  async deleteIssues(paths: readonly string[]): Promise<void> {
    for (const chunk of chunks(paths, 500)) await this.db.deleteFrom('library_issue').where('path', 'in', chunk).execute();
  }
}

function* chunks<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}
