import { describe, expect, it } from 'vitest';
import { formatInfotext, parseInfotext } from './infotext.ts';

describe('infotext', () => {
  it('formats like A1111 and parses back', () => {
    const text = formatInfotext('a cat, <lora:ink:0.8>\nsecond line', 'blurry, bad', [
      ['Steps', 20],
      ['Sampler', 'DPM++ 2M'],
      ['CFG scale', 7],
      ['Seed', 1234],
      ['Size', '512x768'],
      ['Model', null],
      ['Lora hashes', 'ink: 0123456789ab, other: ba9876543210'],
    ]);
    expect(text).toBe(
      'a cat, <lora:ink:0.8>\nsecond line\nNegative prompt: blurry, bad\nSteps: 20, Sampler: DPM++ 2M, CFG scale: 7, Seed: 1234, Size: 512x768, Lora hashes: "ink: 0123456789ab, other: ba9876543210"',
    );
    const parsed = parseInfotext(text);
    expect(parsed.prompt).toBe('a cat, <lora:ink:0.8>\nsecond line');
    expect(parsed.negative_prompt).toBe('blurry, bad');
    expect(parsed.params).toMatchObject({ Steps: '20', Sampler: 'DPM++ 2M', 'Size-1': '512', 'Size-2': '768', 'Lora hashes': 'ink: 0123456789ab, other: ba9876543210' });
  });

  it('treats a last line with fewer than three pairs as prompt text', () => {
    expect(parseInfotext('portrait\nstyle: ink')).toEqual({ prompt: 'portrait\nstyle: ink', negative_prompt: '', params: {} });
  });
});
