import { ignoreAdapterChanges, type AdaptersChanged } from '../../events/adapter-changes.ts';
import { randomUUID } from 'node:crypto';
import {
  ADAPTER_SORT_KEYS,
  type Adapter,
  type AdapterFacets,
  type AdapterMatch,
  type AdapterCreate,
  type AdapterListQuery,
  type AdapterPage,
  type AdapterPatch,
  type AdapterSortKey,
  type BulkRequest,
  type BulkResult,
} from '@lora-manager/contract';
import { AppError, BadRequestError, NotFoundError } from '../../errors.ts';
import { consistentSdVersion } from '../../lib/base-models.ts';
import type { Clock } from '../../lib/clock.ts';
import { matchReason } from '../../lib/search-match.ts';
import { parseTagFilter } from '../../lib/tags.ts';
import { normaliseIso } from '../../lib/time.ts';
import type { AdapterRepository } from '../repositories/adapter.repository.ts';
import type { LibraryRootsService } from './library-roots.service.ts';

export const MAX_PER_PAGE = 200;
const DEFAULT_PER_PAGE = 24;
/** Sorts whose natural reading is ascending; every other key defaults to newest/largest first, as the original did. */
const ASCENDING_BY_DEFAULT = new Set<AdapterSortKey>(['name', 'base_model', 'ordinal']);
const SORT_ALIASES: Record<string, AdapterSortKey> = { last_updated: 'updated_at', size: 'file_size', most_used: 'use_count', last_used: 'last_used_at' };

/** Parse `sort` (incl. the original SPA's `name_asc` style) and `order` into a key and a direction. */
export function parseSort(sort: string | undefined, order: 'asc' | 'desc' | undefined): { key: AdapterSortKey; order: 'asc' | 'desc' } {
  let raw = (sort ?? 'name').trim().toLowerCase();
  let direction: 'asc' | 'desc' | undefined;
  const suffixed = /^(.+)_(asc|desc)$/.exec(raw);
  if (suffixed) {
    raw = suffixed[1];
    direction = suffixed[2] as 'asc' | 'desc';
  }
  const alias = SORT_ALIASES[raw] ?? raw;
  const key = (ADAPTER_SORT_KEYS as readonly string[]).includes(alias) ? (alias as AdapterSortKey) : 'name';
  return { key, order: order ?? direction ?? (ASCENDING_BY_DEFAULT.has(key) ? 'asc' : 'desc') };
}

/** The rules of the adapter catalogue: creation checks, filters, activation, bulk edits. */
export class AdapterService {
  constructor(
    private readonly adapters: AdapterRepository,
    private readonly roots: LibraryRootsService,
    private readonly clock: Clock,
    /** Told which fields a user changed (the library keeps rescans and CivitAI off them, and may write sidecars). */
    private readonly onPatched?: (adapter: Adapter, fields: string[]) => Promise<void>,
    /** Told which adapters were added, changed or deleted (recommendation features follow them). */
    private readonly onChanged: AdaptersChanged = ignoreAdapterChanges,
  ) {}

  async create(input: AdapterCreate): Promise<Adapter> {
    const file = await this.roots.resolveFile(input.file_path);
    const version = input.version ?? null;
    if (await this.adapters.existsWithNameVersion(input.name, version)) {
      throw new BadRequestError('adapter_exists', 'adapter with this name and version already exists');
    }
    const now = this.now();
    const { tags, primary_file_size_kb: sizeKb, published_at: publishedAt, ...fields } = input;
    const id = randomUUID();
    // What the client gave is its own: a scan of the file later fills only the rest (never the name from the stem).
    const given = Object.keys(input).filter((k) => input[k as keyof AdapterCreate] !== undefined && k !== 'file_path' && k !== 'tags');
    await this.adapters.insert(
      {
        ...fields,
        id,
        version,
        file_path: file.path,
        weight: input.weight ?? 1,
        trained_words: input.trained_words ?? [],
        triggers: input.triggers ?? [],
        published_at: normaliseIso(publishedAt),
        primary_file_size_kb: sizeKb === undefined || sizeKb === null ? Math.round(file.size / 1024) : Math.round(Number(sizeKb)),
        library_root: file.root,
        relative_path: file.relativePath,
        file_size: file.size,
        file_mtime: file.mtime.toISOString(),
        created_at: now,
        updated_at: now,
      },
      tags ?? [],
      given,
    );
    await this.onChanged([id]);
    return this.get(id);
  }

  async get(id: string): Promise<Adapter> {
    const adapter = await this.adapters.findById(id);
    if (!adapter) throw new NotFoundError('adapter_not_found', 'adapter not found');
    return adapter;
  }

