import { describe, expect, it } from 'vitest';
import { PostingLists } from './posting-lists.ts';

describe('PostingLists', () => {
  it('keeps each list in push order, a single value inline and longer lists in the pool', () => {
    const p = new PostingLists();
    p.push(3, 30);
    p.push(0, 1);
    p.push(3, 31);
    p.push(3, 32);
    expect(p.values(3)).toEqual([30, 31, 32]);
    expect(p.values(0)).toEqual([1]);
    expect(p.values(1)).toEqual([]);
    expect(p.length(99)).toBe(0);
  });

  it('stays correct through block moves and pool compactions on interleaved lists', () => {
    const p = new PostingLists();
    const expected = new Map<number, number[]>();
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 200_000; i++) {
      // Skewed keys: a few long lists that move often, many short ones.
      const key = Math.floor(5000 * random() ** 3);
      p.push(key, i);
      (expected.get(key) ?? expected.set(key, []).get(key)!).push(i);
    }
    for (const [key, values] of expected) expect(p.values(key)).toEqual(values);
    p.trim();
    for (const [key, values] of expected) expect(p.values(key)).toEqual(values);
    p.push(0, -1);
    p.push(4999, -2);
    expect(p.values(0)).toEqual([...expected.get(0)!, -1]);
    expect(p.values(4999)).toEqual([...(expected.get(4999) ?? []), -2]);
  });

  it('trim leaves no spare room: the pool holds exactly the values of lists longer than one', () => {
    const p = new PostingLists();
    for (let i = 0; i < 1000; i++) p.push(i % 10, i);
    p.push(10, 5);
    p.trim();
    const bytes = p.byteLength;
    // 1000 values in the pool, three 16-slot key arrays (the minimum), nothing else.
    expect(bytes).toBe(1000 * 4 + 3 * 16 * 4);
  });
});
