import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateToLatest, openDatabase } from '../../src/db/database.ts';
import { AdapterRepository } from '../../src/library/repositories/adapter.repository.ts';
import { createTestApp, TEST_DIALECTS, type TestApp } from '../support/test-app.ts';

/**
 * The adapter list picks a query plan by how many adapters a filter can match (sort the few matches, walk the sort
 * index for many, count and page in one query for a rare tag). Every plan must give the same answer: this library
 * is big enough to take each one, and every answer is checked against a plain filter of the seeded rows.
 */
const N = 2600;
const name = (i: number) => `lora ${String(i).padStart(5, '0')}`;
function tagsOf(i: number): string[] {
  const tags: string[] = [];
  if (i % 10 !== 0) tags.push('wide'); // 2,340: more than the 2,000 a plan sorts
  if (i % 3 === 0) tags.push('mid'); // 867
  if (i % 50 === 0) tags.push('rare'); // 52
  return tags;
}

describe.each(TEST_DIALECTS)('adapter list plans on %s', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(dialect);
    const file = t.libraryFile('x.safetensors');
    await t.container.repositories.adapters.transaction(async (repo) => {
      for (let i = 0; i < N; i++) {
        const at = new Date(Date.UTC(2025, 0, 1) + i * 60_000).toISOString();
        await repo.insert({ id: randomUUID(), name: name(i), file_path: file, active: i % 7 === 0, description: i % 4 === 0 ? 'ink style' : null, created_at: at, updated_at: at }, tagsOf(i));
      }
    });
  }, 120_000);
  afterAll(async () => t.close());

  const expected = (keep: (i: number) => boolean, offset: number, limit = 24) => {
    const all = Array.from({ length: N }, (_, i) => i).filter(keep);
    return { filtered: all.length, names: all.slice(offset, offset + limit).map(name) };
  };
  const list = async (qs: string) => {
    const res = await t.app.inject({ method: 'GET', url: `/api/v1/adapters?per_page=24&${qs}` });
    expect(res.statusCode).toBe(200);
    const body = res.json() as { filtered: number; total: number; items: Array<{ name: string }> };
    return { filtered: body.filtered, total: body.total, names: body.items.map((a) => a.name) };
  };
  const has = (i: number, tag: string) => tagsOf(i).includes(tag);

  it.each([
    ['a common tag (index walk)', 'tags=wide', (i: number) => has(i, 'wide')],
    ['a common tag, deep page', 'tags=wide&page=60', (i: number) => has(i, 'wide')],
    ['two rare tags, any (one query)', 'tags=rare,mid', (i: number) => has(i, 'rare') || has(i, 'mid')],
    ['common and mid, all', 'tags=wide,mid&tag_mode=all&page=3', (i: number) => has(i, 'wide') && has(i, 'mid')],
    ['common and rare, all', 'tags=wide,rare&tag_mode=all', (i: number) => has(i, 'wide') && has(i, 'rare')],
    ['a tag and a column filter', 'tags=wide&active_only=true&page=2', (i: number) => has(i, 'wide') && i % 7 === 0],
    ['a search and tags', 'search=ink&tags=wide,rare&page=2', (i: number) => i % 4 === 0 && (has(i, 'wide') || has(i, 'rare'))],
    ['a search and all tags', 'search=ink&tags=mid,wide&tag_mode=all', (i: number) => i % 4 === 0 && has(i, 'mid') && has(i, 'wide')],
  ] as const)('%s', async (_label, qs, keep) => {
    const page = Number(new URLSearchParams(qs).get('page') ?? 1);
    expect(await list(qs)).toEqual({ ...expected(keep, (page - 1) * 24), total: N });
  });

  it('answers a page past the end with the count and no items', async () => {
    expect(await list('tags=rare,mid&page=400')).toEqual({ filtered: expected((i) => has(i, 'rare') || has(i, 'mid'), 0).filtered, total: N, names: [] });
  });
});

describe('cached catalogue counts on SQLite', () => {
  let dir: string;
  beforeAll(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lm-counts-'))));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('follow writes made by this process and by another one', async () => {
    const file = path.join(dir, 'db.sqlite');
    const database = openDatabase(`sqlite:${file}`);
    await migrateToLatest(database);
    const repo = new AdapterRepository(database.db, database.dialect);
    const add = (n: string) => repo.insert({ id: randomUUID(), name: n, file_path: '/x', created_at: '2025-01-01T00:00:00.000Z', updated_at: '2025-01-01T00:00:00.000Z' }, ['t']);
    try {
      await add('a');
      expect(await repo.count()).toBe(1);
      await add('b');
      expect(await repo.count()).toBe(2);
      expect((await repo.list({ tagKeys: ['t'], tagMode: 'any', sort: 'name', order: 'asc', limit: 10, offset: 0 })).filtered).toBe(2);

      // Another process (a worker) writes to the same file: the next count sees it.
      const other = new SqliteDatabase(file);
      other.prepare(`delete from adapter_tag where adapter_id = (select id from adapter where name = 'a')`).run();
      other.prepare(`delete from adapter where name = 'a'`).run();
      other.close();
      expect(await repo.count()).toBe(1);
      expect((await repo.list({ tagKeys: ['t'], tagMode: 'any', sort: 'name', order: 'asc', limit: 10, offset: 0 })).filtered).toBe(1);
    } finally {
      await database.close();
    }
  });
});
