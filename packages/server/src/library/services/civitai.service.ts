import { ignoreAdapterChanges, type AdaptersChanged } from '../../events/adapter-changes.ts';
import fs from 'node:fs';
import path from 'node:path';
import type { Adapter, CivitaiRefreshResult } from '@lora-manager/contract';
import type { Logger } from 'pino';
import { ConflictError } from '../../errors.ts';
import type { Clock } from '../../lib/clock.ts';
import { readVersion, stripHtml, type SidecarFacts } from '../../lib/sidecars.ts';
import type { AdapterFields, AdapterRepository } from '../repositories/adapter.repository.ts';
import type { LibraryRepository } from '../repositories/library.repository.ts';
import { CivitaiUnreachableError, type CivitaiClient, type CivitaiRecord } from './civitai.client.ts';
import type { LibraryCivitaiResult } from '../../jobs/job-catalogue.ts';
import type { LibrarySettingsService } from './library-settings.service.ts';

/** A batch's outcome is what the CivitAI job stores (the catalogue's `LibraryCivitaiResult`). */
export type CivitaiBatchSummary = LibraryCivitaiResult;

const MAX_PREVIEW_BYTES = 20 * 1024 * 1024;
const LOOKUP_BATCH = 100;

/** What CivitaiService needs; one object, so call sites name each part. */
export interface CivitaiServiceOptions {
  client: CivitaiClient;
  adapters: AdapterRepository;
  library: LibraryRepository;
  settings: LibrarySettingsService;
  clock: Clock;
  logger: Logger;
  dataDir: string;
  /** Told which adapters a lookup filled. */
  onAdaptersChanged?: AdaptersChanged;
}

/**
 * Optional CivitAI enrichment (off until enabled: it sends file hashes to a third party). A lookup by hash fills
 * only empty fields and never a field the user edited; "not on CivitAI" is remembered, "unreachable" is retried by
 * the next refresh.
 */
export class CivitaiService {
  private readonly client: CivitaiClient;
  private readonly adapters: AdapterRepository;
  private readonly library: LibraryRepository;
  private readonly settings: LibrarySettingsService;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly dataDir: string;
  private readonly onAdaptersChanged: AdaptersChanged;

  constructor(options: CivitaiServiceOptions) {
    this.client = options.client;
    this.adapters = options.adapters;
    this.library = options.library;
    this.settings = options.settings;
    this.clock = options.clock;
    this.logger = options.logger;
    this.dataDir = options.dataDir;
    this.onAdaptersChanged = options.onAdaptersChanged ?? ignoreAdapterChanges;
  }

  /** Adapters a bulk refresh looks up: hashed ones never asked, or last found unreachable. */
  async candidates(retryNotFound: boolean): Promise<string[]> {
    return this.adapters.idsForCivitai(retryNotFound);
  }

  async refreshOne(id: string): Promise<CivitaiRefreshResult> {
    const summary = await this.refresh([id], {});
    return summary.results[0];
  }

