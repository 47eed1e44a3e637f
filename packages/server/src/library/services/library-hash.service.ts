import { ignoreAdapterChanges, type AdaptersChanged } from '../../events/adapter-changes.ts';
import fs from 'node:fs/promises';
import type { Adapter } from '@lora-manager/contract';
import type { Logger } from 'pino';
import type { LibraryHashResult } from '../../jobs/job-catalogue.ts';
import type { Clock } from '../../lib/clock.ts';
import { autov2, autov3, hashFile } from '../../lib/hashes.ts';
import type { AdapterRepository } from '../repositories/adapter.repository.ts';
import type { LibraryRepository } from '../repositories/library.repository.ts';
import type { LibraryTransaction } from './library-scan.service.ts';

export interface HashOptions {
  /** Default: every adapter whose hash is pending or failed. */
  adapterIds?: readonly string[];
  /** Hash again even when cached, and check an embedded sshs_model_hash against the data. */
  verify?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: { done: number; total: number; bytes: number; message: string }) => void;
}

/** The catalogue's hash result (`LibraryHashResult`), with the hashed adapters' ids rather than their count. */
export type HashSummary = Omit<LibraryHashResult, 'hashed_ids'> & { hashed_ids: string[] };

/** What LibraryHashService needs; one object, so call sites name each part. */
export interface LibraryHashOptions {
  adapters: AdapterRepository;
  library: LibraryRepository;
  transaction: LibraryTransaction;
  clock: Clock;
  logger: Logger;
  /** The file's real path when it lies inside the library roots, else null (LibraryRootsService.confine). */
  confine?: (file: string) => Promise<string | null>;
  /** Told which adapters a re-link merged. */
  onAdaptersChanged?: AdaptersChanged;
}

/**
 * Background hashing: full-file SHA-256 (and AutoV2 from it), AutoV1, and the tensor-data hash behind AutoV3 when
 * the header has no sshs_model_hash or a check is asked for. Results are cached by path, size and mtime, so an
 * unchanged file is never hashed twice, even after its adapter is deleted and found again.
 */
export class LibraryHashService {
  private readonly adapters: AdapterRepository;
  private readonly library: LibraryRepository;
  private readonly transaction: LibraryTransaction;
  private readonly onAdaptersChanged: AdaptersChanged;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly confine: (file: string) => Promise<string | null>;

  constructor(options: LibraryHashOptions) {
    this.adapters = options.adapters;
    this.library = options.library;
    this.transaction = options.transaction;
    this.onAdaptersChanged = options.onAdaptersChanged ?? ignoreAdapterChanges;
    this.clock = options.clock;
    this.logger = options.logger;
    this.confine = options.confine ?? (async (file) => file);
  }

  /** Mark adapters pending so the next hash job takes them (and say how many there are). */
  async pendingIds(): Promise<string[]> {
    return this.adapters.idsWithHashStatus(['pending', 'error']);
  }

  async hash(options: HashOptions = {}): Promise<HashSummary> {
    const ids = options.adapterIds ? [...new Set(options.adapterIds)] : await this.pendingIds();
    const summary: HashSummary = { hashed: 0, cached: 0, skipped: 0, failed: 0, relinked: 0, autov3_mismatches: 0, bytes: 0, errors: [], hashed_ids: [] };
    let done = 0;
    for (const id of ids) {
      options.signal?.throwIfAborted();
      const adapter = await this.adapters.findById(id);
      if (!adapter || adapter.missing) {
        summary.skipped++;
        done++;
        continue;
      }
      options.onProgress?.({ done, total: ids.length, bytes: summary.bytes, message: `hashing ${adapter.relative_path ?? adapter.file_path}` });
      try {
        await this.hashOne(adapter, options, summary, (bytes) =>
          options.onProgress?.({ done, total: ids.length, bytes: summary.bytes + bytes, message: `hashing ${adapter.relative_path ?? adapter.file_path}` }),
        );
      } catch (error) {
        if (options.signal?.aborted) throw error;
        const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (error as Error).message;
        summary.failed++;
        summary.errors.push({ adapter_id: id, path: adapter.file_path, reason });
        await this.adapters.updateMany([{ id, changes: { hash_status: 'error', updated_at: this.now() } }]);
        await this.library.patch(id, { hash_error: reason });
      }
      done++;
    }
    options.onProgress?.({ done, total: ids.length, bytes: summary.bytes, message: 'hashing finished' });
    this.logger.info({ ...summary, errors: summary.errors.length, hashed_ids: undefined }, 'hashing finished');
    return summary;
  }

