import { describe, expect, it } from 'vitest';
import { formatPercent } from './format.ts';

describe('formatPercent', () => {
  it('says "<1 %" for a small share and never rounds an unfinished share up to 100 %', () => {
    expect(formatPercent(0)).toBe('0 %');
    expect(formatPercent(0.05)).toBe('<1 %');
    expect(formatPercent(42.4)).toBe('42 %');
    expect(formatPercent(99.6)).toBe('99 %');
    expect(formatPercent(100)).toBe('100 %');
    expect(formatPercent(null)).toBe('—');
  });
});
