import { describe, expect, it } from 'vitest';
import { FactStore } from './doc-facts.ts';
import type { DocFacts } from './features.ts';

function facts(i: number): DocFacts {
  return {
    name: `Pixel Art ${i}`,
    triggers: [`pixel ${i}`, 'solo'],
    tags: i % 2 ? ['style'] : [],
    family: i % 3 ? 'sdxl' : null,
    baseModel: 'SDXL 1.0',
    network: 'lora',
    rank: i % 4 ? 32 : null,
    sizeMb: 144,
    author: null,
    archetype: 'style',
    rating: i % 5 ? 4.5 : null,
    favorite: i % 2 === 0,
    nsfw: 1,
  };
}

/** A view's facts as a plain object (its getters read the store). */
function plain(f: DocFacts): DocFacts {
  const { name, triggers, tags, family, baseModel, network, rank, sizeMb, author, archetype, rating, favorite, nsfw } = f;
  return { name, triggers, tags, family, baseModel, network, rank, sizeMb, author, archetype, rating, favorite, nsfw };
}

describe('FactStore', () => {
  it('gives back every fact of a slot, nulls included, and its trigger and name phrase ids', () => {
    const s = new FactStore();
    for (let i = 0; i < 3000; i++) s.set(i, facts(i));
    for (const i of [0, 1, 2, 3, 4, 2999]) expect(plain(s.view(i))).toEqual(facts(i));
    expect([...s.triggerIds(7)].map((id) => s.phrases.get(id))).toEqual(['pixel 7', 'solo']);
    expect(s.phrases.get(s.nameKey(7))).toBe('pixel art 7');
  });

  it('compaction renumbers slots and keeps the facts of the ones kept', () => {
    const s = new FactStore();
    for (let i = 0; i < 100; i++) s.set(i, facts(i));
    const order = [99, 5, 50];
    s.compact(order);
    order.forEach((old, slot) => expect(plain(s.view(slot))).toEqual(facts(old)));
    s.set(3, facts(1000));
    expect(plain(s.view(3))).toEqual(facts(1000));
    expect(plain(s.view(0))).toEqual(facts(99));
  });

  it('finds the triggers a text mentions exactly as a search for " trigger " in it would', () => {
    const s = new FactStore();
    const triggers = ['pixel art', 'art', 'pixel', 'a , b', 'noir', 'city at night', 'ドット絵', 'x'];
    s.set(0, { ...facts(0), triggers });
    s.set(1, { ...facts(1), triggers: ['night', 'art style'] });
    for (const text of [' pixel art , city at night ', ' a , b , noir ', ' ドット絵 , pixelart ', ' x ', ' pixel  art ', ' art style , night ']) {
      const named = s.triggersIn(text);
      for (const slot of [0, 1]) {
        const expected = plain(s.view(slot)).triggers.filter((t) => text.includes(` ${t} `));
        expect(s.triggersAmong(slot, named, new Map())).toEqual(expected);
      }
    }
  });
});
