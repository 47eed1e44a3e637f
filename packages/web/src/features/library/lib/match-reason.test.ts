import { describe, expect, it } from 'vitest';
import { describeMatch } from './match-reason.ts';

describe('describeMatch', () => {
  it('says which field held the search and its value', () => {
    expect(describeMatch({ field: 'name', kind: 'exact', value: 'Ink' })).toBe('exact name');
    expect(describeMatch({ field: 'name', kind: 'prefix', value: 'Inkwash' })).toBe('name starts with it');
    expect(describeMatch({ field: 'trigger', kind: 'prefix', value: 'inkwash' })).toBe('trigger word: inkwash');
    expect(describeMatch({ field: 'tag', kind: 'contains', value: 'Inked' })).toBe('tag: Inked');
    expect(describeMatch(null)).toBeNull();
  });
});
