import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { useNativeCrc32ForYazl } from './zip-crc.ts';

describe('native CRC-32 for yazl', () => {
  it('gives exactly what buffer-crc32 gives, in one piece and chained over chunks', () => {
    const crc = createRequire(createRequire(import.meta.url).resolve('yazl'))('buffer-crc32') as { unsigned: (b: Buffer, p?: number) => number };
    const original = crc.unsigned.bind(crc);
    const samples = [Buffer.alloc(0), Buffer.from('123456789'), randomBytes(1), randomBytes(70_001)];
    const expected = samples.map((b) => original(b));
    const chained = original(samples[3].subarray(30_000), original(samples[3].subarray(0, 30_000)));
    useNativeCrc32ForYazl();
    expect(crc.unsigned).not.toBe(original);
    expect(samples.map((b) => crc.unsigned(b))).toEqual(expected);
    expect(crc.unsigned(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc.unsigned(samples[3].subarray(30_000), crc.unsigned(samples[3].subarray(0, 30_000)))).toBe(chained);
  });
});
