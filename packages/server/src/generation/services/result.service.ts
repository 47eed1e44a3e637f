import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { JOB_STATUSES, type GenerationResultSummary, type ResultListQuery } from '@lora-manager/contract';
import yazl from 'yazl';
import type { DeliveryAdapterTable, GenerationImageTable } from '../../db/tables.ts';
import { AppError, NotFoundError } from '../../errors.ts';
import type { JobQueue } from '../../jobs/job-queue.ts';
import type { Clock } from '../../lib/clock.ts';
import { resultUrls, uiStatus } from '../../lib/generation-params.ts';
import { normaliseIso, toIso } from '../../lib/time.ts';
import { isActiveStatus } from '../../lib/job-statuses.ts';
import type { DeliveryRepository, DeliveryWithJob } from '../repositories/delivery.repository.ts';
import type { GenerationResultRepository, ResultFilter } from '../repositories/generation-result.repository.ts';
import { parseJson, toJobStatus } from './generation.service.ts';
import type { OutputStore } from './output-store.ts';

const SORTS: Record<string, ResultFilter['sort']> = {
  newest: 'newest',
  created_at_desc: 'newest',
  created_at: 'newest',
  oldest: 'oldest',
  created_at_asc: 'oldest',
  prompt: 'prompt',
  prompt_asc: 'prompt',
  prompt_desc: 'prompt_desc',
  rating: 'rating',
  rating_desc: 'rating',
  rating_asc: 'rating_asc',
};

export interface ResultFile {
  path: string;
  filename: string;
  contentType: string;
  size: number;
}

/** Told when results are rated or (un)favourited: analytics keeps per-LoRA rating averages from it. */
export interface ResultFeedbackListener {
  resultFeedbackChanged(jobId: string): Promise<void>;
}

/** The generation history: list, rate, favourite, download, export and delete results and their files. */
export class ResultService {
  constructor(
    private readonly deliveries: DeliveryRepository,
    private readonly results: GenerationResultRepository,
    private readonly queue: JobQueue,
    private readonly outputs: OutputStore,
    private readonly clock: Clock,
    private readonly feedback: ResultFeedbackListener | null = null,
  ) {}

  private async feedbackChanged(ids: readonly string[]): Promise<void> {
    if (!this.feedback) return;
    for (const id of ids) await this.feedback.resultFeedbackChanged(id);
  }

  async list(query: ResultListQuery): Promise<{ items: GenerationResultSummary[]; total: number; page: number; page_size: number; pages: number }> {
    const paged = query.page !== undefined || query.page_size !== undefined;
    const size = query.page_size ?? query.limit ?? 20;
    const page = query.page ?? 1;
    const offset = paged ? (page - 1) * size : (query.offset ?? 0);
    const statuses = query.status === 'failed' ? ['failed', 'cancelled'] : query.status === 'all' ? [...JOB_STATUSES] : ['succeeded'];
    const { rows, total } = await this.results.listResults({
      statuses,
      search: query.search?.trim() || undefined,
      minRating: query.min_rating,
      favoritesOnly: query.favorites_only,
      width: query.width,
      height: query.height,
      from: query.start_date ? dayBound('start_date', query.start_date, 'start') : undefined,
      before: query.end_date ? dayBound('end_date', query.end_date, 'end') : undefined,
      adapterId: query.adapter_id,
      sort: SORTS[query.sort?.trim().toLowerCase() ?? 'newest'] ?? 'newest',
      limit: size,
      offset,
    });
    return { items: await this.summaries(rows), total, page: paged ? page : Math.floor(offset / size) + 1, page_size: size, pages: Math.ceil(total / size) };
  }

  private async summaries(rows: readonly DeliveryWithJob[]): Promise<GenerationResultSummary[]> {
    const ids = rows.map((r) => r.id);
    const [images, adapters] = await Promise.all([this.results.imagesFor(ids), this.deliveries.adaptersFor(ids)]);
    return rows.map((row) => toSummary(row, images.get(row.id) ?? [], adapters.get(row.id) ?? []));
  }

  async get(id: string): Promise<GenerationResultSummary> {
    const row = await this.deliveries.findById(id);
    if (!row) throw new NotFoundError('result_not_found', 'Result not found');
    return (await this.summaries([row]))[0];
  }

