import type { ExportConfig, ExportEstimate, ExportFile, Job } from '@lora-manager/contract';
import { defineStore } from 'pinia';
import { reactive, ref } from 'vue';
import { isFinished } from '../../../lib/job-status.ts';
import { LARGE_ARCHIVE_BYTES } from '../lib/display.ts';
import { failureMessage, unsuccessful, useArchiveJobs } from './archive-jobs.ts';

/**
 * The export screen: the options, their estimate, the export job it follows and the archives made so far. Metadata
 * is the default (the LoRA files of a real library are hundreds of GB); an export above LARGE_ARCHIVE_BYTES shows its
 * size and waits for a second click.
 */
export const useArchiveExportStore = defineStore('archive-export', () => {
  const { api, follow, resume, cancel } = useArchiveJobs();

  const exportConfig = reactive<ExportConfig>({
    loras: true,
    lora_files: false,
    lora_metadata: true,
    previews: true,
    system_config: false,
    user_data: false,
    generations: false,
    generation_images: true,
    compression: 'balanced',
    tags: [],
    tag_mode: 'any',
    adapter_date_from: null,
    adapter_date_to: null,
  });
  const estimate = ref<ExportEstimate | null>(null);
  /** The options changed since `estimate` was computed: it is shown as outdated until the new one arrives. */
  const estimateStale = ref(false);
  const exportJob = ref<Job | null>(null);
  const exports = ref<ExportFile[]>([]);
  const exportError = ref<string | null>(null);
  /** A large export waiting for the user to confirm its size. */
  const confirmSize = ref<ExportEstimate | null>(null);
  let estimateSeq = 0;

  async function refreshEstimate(): Promise<void> {
    const seq = ++estimateSeq;
    estimateStale.value = true;
    confirmSize.value = null;
    try {
      const next = await api.estimate({ ...exportConfig });
      if (seq !== estimateSeq) return; // an answer to older options
      estimate.value = next;
      exportError.value = null;
    } catch (error) {
      if (seq !== estimateSeq) return;
      estimate.value = null;
      exportError.value = failureMessage(error);
    } finally {
      if (seq === estimateSeq) estimateStale.value = false;
    }
  }

  /** Start the export; a large one asks first (`confirmed` is the second click). */
  async function startExport(confirmed = false): Promise<void> {
    exportError.value = null;
    if (!confirmed) {
      if (estimateStale.value || !estimate.value) await refreshEstimate();
      if (estimate.value && estimate.value.bytes > LARGE_ARCHIVE_BYTES) {
        confirmSize.value = estimate.value;
        return;
      }
    }
    confirmSize.value = null;
    exportError.value = null; // an estimate that could not be made does not stop the export: the server checks again
    try {
      const { job } = await api.startExport({ ...exportConfig });
      await finish(await follow(job, (j) => (exportJob.value = j)));
    } catch (error) {
      exportError.value = failureMessage(error);
    }
  }

  async function finish(done: Job): Promise<void> {
    const failed = unsuccessful(done, 'export');
    if (failed) exportError.value = failed;
    await loadExports();
  }

  /** Follow an export that runs already (started before this page was opened). */
  async function resumeRunning(): Promise<void> {
    if (exportJob.value && !isFinished(exportJob.value.status)) return;
    const done = await resume(['archive.export'], (j) => (exportJob.value = j));
    if (done) await finish(done);
  }

  async function loadExports(): Promise<void> {
    exports.value = await api.exports();
  }

  async function deleteExport(exportId: string): Promise<void> {
    await api.deleteExport(exportId);
    await loadExports();
  }

  return {
    api,
    exportConfig,
    estimate,
    estimateStale,
    exportJob,
    exports,
    exportError,
    confirmSize,
    refreshEstimate,
    startExport,
    resumeRunning,
    loadExports,
    deleteExport,
    cancel,
  };
});
