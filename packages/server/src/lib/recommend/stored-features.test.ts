import { describe, expect, it } from 'vitest';
import { extractFeatures, extractTerms, type AdapterFacts, type AdapterFeatures } from './features.ts';
import { readStoredFeatures, writeStoredFeatures } from './stored-features.ts';

/** What a load did before: JSON.parse, the term records taken apart. */
function viaParse(text: string) {
  const { semantic, artistic, ...facts } = JSON.parse(text) as AdapterFeatures;
  return { facts, semantic: Object.entries(semantic), artistic: Object.entries(artistic) };
}

const base: AdapterFacts = {
  id: 'a',
  name: 'Pixel Art XL',
  description: '<p>Retro <b>pixel</b> sprites, "8-bit" {style}</p>',
  author: 'Someone',
  triggers: ['pixel art', 'ドット絵'],
  trainedWords: ['sprite sheet, 1girl'],
  activationText: null,
  tagFrequency: [{ tag: 'pixel', count: 12 }],
  tags: ['style', 'retro'],
  baseModel: 'SDXL 1.0',
  baseFamily: 'sdxl',
  networkType: 'LoRA',
  rank: 32,
  fileSize: 100 * 1048576,
  archetype: 'style',
  rating: 4.5,
  favorite: true,
  nsfwLevel: 1,
};

describe('writeStoredFeatures', () => {
  it('writes the JSON that JSON.stringify made of extractFeatures, byte for byte', () => {
    const odd = { ...base, name: 'quote " back \\ brace { ünï', rank: null, rating: null, fileSize: null, author: null, description: null };
    for (const facts of [base, odd, { ...base, triggers: [], trainedWords: [], tags: [], tagFrequency: [], name: '' }]) {
      expect(writeStoredFeatures(extractTerms(facts))).toBe(JSON.stringify(extractFeatures(facts)));
    }
  });

  it('reads back what it wrote', () => {
    const terms = extractTerms(base);
    expect(readStoredFeatures(writeStoredFeatures(terms))).toEqual(terms);
  });
});

describe('readStoredFeatures', () => {
  it('reads what extractFeatures stores exactly as JSON.parse does, term order and weights included', () => {
    const text = JSON.stringify(extractFeatures(base));
    expect(readStoredFeatures(text)).toEqual(viaParse(text));
    expect(readStoredFeatures(text).semantic.length).toBeGreaterThan(3);
  });

  it('is not fooled by names and phrases that look like JSON, or by escapes', () => {
    const tricky: AdapterFeatures = {
      ...extractFeatures(base),
      name: 'a "semantic":{"w:x":1} name \\ with {braces} [and] , commas',
      semantic: { 'p:quote " inside': 1.5, 'w:back\\slash': 2, 'w:ünïcode': 0.125, 'w:e': 1e-7, 'w:neg': -3 },
      artistic: {},
      triggers: ['"artistic":{', '}', '\\'],
    };
    const text = JSON.stringify(tricky);
    expect(readStoredFeatures(text)).toEqual(viaParse(text));
    expect(readStoredFeatures(text).semantic).toEqual(Object.entries(tricky.semantic));
    expect(readStoredFeatures(text).artistic).toEqual([]);
  });

  it('reads the records wherever they are in the object, and with spaces', () => {
    const f = extractFeatures(base);
    const reordered = JSON.stringify({ tags: f.tags, artistic: f.artistic, name: f.name, semantic: f.semantic, triggers: f.triggers }, null, 2);
    expect(readStoredFeatures(reordered)).toEqual(viaParse(reordered));
  });

  it('falls back to JSON.parse for what it does not expect, and fails where JSON.parse fails', () => {
    const noRecords = JSON.stringify({ name: 'x', semantic: null, artistic: {}, triggers: [], tags: [] });
    expect(readStoredFeatures(noRecords)).toEqual({ facts: { name: 'x', triggers: [], tags: [] }, semantic: [], artistic: [] });
    const nested = '{"name":"x","semantic":{"w:a":{"b":1}},"artistic":{},"triggers":[],"tags":[]}';
    expect(() => readStoredFeatures(nested)).not.toThrow();
    expect(() => readStoredFeatures('{"semantic":{"w:a":1,},"artistic":{}}')).toThrow(SyntaxError);
    expect(() => readStoredFeatures('{"semantic":{"w:a":1}')).toThrow(SyntaxError);
  });
});