  async rate(id: string, rating: number | null): Promise<GenerationResultSummary> {
    if (!(await this.results.setRating(id, rating, toIso(this.clock.now())))) throw new NotFoundError('result_not_found', 'Result not found');
    await this.feedbackChanged([id]);
    return this.get(id);
  }

  async favorite(id: string, isFavorite: boolean): Promise<GenerationResultSummary> {
    if ((await this.results.setFavorite([id], isFavorite, toIso(this.clock.now()))) === 0) throw new NotFoundError('result_not_found', 'Result not found');
    await this.feedbackChanged([id]);
    return this.get(id);
  }

  async bulkFavorite(ids: ReadonlyArray<string | number>, isFavorite: boolean): Promise<{ updated: number }> {
    const unique = uniqueIds(ids);
    const updated = await this.results.setFavorite(unique, isFavorite, toIso(this.clock.now()));
    if (updated > 0) await this.feedbackChanged(unique);
    return { updated };
  }

  async delete(id: string): Promise<void> {
    if ((await this.deleteMany([id])) === 0) throw new NotFoundError('result_not_found', 'Result not found');
  }

  /** Delete results of any status with their files; unknown ids are ignored. A running job is cancelled first. */
  async deleteMany(input: ReadonlyArray<string | number>): Promise<number> {
    const ids = await this.results.existingIds(uniqueIds(input));
    if (ids.length === 0) return 0;
    for (const row of await this.deliveries.findByIds(ids)) {
      if (isActiveStatus(row.status)) await this.queue.cancel(row.id).catch(() => undefined);
    }
    const deleted = await this.results.deleteWithJobs(ids);
    for (const id of ids) await this.outputs.removeJob(id);
    return deleted;
  }

  /** One stored image (or its thumbnail; the image itself when there is none). */
  async imageFile(id: string, index: number, thumbnail = false): Promise<ResultFile> {
    const image = await this.results.image(id, index);
    if (!image) {
      if (!(await this.deliveries.findRow(id))) throw new NotFoundError('result_not_found', 'Result not found');
      throw new NotFoundError('image_not_found', 'Result asset is unavailable');
    }
    const wanted = thumbnail && image.thumbnail ? image.thumbnail : image.file;
    const absolute = (await this.outputs.resolve(wanted)) ?? (wanted !== image.file ? await this.outputs.resolve(image.file) : null);
    if (!absolute) throw new NotFoundError('image_not_found', 'Result asset is unavailable');
    const size = (await fs.promises.stat(absolute)).size;
    const contentType = absolute.endsWith('.webp') ? 'image/webp' : image.content_type;
    return { path: absolute, filename: downloadName(id, index, absolute), contentType, size };
  }

  /** The first image of a result (or the one at `index`) for download. */
  async download(id: string, index = 0): Promise<ResultFile> {
    if (!(await this.deliveries.findRow(id))) throw new NotFoundError('result_not_found', 'Result not found');
    return this.imageFile(id, index);
  }

  /**
   * A ZIP of the chosen results, streamed: `results/<id>/metadata.json` and `results/<id>/<NNN>_<file>` per result,
   * and a `manifest.json` listing every entry (the original built the manifest but never wrote it).
   */
  async export(input: ReadonlyArray<string | number>, includeMetadata = true): Promise<{ filename: string; stream: Readable }> {
    const rows = await this.deliveries.findByIds(uniqueIds(input));
    if (rows.length === 0) throw new NotFoundError('results_not_found', 'No results found');
    const images = await this.results.imagesFor(rows.map((r) => r.id));
    const zip = new yazl.ZipFile();
    const now = this.clock.now();
    const manifest: { generated_at: string; count: number; results: unknown[] } = { generated_at: toIso(now), count: rows.length, results: [] };
    for (const row of rows) {
      const status = toJobStatus(row);
      const metadata: Record<string, unknown> = { id: row.id, prompt: row.prompt, status: row.status, created_at: row.created_at, finished_at: row.finished_at };
      if (includeMetadata) {
        Object.assign(metadata, {
          negative_prompt: row.negative_prompt,
          params: status.params,
          result: parseJson(row.result),
          generation_info: parseJson(row.generation_info),
          rating: row.rating,
          is_favorite: row.is_favorite === 1,
        });
      }
      zip.addBuffer(Buffer.from(JSON.stringify(metadata, null, 2)), `results/${row.id}/metadata.json`, { mtime: now });
      const assets: unknown[] = [];
      for (const image of images.get(row.id) ?? []) {
        const absolute = await this.outputs.resolve(image.file);
        if (!absolute) continue;
        const archivePath = `results/${row.id}/${String(image.idx).padStart(3, '0')}_${path.basename(absolute)}`;
        // PNGs are already compressed; deflating them again costs time for nothing.
        zip.addFile(absolute, archivePath, { compress: !/\.(png|jpe?g|webp)$/i.test(absolute) });
        assets.push({ filename: path.basename(absolute), archive_path: archivePath, content_type: image.content_type, size: Number(image.bytes) });
      }
      manifest.results.push({ id: row.id, prompt: row.prompt, status: row.status, created_at: row.created_at, finished_at: row.finished_at, assets });
    }
    zip.addBuffer(Buffer.from(JSON.stringify(manifest, null, 2)), 'manifest.json', { mtime: now });
    zip.end();
    const stamp = toIso(now).replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
    return { filename: `generation-results-${stamp}.zip`, stream: zip.outputStream as unknown as Readable };
  }
}

