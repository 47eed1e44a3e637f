import type { Kysely } from 'kysely';
import type { DB } from '../db/tables.ts';

/** Settings the server owns, as JSON values under string keys. */
export class SettingRepository {
  constructor(private readonly db: Kysely<DB>) {}

  async get<T>(key: string): Promise<T | undefined> {
    const row = await this.db.selectFrom('setting').select('value').where('key', '=', key).executeTakeFirst();
    return row ? (JSON.parse(row.value) as T) : undefined;
  }

  async set(key: string, value: unknown, updatedAt: string): Promise<void> {
    const text = JSON.stringify(value);
    await this.db
      .insertInto('setting')
      .values({ key, value: text, updated_at: updatedAt })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value: text, updated_at: updatedAt }))
      .execute();
  }
}
