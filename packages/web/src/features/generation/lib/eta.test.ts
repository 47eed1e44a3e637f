import { describe, expect, it } from 'vitest';
import { EtaTracker } from './eta.ts';

describe('ETA of a running generation', () => {
  it("uses the server's ETA while it moves", () => {
    const eta = new EtaTracker();
    expect(eta.observe('j', 1, 20, 19, 0)).toBe(19);
    expect(eta.observe('j', 2, 20, 18, 1000)).toBe(18);
  });

  it('falls back to the step rate when the server gives none', () => {
    const eta = new EtaTracker();
    expect(eta.observe('j', 2, 20, null, 0)).toBeNull();
    // 4 steps in 2 s: 0.5 s a step, 14 steps left.
    expect(eta.observe('j', 6, 20, null, 2000)).toBeCloseTo(7);
  });

  it('stops trusting a server ETA that does not move while steps advance', () => {
    const eta = new EtaTracker();
    eta.observe('j', 1, 21, 60, 0);
    eta.observe('j', 2, 21, 60, 1000);
    expect(eta.observe('j', 3, 21, 60, 2000)).toBeCloseTo(18);
  });

  it('starts measuring again when a new batch restarts the steps', () => {
    const eta = new EtaTracker();
    eta.observe('j', 1, 10, null, 0);
    eta.observe('j', 9, 10, null, 8000);
    expect(eta.observe('j', 1, 10, null, 9000)).toBeNull();
    expect(eta.observe('j', 3, 10, null, 10_000)).toBeCloseTo(3.5);
  });
});