export function toSummary(row: DeliveryWithJob, images: readonly GenerationImageTable[], adapters: readonly DeliveryAdapterTable[]): GenerationResultSummary {
  const result = parseJson(row.result) as Record<string, unknown> | null;
  const first = images[0];
  const error = toJobStatus(row).error;
  return {
    id: row.id,
    job_id: row.id,
    prompt: row.prompt,
    negative_prompt: row.negative_prompt,
    status: uiStatus(row.status),
    raw_status: row.status,
    image_url: first ? resultUrls.image(row.id, first.idx) : null,
    thumbnail_url: first ? (first.thumbnail ? resultUrls.thumbnail(row.id, first.idx) : resultUrls.image(row.id, first.idx)) : null,
    width: row.width,
    height: row.height,
    steps: row.steps,
    cfg_scale: row.cfg_scale === null ? null : Number(row.cfg_scale),
    seed: row.seed === null ? null : Number(row.seed),
    sampler_name: row.sampler_name,
    backend: row.backend,
    created_at: row.created_at,
    finished_at: row.finished_at,
    generation_info: parseJson(row.generation_info) ?? (result?.generation_info as unknown) ?? null,
    rating: row.rating,
    is_favorite: row.is_favorite === 1,
    rating_updated_at: row.rating_updated_at,
    favorite_updated_at: row.favorite_updated_at,
    images: images.map((img) => ({
      index: img.idx,
      url: resultUrls.image(row.id, img.idx),
      thumbnail_url: img.thumbnail ? resultUrls.thumbnail(row.id, img.idx) : null,
      width: img.width,
      height: img.height,
      content_type: img.content_type,
      size: Number(img.bytes),
      seed: img.seed === null ? null : Number(img.seed),
    })),
    adapters: adapters.map((a) => ({ id: a.adapter_id, name: a.name, weight: Number(a.weight) })),
    recipe_id: row.recipe_id ?? null,
    error,
  };
}

function uniqueIds(ids: ReadonlyArray<string | number>): string[] {
  return [...new Set(ids.map((id) => String(id).trim()).filter(Boolean))];
}

function downloadName(id: string, index: number, file: string): string {
  return `${id}-${String(index).padStart(3, '0')}${path.extname(file)}`;
}

/** A date (`2025-01-31`) covers the whole UTC day: `start` is its first instant, `end` the first instant after it. */
function dayBound(name: string, value: string, edge: 'start' | 'end'): string {
  const trimmed = value.trim();
  const invalid = () => new AppError(422, 'validation_failed', 'The request is not valid', `${name} must be a date (YYYY-MM-DD) or a date-time (got "${value}")`);
  if (/^\d{4}-\d{2}-\d{2}$/.test(trimmed)) {
    const start = Date.parse(`${trimmed}T00:00:00Z`);
    if (Number.isNaN(start)) throw invalid();
    return toIso(edge === 'start' ? start : start + 86_400_000);
  }
  const iso = normaliseIso(trimmed);
  if (!iso) throw invalid();
  return edge === 'start' ? iso : toIso(Date.parse(iso) + 1);
}