  private async hashOne(adapter: Adapter, options: HashOptions, summary: HashSummary, onBytes: (n: number) => void): Promise<void> {
    const st = await fs.stat(adapter.file_path);
    // A catalogued file swapped for a link out of the roots is not read: its hash would tell about a file outside.
    if ((await this.confine(adapter.file_path)) === null) throw new Error('the file lies outside the library roots (a symbolic link leads out); not read');
    const mtime = st.mtime.toISOString();
    const meta = await this.library.get(adapter.id);
    const embedded = meta?.embedded_data_hash ?? null;
    const needData = options.verify === true || !embedded;
    let sha256: string;
    let v1: string;
    let dataHash: string | null;
    const cached = options.verify ? undefined : await this.library.cachedHash(adapter.file_path, st.size, mtime);
    if (cached && (!needData || cached.data_hash)) {
      sha256 = cached.sha256;
      v1 = cached.autov1;
      dataHash = cached.data_hash;
      summary.cached++;
    } else {
      await this.adapters.updateMany([{ id: adapter.id, changes: { hash_status: 'hashing', updated_at: this.now() } }]);
      const dataOffset = needData ? (meta?.data_offset ?? null) : null;
      const result = await hashFile(adapter.file_path, { dataOffset, signal: options.signal, onProgress: (n) => onBytes(n) });
      sha256 = result.sha256;
      v1 = result.autov1;
      dataHash = result.dataHash;
      summary.hashed++;
      summary.bytes += result.size;
      await this.library.putHash({ path: adapter.file_path, file_size: st.size, file_mtime: mtime, sha256, autov1: v1, data_hash: dataHash, computed_at: this.now() });
    }
    const verified = embedded && dataHash ? embedded === dataHash : null;
    if (verified === false) summary.autov3_mismatches++;
    // AutoV3 is what CivitAI derives from the embedded hash; our own data hash stands in when there is none.
    const v3 = embedded ? autov3(embedded) : dataHash ? autov3(dataHash) : null;
    await this.adapters.updateMany([{ id: adapter.id, changes: { sha256, autov1: v1, autov2: autov2(sha256), autov3: v3, hash_status: 'done', updated_at: this.now() } }]);
    await this.library.patch(adapter.id, { data_hash: dataHash, autov3_verified: verified === null ? (meta?.autov3_verified ?? null) : verified ? 1 : 0, hash_error: null });
    summary.hashed_ids.push(adapter.id);
    if (await this.relinkIfMoved(adapter, sha256)) summary.relinked++;
  }

  /**
   * A new adapter whose file hashes like a missing one's is that LoRA, moved or copied back: the missing adapter takes
   * the new file (keeping its id, history and the user's work) and the new one goes. Only a new adapter nobody has
   * touched is merged this way.
   */
  private async relinkIfMoved(adapter: Adapter, sha256: string): Promise<boolean> {
    const twins = (await this.adapters.findBySha256(sha256)).filter((a) => a.id !== adapter.id && a.missing);
    if (twins.length === 0 || !(await this.untouched(adapter))) return false;
    const old = twins[0];
    const meta = await this.library.get(adapter.id);
    await this.transaction(async ({ adapters, library }) => {
      await adapters.deleteByIds([adapter.id]);
      // The file's facts follow it; a preview or file name the user set on the old adapter stays.
      await adapters.updateFromSources([
        {
          id: old.id,
          changes: {
            file_path: adapter.file_path,
            library_root: adapter.library_root,
            relative_path: adapter.relative_path,
            file_size: adapter.file_size,
            file_mtime: adapter.file_mtime,
            primary_file_local_path: adapter.file_path,
            primary_file_name: adapter.primary_file_name,
            preview_path: old.preview_path && !(await exists(old.preview_path)) ? adapter.preview_path : (old.preview_path ?? adapter.preview_path),
            missing: false,
            hash_status: 'done',
            updated_at: this.now(),
          },
        },
      ]);
      if (meta) {
        const { adapter_id: _a, user_fields: _u, user_preview: _p, ...facts } = meta;
        await library.patch(old.id, facts);
      }
      await adapters.addSourceTags([{ id: old.id, tags: adapter.tags }]);
    });
    await this.onAdaptersChanged([adapter.id, old.id]);
    this.logger.info({ from: old.file_path, to: adapter.file_path, id: old.id }, 're-linked a moved LoRA by its hash');
    return true;
  }

  /** Created by a scan and not touched by the user since. */
  private async untouched(a: Adapter): Promise<boolean> {
    if (a.active || a.favorite || a.rating !== null || a.ordinal !== null) return false;
    const fields = (await this.adapters.userFields([a.id])).get(a.id) ?? [];
    return fields.length === 0 && !(await this.adapters.hasUserTags(a.id));
  }

  private now(): string {
    return this.clock.now().toISOString();
  }
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}
