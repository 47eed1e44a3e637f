import { describe, expect, it } from 'vitest';
import { activeFilterCount, DEFAULT_QUERY, fromRouteQuery, toApiQuery, toRouteQuery, withSearch } from './library-query.ts';

describe('library query', () => {
  it('round-trips a filtered view through the URL', () => {
    const view = { ...DEFAULT_QUERY, search: 'ink', tags: ['style', 'anime'], tagMode: 'all' as const, baseModel: 'SDXL 1.0', favoritesOnly: true, minRating: 3, sort: 'rating' as const, order: 'asc' as const };
    const url = toRouteQuery(view);
    expect(url).toEqual({ q: 'ink', tags: 'style,anime', tag_mode: 'all', base_model: 'SDXL 1.0', favorites: '1', min_rating: '3', sort: 'rating', order: 'asc' });
    expect(fromRouteQuery(url)).toEqual(view);
  });

  it('keeps a plain library URL plain', () => {
    expect(toRouteQuery(DEFAULT_QUERY)).toEqual({});
    expect(fromRouteQuery({})).toEqual(DEFAULT_QUERY);
  });

  it('falls back to defaults on malformed values', () => {
    const q = fromRouteQuery({ sort: 'drop table', min_rating: '9', tag_mode: 'some', order: 'sideways' });
    expect(q.sort).toBe('name');
    expect(q.minRating).toBe(0);
    expect(q.tagMode).toBe('any');
    expect(q.order).toBe('asc');
  });

  it('asks the API with its own parameter names and nothing for unset filters', () => {
    expect(toApiQuery({ ...DEFAULT_QUERY, tags: ['a'], activeOnly: true, missingOnly: true, networkType: 'locon' })).toEqual({
      search: undefined,
      tags: 'a',
      tag_mode: 'any',
      base_model: undefined,
      network_type: 'locon',
      active_only: true,
      favorites_only: undefined,
      missing: true,
      min_rating: undefined,
      sort: 'name',
      order: 'asc',
    });
    expect(activeFilterCount({ ...DEFAULT_QUERY, tags: ['a'], activeOnly: true })).toBe(2);
  });

  it('ranks a search by best match unless the user picked a sort, and goes back to name when it is cleared', () => {
    const searching = withSearch(DEFAULT_QUERY, 'ink');
    expect(searching.sort).toBe('relevance');
    expect(toRouteQuery(searching)).toEqual({ q: 'ink' });
    expect(fromRouteQuery({ q: 'ink' }).sort).toBe('relevance');
    expect(toApiQuery(searching).sort).toBe('relevance');
    expect(withSearch(searching, '').sort).toBe('name');
    // A sort the user picked survives typing a search, and shows in the URL.
    const byRating = withSearch({ ...DEFAULT_QUERY, sort: 'rating', order: 'desc' }, 'ink');
    expect(byRating).toMatchObject({ sort: 'rating', order: 'desc' });
    const named = { ...searching, sort: 'name' as const };
    expect(toRouteQuery(named)).toEqual({ q: 'ink', sort: 'name' });
    expect(fromRouteQuery(toRouteQuery(named)).sort).toBe('name');
  });
});
