import { describe, expect, it } from 'vitest';
import { resultState, tileImages } from './result-view.ts';

const image = (index: number, thumb = true) => ({
  index,
  url: `/img/${index}`,
  thumbnail_url: thumb ? `/thumb/${index}` : null,
  width: 64,
  height: 64,
  content_type: 'image/png',
  size: 1,
  seed: 100 + index,
});

describe('result tiles', () => {
  it('calls a cancelled job cancelled, not failed', () => {
    expect(resultState({ status: 'failed', raw_status: 'cancelled' })).toBe('cancelled');
    expect(resultState({ status: 'failed', raw_status: 'failed' })).toBe('failed');
    expect(resultState({ status: 'failed' })).toBe('failed');
    expect(resultState({ status: 'completed', raw_status: 'succeeded' })).toBe('done');
    expect(resultState({ status: 'processing', raw_status: 'retrying' })).toBe('running');
  });

  it('shows every image of a small batch and counts the rest of a big one', () => {
    expect(tileImages({ images: [image(0), image(1, false)], thumbnail_url: '/thumb/0' })).toEqual({ urls: ['/thumb/0', '/img/1'], more: 0 });
    const six = tileImages({ images: [0, 1, 2, 3, 4, 5].map((i) => image(i)), thumbnail_url: '/thumb/0' });
    expect(six.urls).toHaveLength(4);
    expect(six.more).toBe(2);
    expect(tileImages({ images: [], thumbnail_url: null })).toEqual({ urls: [], more: 0 });
  });
});
