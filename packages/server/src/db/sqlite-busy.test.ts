import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from './database.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sqlite-busy-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('SQLite under another connection\'s lock', () => {
  it('a write waits out a lock held past busy_timeout instead of failing with "database is locked"', async () => {
    const file = path.join(dir, 'busy.sqlite');
    const { db } = openDatabase(file);
    // Another connection (another process, the checkpoint thread) holding the write lock for a while.
    const other = new SqliteDatabase(file, { timeout: 0 });
    const timers: NodeJS.Timeout[] = [];
    const holdLock = () => {
      other.exec('begin immediate');
      // Released by a timer: this thread is the one SQLite's busy handler blocks, so the holder lets go only once
      // the app yields, after busy_timeout ran out.
      timers.push(setTimeout(() => other.exec('commit'), 50));
    };
    try {
      await sql`create table t (id integer primary key, v text)`.execute(db);

      holdLock();
      await db.transaction().execute(async (trx) => {
        await sql`insert into t (id, v) values (1, 'in a transaction')`.execute(trx);
      });

      holdLock();
      await sql`insert into t (id, v) values (2, 'on its own')`.execute(db);

      expect((await sql<{ n: number }>`select count(*) as n from t`.execute(db)).rows[0].n).toBe(2);
    } finally {
      timers.forEach(clearTimeout);
      other.close();
      await db.destroy();
    }
  }, 30_000);
});
