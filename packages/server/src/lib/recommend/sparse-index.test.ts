import { describe, expect, it } from 'vitest';
import { norm, SparseField } from './sparse-index.ts';

/** The vector a slot should hold, as plain data: term → weight. */
type Doc = Record<string, number>;

function docOf(i: number): Doc {
  // Shared words, words of a few documents and a word of its own; weights rounded as stored features are.
  return { 'w:common': 1, [`w:group${i % 7}`]: 2.5, [`p:own ${i}`]: Math.round(((i % 13) + 1) * 0.377 * 1000) / 1000 };
}

/** What the field holds at a slot, checked against what its queries see (the weight times IDF). */
function stored(field: SparseField, slot: number): Doc {
  const out = field.entries(slot);
  for (const [term, w] of field.queryOf(slot)) expect(w).toBe(out[field.term(term)] * field.idf(term));
  return out;
}

describe('SparseField', () => {
  it('stores each slot in the shared arenas and gives back exactly its terms and weights', () => {
    const f = new SparseField();
    for (let i = 0; i < 500; i++) f.add(i, Object.entries(docOf(i)));
    for (const i of [0, 1, 250, 499]) {
      expect(stored(f, i)).toEqual(docOf(i));
      expect(f.size(i)).toBe(3);
    }
    const q = f.queryOf(3);
    expect(f.cosine(q, norm(q), 3)).toBeCloseTo(1, 12);
    expect(f.shared(q, 10)).toEqual(['w:group3', 'w:common']);
  });

  it('after removals and compaction keeps the live vectors, postings and document frequencies right', () => {
    const f = new SparseField();
    for (let i = 0; i < 300; i++) f.add(i, Object.entries(docOf(i)));
    for (let i = 0; i < 300; i += 3) f.remove(i);
    // An update is a removal and an add at a new slot.
    f.remove(1);
    f.add(300, [['w:common', 4], ['p:own 1', 1]]);
    const order = Array.from({ length: 301 }, (_, i) => i).filter((i) => i % 3 !== 0 && i !== 1);
    f.compact(order);
    order.forEach((old, slot) => expect(stored(f, slot)).toEqual(old === 300 ? { 'w:common': 4, 'p:own 1': 1 } : docOf(old)));
    // Candidates come from the postings: every live slot with the group's word, no dead one.
    const found = new Map<number, number>();
    f.candidates(f.query(new Map([['w:group2', 1]])), () => true, found);
    expect([...found.keys()].map((s) => order[s])).toEqual(order.filter((i) => i !== 300 && i % 7 === 2));
    // 300 documents, 101 removed, one added: idf counts 200 live ones, 199 of them with `w:common`.
    expect(f.idf(f.termId('w:common')!)).toBeCloseTo(Math.log(1 + 200 / 200), 12);
    expect(f.idf(f.termId('p:own 0')!)).toBe(0);
  });

  it('keeps weights exact, also past 65,536 distinct ones (the weight indexes widen)', () => {
    const f = new SparseField();
    for (let i = 0; i < 70_000; i++) f.add(i, [['w:a', 1 + i / 3], ['w:b', 0.1]]);
    expect(stored(f, 5)['w:a']).toBe(1 + 5 / 3);
    expect(stored(f, 69_999)['w:a']).toBe(1 + 69_999 / 3);
    f.compact(Array.from({ length: 70_000 }, (_, i) => 69_999 - i));
    expect(stored(f, 0)['w:a']).toBe(1 + 69_999 / 3);
    expect(stored(f, 69_994)).toEqual({ 'w:a': 1 + 5 / 3, 'w:b': 0.1 });
  });

  it('finds live `w:` terms by a typed prefix, in first-seen order, bounded', () => {
    const f = new SparseField();
    f.add(0, [['w:pixel', 1], ['w:pixie', 1], ['p:pixel art', 1], ['w:pix', 1]]);
    f.add(1, [['w:pixelated', 1], ['w:pinto', 1]]);
    expect(f.termsWithPrefix('w:pix').map((t) => f.term(t))).toEqual(['w:pixel', 'w:pixie', 'w:pix', 'w:pixelated']);
    expect(f.termsWithPrefix('w:pixel').map((t) => f.term(t))).toEqual(['w:pixel', 'w:pixelated']);
    expect(f.termsWithPrefix('w:pix', 2).map((t) => f.term(t))).toEqual(['w:pixel', 'w:pixie']);
    expect(f.termsWithPrefix('w:pi')).toEqual([]);
    f.remove(1);
    expect(f.termsWithPrefix('w:pixel').map((t) => f.term(t))).toEqual(['w:pixel']);
  });
});
