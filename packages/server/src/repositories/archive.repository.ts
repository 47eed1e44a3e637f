import { sql, type Kysely, type Transaction } from 'kysely';
import type { DialectHelpers } from '../db/dialect.ts';
import type { AdapterTagTable, ArchiveImportTable, BackupTable, DB, SettingTable, TagOrigin } from '../db/tables.ts';
import { tagKey } from '../lib/tags.ts';
import { AdapterRepository } from './adapter.repository.ts';

export interface AdapterSelection {
  ids?: readonly string[];
  tagKeys?: readonly string[];
  tagMode?: 'any' | 'all';
  createdFrom?: string | null;
  createdTo?: string | null;
}

export type TagRow = Pick<AdapterTagTable, 'tag' | 'origin' | 'position'>;

export interface ExistingAdapterKey {
  id: string;
  name: string;
  version: string | null;
  updated_at: string;
  file_path: string;
}

type Db = Kysely<DB> | Transaction<DB>;

/** Everything one import writes, bound to one transaction. */
export interface ArchiveUnitOfWork {
  adapters: AdapterRepository;
  archive: ArchiveRepository;
}

/** SQL for export selection, exact tag rows, settings, backups and committed imports. */
export class ArchiveRepository {
  constructor(
    private readonly db: Db,
    private readonly dialect: DialectHelpers,
  ) {}

  /** Run `fn` in one transaction with both repositories bound to it. */
  transaction<T>(fn: (uow: ArchiveUnitOfWork) => Promise<T>): Promise<T> {
    return (this.db as Kysely<DB>)
      .transaction()
      .execute((trx) => fn({ adapters: new AdapterRepository(trx, this.dialect), archive: new ArchiveRepository(trx, this.dialect) }));
  }

  /** Ids of the adapters a selection names, by name then id. Filters combine with AND. */
  async selectAdapterIds(selection: AdapterSelection): Promise<string[]> {
    let q = this.db.selectFrom('adapter').select('id');
    if (selection.ids) {
      if (selection.ids.length === 0) return [];
      const wanted = [...new Set(selection.ids)];
      // Large selections go in chunks; the rest of the filter is applied per chunk.
      if (wanted.length > 500) {
        const out: string[] = [];
        for (let i = 0; i < wanted.length; i += 500) out.push(...(await this.selectAdapterIds({ ...selection, ids: wanted.slice(i, i + 500) })));
        return out;
      }
      q = q.where('id', 'in', wanted);
    }
    if (selection.createdFrom) q = q.where('created_at', '>=', selection.createdFrom);
    if (selection.createdTo) q = q.where('created_at', '<=', selection.createdTo);
    const keys = selection.tagKeys ?? [];
    if (keys.length > 0) {
      const tagged = this.db.selectFrom('adapter_tag').select('adapter_id').where('tag_key', 'in', [...keys]).where('origin', '!=', 'removed');
      q =
        selection.tagMode === 'all' && keys.length > 1
          ? q.where('id', 'in', tagged.groupBy('adapter_id').having((eb) => eb.fn.count('tag_key').distinct(), '=', keys.length))
          : q.where('id', 'in', tagged);
    }
    return (await q.orderBy('name_key').orderBy('id').execute()).map((r) => r.id);
  }

  async allAdapterIds(): Promise<string[]> {
    return (await this.db.selectFrom('adapter').select('id').execute()).map((r) => r.id);
  }

