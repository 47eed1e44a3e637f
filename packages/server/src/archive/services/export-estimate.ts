import type { ExportEstimate } from '@lora-manager/contract';
import { formatBytes, formatDuration } from '../../lib/format.ts';
import type { ArchiveRepository } from '../repositories/archive.repository.ts';
import type { ExportOptions, ExportPlan } from './export-plan.ts';

/**
 * What an adapter's sidecars and previews weigh on average. The catalogue records the LoRA file's size but not those
 * of the files found next to it, so each real plan (every export and backup) teaches the estimator; before one has
 * run, the first estimate plans a small sample of the selection (a few stats per adapter) to learn from.
 */
export interface SideFileProfile {
  sidecarFiles: number;
  sidecarBytes: number;
  previewFiles: number;
  previewBytes: number;
  metadataBytes: number;
}

const TYPICAL: SideFileProfile = { sidecarFiles: 1.5, sidecarBytes: 24 * 1024, previewFiles: 1, previewBytes: 300 * 1024, metadataBytes: 4 * 1024 };
/** Adapters planned (their side files statted) to learn the averages when no export has run yet. */
const SAMPLE_SIZE = 40;
/** Per-entry header and central directory cost with zip64 extras. */
export const ENTRY_OVERHEAD = 30 + 46 + 24 + 32 + 9;
const ENTRY_PATH_BYTES = 2 * 60;
const RESULT_DOCUMENT_BYTES = 2 * 1024;

/**
 * Export estimates from the catalogue alone: one query over the selected adapters and one over the results, no file
 * touched, so the answer comes at once however large or slow the library disk is. Sizes of LoRA files and result
 * images are the recorded ones; sidecars and previews use the averages of the last plan.
 */
export class ExportEstimator {
  private profile: SideFileProfile = TYPICAL;
  private learned = false;

  constructor(
    private readonly archive: ArchiveRepository,
    /** Plans an export of these adapters (with sidecars and previews), for learning from a sample. */
    private readonly planSample: (ids: string[]) => Promise<ExportPlan>,
  ) {}

  /** Learn the side files' averages from a plan that statted every file. */
  learn(plan: ExportPlan): void {
    const adapters = plan.adapters.length;
    if (adapters === 0 || !plan.options.sidecars || !plan.options.previews) return;
    this.learned = true;
    let sidecarFiles = 0;
    let sidecarBytes = 0;
    let previewFiles = 0;
    let previewBytes = 0;
    let metadataBytes = 0;
    for (const adapter of plan.adapters) {
      metadataBytes += adapter.metadataBytes;
      for (const file of adapter.files) {
        if (file.kind === 'preview') {
          previewFiles += 1;
          previewBytes += file.size;
        } else if (file.kind === 'metadata' || file.kind === 'sidecar') {
          sidecarFiles += 1;
          sidecarBytes += file.size;
        }
      }
    }
    this.profile = {
      sidecarFiles: sidecarFiles / adapters,
      sidecarBytes: sidecarBytes / adapters,
      previewFiles: previewFiles / adapters,
      previewBytes: previewBytes / adapters,
      metadataBytes: metadataBytes / adapters,
    };
  }

  async estimate(options: ExportOptions, bytesPerSecond: number): Promise<ExportEstimate> {
    const ids = await this.archive.selectAdapterIds(options.selection);
    if (!this.learned && ids.length > 0 && (options.sidecars || options.previews)) {
      // Evenly spread over the selection (which is in name order), so one folder does not stand for all.
      const step = Math.max(1, Math.floor(ids.length / SAMPLE_SIZE));
      this.learn(await this.planSample(ids.filter((_, i) => i % step === 0).slice(0, SAMPLE_SIZE)));
    }
    const totals = await this.archive.adapterSizeTotals(ids);
    const p = this.profile;
    const n = totals.adapters;
    let fileCount = 0;
    let fileBytes = 0;
    if (options.files) {
      // A LoRA whose size is not recorded yet (not scanned) counts as the average of those that are.
      const average = totals.primaryCount > 0 ? totals.primaryBytes / totals.primaryCount : 0;
      fileCount += n;
      fileBytes += totals.primaryBytes + (n - totals.primaryCount) * average;
    }
    if (options.sidecars) {
      fileCount += Math.round(n * p.sidecarFiles);
      fileBytes += n * p.sidecarBytes;
    }
    if (options.previews) {
      fileCount += Math.round(n * p.previewFiles);
      fileBytes += n * p.previewBytes;
    }
    let resultCount = 0;
    if (options.results) {
      const results = await this.archive.resultSizeTotals({ from: options.resultsFrom, to: options.resultsTo });
      resultCount = results.results;
      if (options.resultImages) {
        fileCount += results.images;
        fileBytes += results.imageBytes;
      }
    }
    const entries = n + resultCount + fileCount + 1 + (options.settings ? 1 : 0) + (options.userData ? 1 : 0);
    const metadataBytes = n * p.metadataBytes + resultCount * RESULT_DOCUMENT_BYTES;
    // The manifest lists every file with its path and hash; each entry has its headers in the archive.
    const manifestBytes = 600 + n * 250 + fileCount * 450 + resultCount * 300;
    const bytes = Math.round(fileBytes + metadataBytes + manifestBytes + entries * (ENTRY_OVERHEAD + ENTRY_PATH_BYTES));
    const seconds = bytes / bytesPerSecond;
    return {
      size: formatBytes(bytes),
      time: formatDuration(seconds),
      bytes,
      seconds,
      adapter_count: n,
      file_count: fileCount,
      result_count: resultCount,
      approximate: true,
    };
  }
}
