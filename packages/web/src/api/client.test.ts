import { describe, expect, it } from 'vitest';
import { resolveUrl } from './client.ts';

describe('resolveUrl', () => {
  it('joins the configured base and the path, dropping empty query values', () => {
    expect(resolveUrl({ baseUrl: '/api/v1/', apiKey: null }, '/adapters', { search: 'x y', page: 2, tags: '' })).toBe(
      '/api/v1/adapters?search=x+y&page=2',
    );
  });

  it('targets another origin when the base is absolute', () => {
    expect(resolveUrl({ baseUrl: 'http://gpu-box:8000/api/v1', apiKey: 'k' }, 'health')).toBe('http://gpu-box:8000/api/v1/health');
  });
});