  async refresh(
    ids: readonly string[],
    options: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void },
  ): Promise<CivitaiBatchSummary> {
    const settings = await this.settings.values();
    if (!settings.civitaiEnabled) {
      throw new ConflictError('civitai_disabled', 'CivitAI lookups are off; enable them in the library settings (they send file hashes to civitai.com)');
    }
    const call = { apiKey: settings.civitaiApiKey, signal: options.signal };
    const summary: CivitaiBatchSummary = { looked_up: 0, found: 0, not_found: 0, unreachable: 0, no_hash: 0, filled: 0, results: [] };
    let done = 0;
    for (let i = 0; i < ids.length; i += LOOKUP_BATCH) {
      const adapters = (await this.adapters.findByIds(ids.slice(i, i + LOOKUP_BATCH))).filter((a) => !a.missing);
      const withHash = adapters.filter((a) => lookupHash(a) !== null);
      for (const a of adapters.filter((x) => lookupHash(x) === null)) {
        summary.no_hash++;
        summary.results.push({ adapter_id: a.id, status: 'no_hash', filled: [], error: 'hash the file first' });
      }
      let versions: Map<string, CivitaiRecord>;
      let models = new Map<number, CivitaiRecord>();
      try {
        versions = await this.client.versionsByHash(withHash.map((a) => lookupHash(a)!), call);
        const modelIds = [...versions.values()].map((v) => v.modelId).filter((m): m is number => typeof m === 'number');
        if (modelIds.length > 0) models = await this.client.models(modelIds, call);
      } catch (error) {
        if (!(error instanceof CivitaiUnreachableError)) throw error;
        for (const a of withHash) {
          summary.unreachable++;
          summary.results.push({ adapter_id: a.id, status: 'unreachable', filled: [], error: error.message });
          await this.adapters.updateMany([{ id: a.id, changes: { civitai_status: 'unreachable', updated_at: this.now() } }]);
        }
        done += adapters.length;
        options.onProgress?.(done, ids.length);
        continue;
      }
      for (const a of withHash) {
        summary.looked_up++;
        const version = versions.get(lookupHash(a)!.toUpperCase());
        if (!version) {
          summary.not_found++;
          summary.results.push({ adapter_id: a.id, status: 'not_found', filled: [] });
          await this.adapters.updateMany([{ id: a.id, changes: { civitai_status: 'not_found', updated_at: this.now() } }]);
          await this.library.patch(a.id, { civitai_checked_at: this.now() });
          continue;
        }
        const model = typeof version.modelId === 'number' ? models.get(version.modelId) : undefined;
        const filled = await this.apply(a, version, model, call);
        summary.found++;
        summary.filled += filled.length;
        summary.results.push({ adapter_id: a.id, status: 'found', filled });
      }
      done += adapters.length;
      options.onProgress?.(done, ids.length);
    }
    return summary;
  }

  /** Fill what is empty and not the user's from a version record (and its model record). */
  private async apply(a: Adapter, version: CivitaiRecord, model: CivitaiRecord | undefined, call: { apiKey: string | null; signal?: AbortSignal }): Promise<string[]> {
    const facts: SidecarFacts = { trainedWords: [], tags: [], civitai: {}, sources: {}, errors: [] };
    readVersion(facts, version, 'civitai_info');
    const userFields = new Set((await this.adapters.userFields([a.id])).get(a.id) ?? []);
    const changes: Partial<AdapterFields> = {};
    const filled: string[] = [];
    const fill = <K extends keyof AdapterFields>(key: K, value: AdapterFields[K] | undefined) => {
      if (value === undefined || value === null || userFields.has(key)) return;
      const current = a[key as keyof Adapter];
      const empty = current === null || current === '' || (Array.isArray(current) && current.length === 0) || (key === 'nsfw_level' && current === 0);
      if (!empty) return;
      changes[key] = value;
      filled.push(key);
    };
    const creator = model && typeof model.creator === 'object' && model.creator ? (model.creator as Record<string, unknown>) : {};
    fill('version', facts.versionName);
    fill('description', stripHtml(typeof model?.description === 'string' ? model.description : undefined) ?? facts.description);
    fill('author_username', typeof creator.username === 'string' ? creator.username : facts.author);
    fill('published_at', facts.publishedAt);
    fill('trained_words', facts.trainedWords.length ? facts.trainedWords : undefined);
    fill('base_model', facts.baseModel);
    fill('nsfw_level', facts.nsfwLevel);
    fill('stats', facts.civitai.stats);
    fill('primary_file_sha256', facts.civitai.primaryFile?.sha256);
    fill('primary_file_download_url', facts.civitai.primaryFile?.downloadUrl);
    fill('civitai_model_id', facts.civitai.modelId);
    fill('civitai_version_id', facts.civitai.versionId);
    if (!a.preview_path) {
      const preview = await this.downloadPreview(a.id, version, call);
      if (preview) {
        changes.preview_path = preview;
        filled.push('preview_path');
      }
    }
    // Filled fields stay off anything the user set since `a` was read: the UPDATE tests the user's fields itself.
    await this.adapters.updateFromSources([{ id: a.id, changes: { ...changes, civitai_status: 'found', updated_at: this.now() } }]);
    const tags = Array.isArray(model?.tags) ? model.tags.filter((t): t is string => typeof t === 'string') : [];
    if (tags.length > 0) await this.adapters.addSourceTags([{ id: a.id, tags }]);
    const meta = await this.library.get(a.id);
    await this.library.patch(a.id, { civitai_checked_at: this.now(), ...(meta?.civitai ? {} : { civitai: JSON.stringify(version) }) });
    await this.onAdaptersChanged([a.id]);
    return filled;
  }

  /** The version's first still image, saved in the data directory (never in the library folder). */
  private async downloadPreview(id: string, version: CivitaiRecord, call: { apiKey: string | null; signal?: AbortSignal }): Promise<string | null> {
    const images = Array.isArray(version.images) ? (version.images as Array<Record<string, unknown>>) : [];
    const image = images.find((i) => typeof i.url === 'string' && (i.type === undefined || i.type === 'image') && (typeof i.nsfwLevel !== 'number' || i.nsfwLevel <= 2)) ?? null;
    if (!image) return null;
    try {
      const { bytes, contentType } = await this.client.image(image.url as string, MAX_PREVIEW_BYTES, call);
      const ext = { 'image/png': 'png', 'image/webp': 'webp', 'image/gif': 'gif' }[contentType.split(';')[0].trim()] ?? 'jpg';
      const dir = path.join(this.dataDir, 'previews', 'civitai');
      fs.mkdirSync(dir, { recursive: true });
      const file = path.join(dir, `${id}.${ext}`);
      fs.writeFileSync(file, bytes);
      return file;
    } catch (error) {
      this.logger.warn({ err: error, id }, 'could not download a CivitAI preview');
      return null;
    }
  }

  private now(): string {
    return this.clock.now().toISOString();
  }
}

/** CivitAI matches any stored file hash; the full SHA-256 is the one that names exactly this file. */
function lookupHash(a: Adapter): string | null {
  return a.sha256 ?? a.autov3 ?? null;
}
