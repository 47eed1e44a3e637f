import { describe, expect, it } from 'vitest';
import { formatInfotext, parseInfotext, withMissingParams } from './infotext.ts';

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

describe('withMissingParams', () => {
  const text = 'a cat\nNegative prompt: dog\nSteps: 20, Sampler: Euler, CFG scale: 7, Seed: 1';
  it('appends only the pairs the parameter line lacks, keeping the text as written', () => {
    const out = withMissingParams(text, [
      ['Seed', 99],
      ['Lora hashes', 'a: 0123456789ab, b: ba9876543210'],
      ['Model hash', null],
    ]);
    expect(out).toBe(`${text}, Lora hashes: "a: 0123456789ab, b: ba9876543210"`);
    expect(parseInfotext(out).params['Lora hashes']).toBe('a: 0123456789ab, b: ba9876543210');
    expect(parseInfotext(out).params.Seed).toBe('1');
  });

  it('leaves text without a parameter line alone', () => {
    expect(withMissingParams('just a prompt', [['Lora hashes', 'a: 0123456789ab']])).toBe('just a prompt');
  });
});