  async list(query: AdapterListQuery): Promise<AdapterPage> {
    const perPage = Math.min(Math.max(query.per_page ?? DEFAULT_PER_PAGE, 1), MAX_PER_PAGE);
    const page = Math.max(query.page ?? 1, 1);
    const { key, order } = parseSort(query.sort, query.order);
    const search = query.search?.trim() ? query.search : undefined;
    // With a search, the best matches come first unless the user picked an order.
    const rawSort = query.sort?.trim().toLowerCase();
    const relevance = !!search && (rawSort === undefined || rawSort === '' || rawSort === 'relevance');
    const [total, { items, filtered }] = await Promise.all([
      this.adapters.count(),
      this.adapters.list({
        search: query.search,
        activeOnly: query.active_only ?? query.active ?? false,
        tagKeys: parseTagFilter(query.tags),
        tagMode: query.tag_mode ?? 'any',
        favoritesOnly: query.favorites_only,
        missing: query.missing,
        baseModel: query.base_model,
        networkType: query.network_type,
        minRating: query.min_rating,
        neverUsed: query.never_used,
        sort: relevance ? 'relevance' : key,
        order,
        limit: perPage,
        offset: (page - 1) * perPage,
      }),
    ]);
    const page_ = { items, total, filtered, page, per_page: perPage, pages: Math.ceil(filtered / perPage) };
    if (!search) return page_;
    const matches: Record<string, AdapterMatch> = {};
    for (const adapter of items) {
      const reason = matchReason(adapter, search);
      if (reason) matches[adapter.id] = reason;
    }
    return { ...page_, matches };
  }

  async tags(): Promise<{ tags: string[]; tag_counts: Array<{ tag: string; count: number }> }> {
    const counts = await this.adapters.tagCounts();
    counts.sort((a, b) => a.tag.toLowerCase().localeCompare(b.tag.toLowerCase()) || a.tag.localeCompare(b.tag));
    return { tags: counts.map((c) => c.tag), tag_counts: counts };
  }

  /** What the library's filters can offer: the base models and network types in the catalogue, with counts. */
  async facets(): Promise<AdapterFacets> {
    return this.adapters.facets();
  }

  async patch(id: string, patch: AdapterPatch): Promise<Adapter> {
    const { tags, ...fields } = patch;
    if (Object.keys(patch).length === 0) {
      throw new BadRequestError('empty_patch', 'No valid fields provided for update');
    }
    // A new base model without a version of its own moves the version with it (the original's sd_version never
    // contradicts base_model); only the base model becomes the user's, the version stays derived.
    const derived = fields.base_model !== undefined && fields.sd_version === undefined ? { sd_version: consistentSdVersion(null, fields.base_model) } : {};
    // The edited fields become the user's in the edit's own statement: a scan running meanwhile cannot write over them.
    const updated = await this.adapters.transaction((repo) => repo.update(id, { ...fields, ...derived, updated_at: this.now() }, tags, Object.keys(fields)));
    if (!updated) throw new NotFoundError('adapter_not_found', 'adapter not found');
    await this.onChanged([id]);
    const adapter = await this.get(id);
    if (this.onPatched) await this.onPatched(adapter, Object.keys(patch));
    return adapter;
  }

  async delete(id: string): Promise<void> {
    const [deleted] = await this.adapters.deleteByIds([id]);
    if (!deleted) throw new NotFoundError('adapter_not_found', 'adapter not found');
    await this.onChanged([id]);
  }

  async activate(id: string, ordinal?: number): Promise<Adapter> {
    if (!(await this.adapters.setActive(id, true, ordinal, this.now()))) throw new NotFoundError('adapter_not_found', 'adapter not found');
    return this.get(id);
  }

  async deactivate(id: string): Promise<Adapter> {
    if (!(await this.adapters.setActive(id, false, undefined, this.now()))) throw new NotFoundError('adapter_not_found', 'adapter not found');
    return this.get(id);
  }

  /** One action over many adapters in one transaction; ids that do not exist are reported, not fatal. */
  async bulk(request: BulkRequest): Promise<BulkResult> {
    const ids = [...new Set(request.lora_ids.map((id) => id.trim()).filter(Boolean))];
    const tags = request.tags ?? [];
    if ((request.action === 'add_tags' || request.action === 'remove_tags') && tags.length === 0) {
      throw new AppError(422, 'validation_failed', `tags is required for ${request.action}`);
    }
    if (request.action === 'set_nsfw_level' && request.nsfw_level === undefined) {
      throw new AppError(422, 'validation_failed', 'nsfw_level is required for set_nsfw_level');
    }
    if (ids.length === 0) return { success: true, action: request.action, processed: 0, ids: [], not_found: [] };
    const now = this.now();
    const processed = await this.adapters.transaction(async (repo): Promise<string[]> => {
      switch (request.action) {
        case 'activate':
        case 'deactivate':
          return repo.setFlag(ids, 'active', request.action === 'activate', now);
        case 'favorite':
        case 'unfavorite':
          return repo.setFlag(ids, 'favorite', request.action === 'favorite', now);
        case 'delete':
          return repo.deleteByIds(ids);
        case 'add_tags':
          return repo.addTags(ids, tags, now);
        case 'remove_tags':
          return repo.removeTags(ids, tags, now);
        case 'set_nsfw_level':
          return repo.setNsfwLevel(ids, request.nsfw_level!, now);
        default:
          throw new AppError(422, 'validation_failed', `unknown bulk action ${String(request.action)}`);
      }
    });
    if (!request.action.endsWith('activate')) await this.onChanged(processed);
    const done = new Set(processed);
    return {
      success: true,
      action: request.action,
      processed: processed.length,
      ids: ids.filter((id) => done.has(id)),
      not_found: ids.filter((id) => !done.has(id)),
    };
  }

  private now(): string {
    return this.clock.now().toISOString();
  }
}
