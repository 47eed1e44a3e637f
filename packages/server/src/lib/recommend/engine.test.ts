import { describe, expect, it } from 'vitest';
import { RecommendEngine } from './engine.ts';
import { extractFeatures, type AdapterFacts } from './features.ts';
import { Signals, contextKey } from './signals.ts';
import { phrases, words } from './text.ts';

const W = { semantic: 0.6, artistic: 0.3, technical: 0.1 };

function facts(id: string, over: Partial<AdapterFacts> = {}): AdapterFacts {
  return {
    id,
    name: id,
    description: null,
    author: null,
    triggers: [],
    trainedWords: [],
    activationText: null,
    tagFrequency: [],
    tags: [],
    baseModel: null,
    baseFamily: 'sdxl',
    networkType: 'lora',
    rank: 32,
    fileSize: 100 * 1048576,
    archetype: null,
    rating: null,
    favorite: false,
    nsfwLevel: 0,
    ...over,
  };
}

function engineOf(list: AdapterFacts[]): RecommendEngine {
  const e = new RecommendEngine();
  for (const f of list) e.upsert(f.id, extractFeatures(f));
  return e;
}

describe('text', () => {
  it('drops the template and boilerplate words that made the original call unrelated LoRAs alike', () => {
    expect(words('Trained on: masterpiece, best quality, a LoRA of pixel art')).toEqual(['pixel', 'art']);
    expect(words('PixelArtXL_v2')).toEqual(['pixel', 'art', 'xl']);
    expect(phrases('(pixel art:1.2), 1girl; Sprite Sheet')).toEqual(['pixel art', 'girl', 'sprite sheet']);
  });
});

describe('features', () => {
  it('weights trained words by how often kohya saw them in the captions', () => {
    const f = extractFeatures(facts('a', { tagFrequency: [{ tag: 'red scarf', count: 100 }, { tag: 'blue hat', count: 1 }] }));
    expect(f.semantic['p:red scarf']).toBeGreaterThan(f.semantic['p:blue hat'] * 5);
  });

  it('has nothing in common between adapters that share only template-like words', () => {
    const e = engineOf([
      facts('alpha', { trainedWords: ['crimson knight'], tags: ['style'] }),
      facts('gamma', { trainedWords: ['azure dragon'], tags: ['character'] }),
    ]);
    expect(e.similar('alpha', W, { limit: 5, threshold: 0.2, diversify: false })).toEqual([]);
  });
});

