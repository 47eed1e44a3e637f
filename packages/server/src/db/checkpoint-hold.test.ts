import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from './database.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'checkpoint-hold-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('SQLite checkpoint hold (large scans)', () => {
  it('lets the WAL grow while held, then checkpoints it away once the last overlapping hold ends', async () => {
    const file = path.join(dir, 'hold.sqlite');
    const database = openDatabase(file);
    const { db, dialect } = database;
    const wal = () => fs.statSync(`${file}-wal`).size;
    const automatic = async () => (await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(db)).rows[0].wal_autocheckpoint;
    // 12 transactions of 1 MB each: three times the 4 MB (1,000 pages) at which SQLite checkpoints on its own.
    const write = async (from: number) => {
      for (let t = 0; t < 12; t++) {
        await db.transaction().execute(async (trx) => {
          for (let r = 0; r < 16; r++) await sql`insert into blob (id, body) values (${from + t * 16 + r}, ${'x'.repeat(64 * 1024)})`.execute(trx);
        });
      }
    };
    try {
      await sql`create table blob (id integer primary key, body text)`.execute(db);
      await write(0);
      expect(wal()).toBeLessThan(6 * 2 ** 20); // left alone, SQLite keeps it near 4 MB

      const outer = dialect.holdCheckpoints!();
      const inner = dialect.holdCheckpoints!();
      expect(await automatic()).toBe(0);
      await write(1000);
      expect(wal()).toBeGreaterThan(12 * 2 ** 20);
      inner();
      inner(); // a second call changes nothing
      expect(await automatic()).toBe(0); // the outer hold still stands
      expect(wal()).toBeGreaterThan(12 * 2 ** 20);
      outer();
      expect(await automatic()).toBe(1000);
      expect(wal()).toBe(0);
      expect((await sql<{ n: number }>`select count(*) as n from blob`.execute(db)).rows[0].n).toBe(2 * 12 * 16);
    } finally {
      await db.destroy();
    }
  });
});
