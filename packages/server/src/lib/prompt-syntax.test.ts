import { describe, expect, it } from 'vitest';
import { formatWeight, parseLoraTokens, renderLoraToken, stripLoraTokens } from './prompt-syntax.ts';

describe('lora token syntax', () => {
  it('writes three decimals in the original syntax and trims them elsewhere', () => {
    expect(renderLoraToken('original', { name: 'Alpha', weight: 1 })).toBe('<lora:Alpha:1.000>');
    expect(renderLoraToken('original', { name: 'beta', weight: 0.75 })).toBe('<lora:beta:0.750>');
    expect(renderLoraToken('a1111', { name: 'beta', weight: 0.75 })).toBe('<lora:beta:0.75>');
    expect(formatWeight(-0.0001, 'a1111')).toBe('0');
  });

  it('renders separate text-encoder and UNet weights per backend', () => {
    const spec = { name: 'x', weight: 1, te: 0.5, unet: 0.8 };
    expect(renderLoraToken('a1111', spec)).toBe('<lora:x:0.5:0.8>');
    expect(renderLoraToken('sdnext', spec)).toBe('<lora:x:1:te=0.5:unet=0.8>');
    expect(renderLoraToken('comfyui', spec)).toBe('<lora:x:0.8:0.5>');
    expect(renderLoraToken('a1111', { name: 'x', weight: 1, unet: 0.6 })).toBe('<lora:x:1:0.6>');
  });

  it('parses what it renders, in each syntax', () => {
    for (const syntax of ['a1111', 'sdnext', 'comfyui'] as const) {
      const token = renderLoraToken(syntax, { name: 'x', weight: 0.7, te: 0.4, unet: 0.9 });
      const [parsed] = parseLoraTokens(`pre ${token} post`, syntax);
      const te = parsed.te ?? parsed.weight;
      const unet = parsed.unet ?? parsed.weight;
      expect([syntax, te, unet]).toEqual([syntax, 0.4, 0.9]);
    }
    expect(parseLoraTokens('<lora:a:1.000> <lyco:b> <LORA:c:0.5:unet=0.2>').map((t) => [t.name, t.weight, t.unet ?? null])).toEqual([
      ['a', 1, null],
      ['b', 1, null],
      ['c', 0.5, 0.2],
    ]);
  });

  it('strips tokens and tidies the separators left behind', () => {
    expect(stripLoraTokens('<lora:a:1> a cat, <lora:b:0.5>, sitting <lora:c:1>')).toBe('a cat, sitting');
  });
});
