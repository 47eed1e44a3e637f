import type { AdapterListQuery, AdapterSortKey } from '@lora-manager/contract';
import { ADAPTER_SORT_KEYS } from '@lora-manager/contract';

/** What the library page shows: every filter and the sort. It lives in the URL so a view can be bookmarked. */
export interface LibraryQuery {
  search: string;
  tags: string[];
  tagMode: 'any' | 'all';
  baseModel: string;
  networkType: string;
  activeOnly: boolean;
  favoritesOnly: boolean;
  missingOnly: boolean;
  /** Only LoRAs no finished generation used: what a large library cleans up first. */
  neverUsedOnly: boolean;
  minRating: number;
  /** `relevance` (best match first) is the default while searching; the server sorts by name without a search. */
  sort: LibrarySort;
  order: 'asc' | 'desc';
}

export type LibrarySort = AdapterSortKey | 'relevance';

export const DEFAULT_QUERY: LibraryQuery = {
  search: '',
  tags: [],
  tagMode: 'any',
  baseModel: '',
  networkType: '',
  activeOnly: false,
  favoritesOnly: false,
  missingOnly: false,
  neverUsedOnly: false,
  minRating: 0,
  sort: 'name',
  order: 'asc',
};

export const SORT_OPTIONS: Array<{ label: string; value: LibrarySort; order: 'asc' | 'desc' }> = [
  { label: 'Best match', value: 'relevance', order: 'asc' },
  { label: 'Name', value: 'name', order: 'asc' },
  { label: 'Date added', value: 'created_at', order: 'desc' },
  { label: 'Recently updated', value: 'updated_at', order: 'desc' },
  { label: 'File size', value: 'file_size', order: 'desc' },
  { label: 'Rating', value: 'rating', order: 'desc' },
  { label: 'Base model', value: 'base_model', order: 'asc' },
  { label: 'Published', value: 'published_at', order: 'desc' },
  { label: 'Composition order', value: 'ordinal', order: 'asc' },
  { label: 'Most used', value: 'use_count', order: 'desc' },
  { label: 'Last used', value: 'last_used_at', order: 'desc' },
];

type RouteQuery = Record<string, string | null | (string | null)[] | undefined>;

function first(value: RouteQuery[string]): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return v ?? undefined;
}

/** Read the page state from the URL; anything malformed falls back to the default. */
export function fromRouteQuery(route: RouteQuery): LibraryQuery {
  const q = { ...DEFAULT_QUERY, tags: [] as string[] };
  q.search = first(route.q) ?? '';
  q.tags = (first(route.tags) ?? '').split(',').map((t) => t.trim()).filter(Boolean);
  q.tagMode = first(route.tag_mode) === 'all' ? 'all' : 'any';
  q.baseModel = first(route.base_model) ?? '';
  q.networkType = first(route.network_type) ?? '';
  q.activeOnly = first(route.active) === '1';
  q.favoritesOnly = first(route.favorites) === '1';
  q.missingOnly = first(route.missing) === '1';
  q.neverUsedOnly = first(route.unused) === '1';
  const rating = Number(first(route.min_rating));
  q.minRating = Number.isInteger(rating) && rating >= 0 && rating <= 5 ? rating : 0;
  const sort = first(route.sort);
  q.sort = defaultSort(q.search);
  if (sort && (sort === 'relevance' || (ADAPTER_SORT_KEYS as readonly string[]).includes(sort))) q.sort = sort as LibrarySort;
  const order = first(route.order);
  q.order = order === 'desc' || order === 'asc' ? order : (SORT_OPTIONS.find((o) => o.value === q.sort)?.order ?? 'asc');
  return q;
}

/** The URL form: only what differs from the default, so a plain /library stays plain. */
export function toRouteQuery(q: LibraryQuery): Record<string, string> {
  const out: Record<string, string> = {};
  if (q.search) out.q = q.search;
  if (q.tags.length) out.tags = q.tags.join(',');
  if (q.tags.length && q.tagMode === 'all') out.tag_mode = 'all';
  if (q.baseModel) out.base_model = q.baseModel;
  if (q.networkType) out.network_type = q.networkType;
  if (q.activeOnly) out.active = '1';
  if (q.favoritesOnly) out.favorites = '1';
  if (q.missingOnly) out.missing = '1';
  if (q.neverUsedOnly) out.unused = '1';
  if (q.minRating > 0) out.min_rating = String(q.minRating);
  if (q.sort !== defaultSort(q.search)) out.sort = q.sort;
  const naturalOrder = SORT_OPTIONS.find((o) => o.value === q.sort)?.order ?? 'asc';
  if (q.order !== naturalOrder) out.order = q.order;
  return out;
}

/** The sort a view has unless the user picks one: best match while searching, name otherwise. */
export function defaultSort(search: string): LibrarySort {
  return search.trim() ? 'relevance' : 'name';
}

/**
 * The query with a new search. Starting a search moves a default name sort to best match; clearing it moves best
 * match back to name. A sort the user picked stays.
 */
export function withSearch(q: LibraryQuery, search: string): LibraryQuery {
  const next = { ...q, search };
  if (q.sort === defaultSort(q.search)) next.sort = defaultSort(search);
  if (next.sort === 'relevance' && !search.trim()) next.sort = 'name';
  if (next.sort !== q.sort) next.order = 'asc';
  return next;
}

/** The API form for GET /adapters. */
export function toApiQuery(q: LibraryQuery): AdapterListQuery {
  return {
    search: q.search.trim() || undefined,
    tags: q.tags.length ? q.tags.join(',') : undefined,
    tag_mode: q.tags.length ? q.tagMode : undefined,
    base_model: q.baseModel || undefined,
    network_type: q.networkType || undefined,
    active_only: q.activeOnly || undefined,
    favorites_only: q.favoritesOnly || undefined,
    missing: q.missingOnly || undefined,
    never_used: q.neverUsedOnly || undefined,
    min_rating: q.minRating > 0 ? q.minRating : undefined,
    sort: q.sort,
    order: q.order,
  };
}

/** How many filters narrow the view (for the badge on the filter button). */
export function activeFilterCount(q: LibraryQuery): number {
  return [q.tags.length > 0, !!q.baseModel, !!q.networkType, q.activeOnly, q.favoritesOnly, q.missingOnly, q.neverUsedOnly, q.minRating > 0].filter(Boolean).length;
}
