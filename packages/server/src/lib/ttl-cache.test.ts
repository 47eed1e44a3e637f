import { describe, expect, it } from 'vitest';
import { cachedFor } from './ttl-cache.ts';

describe('cachedFor', () => {
  it('runs the probe once per window and again after it', async () => {
    let t = 0;
    let calls = 0;
    const probe = cachedFor(5000, async () => ++calls, () => t);
    expect(await Promise.all([probe(), probe()])).toEqual([1, 1]);
    t = 4999;
    expect(await probe()).toBe(1);
    t = 5000;
    expect(await probe()).toBe(2);
  });

  it('does not keep a failure', async () => {
    let calls = 0;
    const probe = cachedFor(60_000, async () => {
      calls += 1;
      if (calls === 1) throw new Error('down');
      return 'up';
    });
    await expect(probe()).rejects.toThrow('down');
    expect(await probe()).toBe('up');
  });
});