describe('engine', () => {
  const catalogue = [
    facts('pixel-1', { triggers: ['pixel art'], tags: ['pixel'] }),
    facts('pixel-2', { triggers: ['pixel art', 'sprite'], tags: ['pixel'] }),
    facts('pixel-sd1', { triggers: ['pixel art'], tags: ['pixel'], baseFamily: 'sd1' }),
    facts('water', { triggers: ['watercolor'], tags: ['painting'] }),
    facts('hat', { triggers: ['top hat'], tags: ['clothing'] }),
  ];

  it('ranks shared triggers first and filters incompatible base models unless asked', () => {
    const e = engineOf(catalogue);
    const ids = e.similar('pixel-1', W, { limit: 5, threshold: 0.1, diversify: false }).map((s) => s.id);
    expect(ids[0]).toBe('pixel-2');
    expect(ids).not.toContain('pixel-sd1');
    expect(e.similar('pixel-1', W, { limit: 5, threshold: 0.1, diversify: false, allowIncompatible: true }).map((s) => s.id)).toContain('pixel-sd1');
  });

  it('updates and removes one adapter without touching the others', () => {
    const e = engineOf(catalogue);
    e.upsert('hat', extractFeatures(facts('hat', { triggers: ['pixel art'] })));
    expect(e.similar('pixel-1', W, { limit: 5, threshold: 0.1, diversify: false }).map((s) => s.id)).toContain('hat');
    e.remove('pixel-2');
    expect(e.similar('pixel-1', W, { limit: 5, threshold: 0.1, diversify: false }).map((s) => s.id)).not.toContain('pixel-2');
    expect(e.size).toBe(4);
  });

  it('stays correct after enough churn to compact its postings', () => {
    const e = engineOf(catalogue);
    for (let i = 0; i < 3000; i++) e.upsert(`n${i % 50}`, extractFeatures(facts(`n${i % 50}`, { triggers: [`noise ${i}`] })));
    expect(e.size).toBe(55);
    expect(e.byTrigger('noise 2999', { limit: 3 })[0].id).toBe('n49');
    expect(e.similar('pixel-1', W, { limit: 1, threshold: 0.1, diversify: false })[0].id).toBe('pixel-2');
  });

  it('answers the same after trimming its arrays, and takes updates after', () => {
    const e = engineOf(catalogue);
    const ask = () => [e.similar('pixel-1', W, { limit: 5, threshold: 0, diversify: true }), e.byTrigger('pixel', { limit: 5 }), e.forPrompt('pixel art, watercolor', W, { limit: 5, active: [] })];
    const before = ask();
    e.trim();
    expect(ask()).toEqual(before);
    e.upsert('water', extractFeatures(facts('water', { triggers: ['pixel art'] })));
    expect(e.byTrigger('pixel art', { limit: 5 }).map((s) => s.id)).toContain('water');
    expect(e.features('water')?.triggers).toEqual(['pixel art']);
  });

  it('forgets removed adapters entirely once compacted: ids, names and triggers', () => {
    const e = engineOf(catalogue);
    for (let i = 0; i < 1500; i++) e.upsert(`tmp${i}`, extractFeatures(facts(`tmp${i}`, { triggers: [`temp ${i}`] })));
    for (let i = 0; i < 1500; i++) e.remove(`tmp${i}`);
    expect([...e.ids()].sort()).toEqual(catalogue.map((c) => c.id).sort());
    expect(e.has('tmp7')).toBe(false);
    expect(e.byName('TMP7')).toEqual([]);
    expect(e.byTrigger('temp 7', { limit: 3 })).toEqual([]);
    expect(e.byName('Pixel-2')).toEqual(['pixel-2']);
    expect(e.features('pixel-2')).toMatchObject({ name: 'pixel-2', triggers: ['pixel art', 'sprite'], tags: ['pixel'], family: 'sdxl', rank: 32, sizeMb: 100 });
  });

  it('scores an exact trigger 1, then triggers containing the words, then prefixes', () => {
    const e = engineOf(catalogue);
    const res = e.byTrigger('Pixel Art', { limit: 5 });
    expect(res[0].final).toBe(1);
    expect(res[0].reasons[0]).toBe('exact trigger match: "pixel art"');
    expect(e.byTrigger('waterc', { limit: 5 }).map((s) => s.id)).toEqual(['water']);
  });

  it('suggests for a prompt by its phrases, without the active LoRAs, in their base model', () => {
    const e = engineOf(catalogue);
    const res = e.forPrompt('a knight, pixel art, castle', { semantic: 0.5, artistic: 0.35, technical: 0.15 }, { limit: 5, active: ['pixel-1'] });
    expect(res.map((s) => s.id)).toEqual(['pixel-2']);
    expect(res[0].reasons[0]).toBe('your prompt uses its trigger: pixel art');
  });

  it('learns: co-usage brings a partner in, feedback and preferences move the ranking', () => {
    const e = engineOf(catalogue);
    const base = e.similar('pixel-1', W, { limit: 5, threshold: 0, diversify: false });
    expect(base.map((s) => s.id)).not.toContain('hat');
    const used = new Signals([{ adapterIds: ['pixel-1', 'hat'], rating: 5, favorite: true }]);
    const withUse = e.similar('pixel-1', W, { limit: 5, threshold: 0, diversify: false, signals: used });
    expect(withUse.find((s) => s.id === 'hat')?.reasons).toContain('often used together in your generations');

    const ctx = contextKey('similar', 'pixel-1');
    const disliked = new Signals([], [{ context: ctx, adapterId: 'pixel-2', type: 'negative' }]);
    const top = base.find((s) => s.id === 'pixel-2')!.final;
    const lowered = e.similar('pixel-1', W, { limit: 5, threshold: 0, diversify: false, signals: disliked }).find((s) => s.id === 'pixel-2');
    expect(lowered === undefined || lowered.final < top - 0.4).toBe(true);
    const dismissed = new Signals([], [{ context: ctx, adapterId: 'pixel-2', type: 'dismissed' }]);
    expect(e.similar('pixel-1', W, { limit: 5, threshold: 0, diversify: false, signals: dismissed }).map((s) => s.id)).not.toContain('pixel-2');

    const likesPainting = new Signals([], [], [{ type: 'tag', value: 'painting', confidence: 1 }]);
    const before = e.byTrigger('watercolor', { limit: 1 })[0].final;
    expect(e.byTrigger('watercolor', { limit: 1, signals: likesPainting })[0].final).toBeGreaterThan(before);
  });
});
