import type { GenerationResultSummary } from '@lora-manager/contract';

export type ResultState = 'done' | 'cancelled' | 'failed' | 'running' | 'queued';

/** What a result without images is: cancelled by someone, failed on its own, or not finished yet. */
export function resultState(result: Pick<GenerationResultSummary, 'status' | 'raw_status'>): ResultState {
  if (result.raw_status === 'cancelled') return 'cancelled';
  if (result.status === 'failed') return 'failed';
  if (result.status === 'processing') return 'running';
  if (result.status === 'queued') return 'queued';
  return 'done';
}

/** The thumbnails a tile shows: up to four, so a batch reads as a batch; `more` counts the rest. */
export function tileImages(result: Pick<GenerationResultSummary, 'images' | 'thumbnail_url'>, limit = 4): { urls: string[]; more: number } {
  const urls = result.images.map((img) => img.thumbnail_url ?? img.url).slice(0, limit);
  if (urls.length === 0 && result.thumbnail_url) urls.push(result.thumbnail_url);
  return { urls, more: Math.max(0, result.images.length - limit) };
}
