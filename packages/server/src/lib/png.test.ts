import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { encodeChunks, isPng, pngSize, readChunks, readTextChunks, withTextChunk, PngError } from './png.ts';

async function smallPng(): Promise<Buffer> {
  return sharp({ create: { width: 3, height: 2, channels: 3, background: { r: 200, g: 10, b: 10 } } }).png().toBuffer();
}

describe('png chunks', () => {
  it('round-trips chunks and reads the size', async () => {
    const png = await smallPng();
    expect(isPng(png)).toBe(true);
    expect(encodeChunks(readChunks(png)).equals(png)).toBe(true);
    expect(pngSize(png)).toEqual({ width: 3, height: 2 });
  });

  it('writes a Latin-1 parameters chunk as tEXt that sharp and we can read back', async () => {
    const png = withTextChunk(await smallPng(), 'parameters', 'a cat\nSteps: 20, Sampler: Euler a, CFG scale: 7');
    expect(readChunks(png).some((c) => c.type === 'tEXt')).toBe(true);
    expect(readTextChunks(png).parameters).toBe('a cat\nSteps: 20, Sampler: Euler a, CFG scale: 7');
    const meta = await sharp(png).metadata();
    expect(meta.width).toBe(3);
    expect(meta.comments?.find((c) => c.keyword === 'parameters')?.text).toContain('a cat');
  });

  it('writes non-Latin-1 text as iTXt and replaces an existing keyword', async () => {
    let png = withTextChunk(await smallPng(), 'parameters', 'first');
    png = withTextChunk(png, 'parameters', '猫 '.repeat(600));
    const texts = readChunks(png).filter((c) => c.type === 'tEXt' || c.type === 'iTXt');
    expect(texts).toHaveLength(1);
    expect(texts[0].type).toBe('iTXt');
    expect(readTextChunks(png).parameters).toBe('猫 '.repeat(600));
  });

  it('rejects a damaged file', async () => {
    const png = await smallPng();
    const bad = Buffer.from(png);
    bad[20] ^= 0xff;
    expect(() => readChunks(bad)).toThrow(PngError);
    expect(() => readChunks(png.subarray(0, 30))).toThrow(PngError);
    expect(() => readChunks(Buffer.from('GIF89a'))).toThrow(/signature/);
  });
});