  /** Every tag row (user, source and removed ones) of these adapters, in position order. */
  async tagRows(ids: readonly string[]): Promise<Map<string, TagRow[]>> {
    const out = new Map<string, TagRow[]>();
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await this.db
        .selectFrom('adapter_tag')
        .select(['adapter_id', 'tag', 'origin', 'position'])
        .where('adapter_id', 'in', ids.slice(i, i + 500))
        .orderBy('adapter_id')
        .orderBy('position')
        .execute();
      for (const r of rows) {
        const list = out.get(r.adapter_id) ?? [];
        list.push({ tag: r.tag, origin: r.origin as TagOrigin, position: r.position });
        out.set(r.adapter_id, list);
      }
    }
    return out;
  }

  /** Make these exactly the adapter's tag rows (the visible ones must match what the search text was built from). */
  async replaceTagRows(id: string, rows: readonly TagRow[]): Promise<void> {
    await this.db.deleteFrom('adapter_tag').where('adapter_id', '=', id).execute();
    const seen = new Set<string>();
    const values = rows.flatMap((r) => {
      const key = tagKey(r.tag);
      if (!key || seen.has(key)) return [];
      seen.add(key);
      return [{ adapter_id: id, tag: r.tag, tag_key: key, origin: r.origin, position: r.position }];
    });
    if (values.length > 0) await this.db.insertInto('adapter_tag').values(values).execute();
  }

  /** Adapters that share an id or a (name, version) with the given ones. */
  async findExisting(ids: readonly string[], names: readonly string[]): Promise<ExistingAdapterKey[]> {
    const found = new Map<string, ExistingAdapterKey>();
    const columns = ['id', 'name', 'version', 'updated_at', 'file_path'] as const;
    for (let i = 0; i < ids.length; i += 500) {
      for (const r of await this.db.selectFrom('adapter').select(columns).where('id', 'in', ids.slice(i, i + 500)).execute()) found.set(r.id, r);
    }
    const uniqueNames = [...new Set(names)];
    for (let i = 0; i < uniqueNames.length; i += 500) {
      for (const r of await this.db.selectFrom('adapter').select(columns).where('name', 'in', uniqueNames.slice(i, i + 500)).execute()) {
        found.set(r.id, r);
      }
    }
    return [...found.values()];
  }

  async nameVersionTaken(name: string, version: string | null): Promise<boolean> {
    let q = this.db.selectFrom('adapter').select('id').where('name', '=', name);
    q = version === null ? q.where('version', 'is', null) : q.where('version', '=', version);
    return (await q.limit(1).executeTakeFirst()) !== undefined;
  }

  async idTaken(id: string): Promise<boolean> {
    return (await this.db.selectFrom('adapter').select('id').where('id', '=', id).executeTakeFirst()) !== undefined;
  }

  // Settings, read and written as stored text so an archive carries them byte for byte.

  async allSettings(): Promise<SettingTable[]> {
    return this.db.selectFrom('setting').selectAll().orderBy('key').execute();
  }

  async putSetting(row: SettingTable): Promise<void> {
    await this.db
      .insertInto('setting')
      .values(row)
      .onConflict((oc) => oc.column('key').doUpdateSet({ value: row.value, updated_at: row.updated_at }))
      .execute();
  }

  // Backups.

  async insertBackup(row: BackupTable): Promise<void> {
    await this.db.insertInto('backup').values(row).execute();
  }

  async updateBackup(id: string, changes: Partial<Omit<BackupTable, 'id'>>): Promise<void> {
    await this.db.updateTable('backup').set(changes).where('id', '=', id).execute();
  }

  async findBackup(id: string): Promise<BackupTable | undefined> {
    return this.db.selectFrom('backup').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async listBackups(trigger?: string): Promise<BackupTable[]> {
    let q = this.db.selectFrom('backup').selectAll();
    if (trigger) q = q.where('trigger', '=', trigger);
    return q.orderBy('created_at', 'desc').orderBy('id', 'desc').execute();
  }

  async deleteBackup(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('backup').where('id', '=', id).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  // Committed imports.

  async insertImport(row: ArchiveImportTable): Promise<void> {
    await this.db.insertInto('archive_import').values(row).execute();
  }

  async findImport(id: string): Promise<ArchiveImportTable | undefined> {
    return this.db.selectFrom('archive_import').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Sum of the LoRA file sizes the catalogue knows, for estimates without a stat per file. */
  async knownFileBytes(ids: readonly string[]): Promise<number> {
    let total = 0;
    for (let i = 0; i < ids.length; i += 500) {
      const row = await this.db
        .selectFrom('adapter')
        .select(sql<number>`coalesce(sum(coalesce(file_size, primary_file_size_kb * 1024, 0)), 0)`.as('n'))
        .where('id', 'in', ids.slice(i, i + 500))
        .executeTakeFirstOrThrow();
      total += Number(row.n);
    }
    return total;
  }
}
