import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from './database.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'checkpoint-hold-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const MB = 2 ** 20;

describe('SQLite checkpoint hold (large scans)', () => {
  it('lets the WAL grow while held, then checkpoints it in the background once the last overlapping hold ends', async () => {
    const file = path.join(dir, 'hold.sqlite');
    const { db, dialect } = openDatabase(file);
    const size = (f: string) => fs.statSync(f).size;
    const automatic = async () => (await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(db)).rows[0].wal_autocheckpoint;
    const count = async () => (await sql<{ n: number }>`select count(*) as n from blob`.execute(db)).rows[0].n;
    // Transactions of 1 MB each; SQLite checkpoints on its own every 4 MB (1,000 pages).
    let next = 0;
    const write = async (transactions: number) => {
      for (let t = 0; t < transactions; t++) {
        await db.transaction().execute(async (trx) => {
          for (let r = 0; r < 16; r++) await sql`insert into blob (id, body) values (${next++}, ${'x'.repeat(64 * 1024)})`.execute(trx);
        });
      }
    };
    try {
      await sql`create table blob (id integer primary key, body text)`.execute(db);
      await write(8);
      expect(size(`${file}-wal`)).toBeLessThan(6 * MB); // left alone, SQLite keeps it near 4 MB

      const outer = dialect.holdCheckpoints!();
      const inner = dialect.holdCheckpoints!();
      expect(await automatic()).toBe(0);
      const before = size(file);
      await write(24);
      expect(size(`${file}-wal`)).toBeGreaterThan(24 * MB);
      await inner();
      await inner(); // a second call changes nothing
      expect(await automatic()).toBe(0); // the outer hold still stands
      expect(size(file)).toBe(before); // nothing reached the database file yet

      const caughtUp = outer();
      await write(1); // this connection goes on writing meanwhile, without checkpointing itself
      expect(await automatic()).toBe(0);
      await caughtUp;
      expect(await automatic()).toBe(1000);
      expect(size(file)).toBeGreaterThan(before + 24 * MB); // the held-back 24 MB are in the database file
      expect(size(`${file}-wal`)).toBe(0);
      await write(1);
      expect(await count()).toBe(34 * 16);
    } finally {
      await db.destroy();
    }
  });
});
