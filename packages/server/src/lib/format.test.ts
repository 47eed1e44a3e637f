import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration } from './format.ts';

describe('formatBytes / formatDuration', () => {
  it('writes sizes the way the original did', () => {
    expect(formatBytes(0)).toBe('0 Bytes');
    expect(formatBytes(512)).toBe('512 Bytes');
    expect(formatBytes(1966)).toBe('1.92 KB');
    expect(formatBytes(5 * 1024 ** 3)).toBe('5.00 GB');
  });

  it('writes durations the way the original did', () => {
    expect(formatDuration(0)).toBe('0 seconds');
    expect(formatDuration(0.2)).toBe('1 seconds');
    expect(formatDuration(59.1)).toBe('60 seconds');
    expect(formatDuration(61)).toBe('2 minutes');
  });
});
