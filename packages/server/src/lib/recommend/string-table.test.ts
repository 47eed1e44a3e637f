import { describe, expect, it } from 'vitest';
import { StringTable } from './string-table.ts';

describe('StringTable', () => {
  it('interns each string once, with dense ids in first-seen order', () => {
    const t = new StringTable();
    expect(t.intern('w:pixel')).toBe(0);
    expect(t.intern('p:pixel art')).toBe(1);
    expect(t.intern('w:pixel')).toBe(0);
    expect(t.size).toBe(2);
    expect(t.get(1)).toBe('p:pixel art');
  });

  it('looks up without adding, and tells apart strings that share a prefix or a length', () => {
    const t = new StringTable();
    for (const s of ['ab', 'abc', 'ba', 'abd', '']) t.intern(s);
    expect(t.lookup('abc')).toBe(1);
    expect(t.lookup('abd')).toBe(3);
    expect(t.lookup('')).toBe(4);
    expect(t.lookup('a')).toBeUndefined();
    expect(t.lookup('abcd')).toBeUndefined();
    expect(t.size).toBe(5);
  });

  it('keeps every string through growth of its bytes, offsets and hash table far past their first sizes', () => {
    const t = new StringTable();
    const n = 50_000;
    for (let i = 0; i < n; i++) expect(t.intern(`term-${i}-${'x'.repeat(i % 40)}`)).toBe(i);
    for (let i = 0; i < n; i += 997) {
      expect(t.get(i)).toBe(`term-${i}-${'x'.repeat(i % 40)}`);
      expect(t.lookup(`term-${i}-${'x'.repeat(i % 40)}`)).toBe(i);
    }
    expect(t.lookup('term-50000-')).toBeUndefined();
    t.trim();
    expect(t.get(n - 1)).toBe(`term-${n - 1}-${'x'.repeat((n - 1) % 40)}`);
    expect(t.intern('after trim')).toBe(n);
    expect(t.lookup(`term-${n - 2}-${'x'.repeat((n - 2) % 40)}`)).toBe(n - 2);
  });

  it('stores text beyond ASCII as UTF-8 and gives it back unchanged', () => {
    const t = new StringTable();
    const words = ['café', 'ドラゴン', '😀 smile', 'naïve', 'long ' + 'é'.repeat(2000)];
    const ids = words.map((w) => t.intern(w));
    expect(ids.map((id) => t.get(id))).toEqual(words);
    expect(words.map((w) => t.lookup(w))).toEqual(ids);
    expect(t.lookup('cafe')).toBeUndefined();
  });
});
