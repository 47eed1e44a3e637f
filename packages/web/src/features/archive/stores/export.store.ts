import type { ExportConfig, ExportEstimate, ExportFile, Job } from '@lora-manager/contract';
import { defineStore } from 'pinia';
import { reactive, ref } from 'vue';
import { failureMessage, unsuccessful, useArchiveJobs } from './archive-jobs.ts';

/** The export screen: the options, their estimate, the export job it follows and the archives made so far. */
export const useArchiveExportStore = defineStore('archive-export', () => {
  const { api, follow, cancel } = useArchiveJobs();

  const exportConfig = reactive<ExportConfig>({
    loras: true,
    lora_files: true,
    lora_metadata: true,
    previews: true,
    system_config: false,
    generations: false,
    generation_images: true,
    compression: 'balanced',
    tags: [],
    tag_mode: 'any',
    adapter_date_from: null,
    adapter_date_to: null,
  });
  const estimate = ref<ExportEstimate | null>(null);
  const exportJob = ref<Job | null>(null);
  const exports = ref<ExportFile[]>([]);
  const exportError = ref<string | null>(null);

  async function refreshEstimate(): Promise<void> {
    try {
      estimate.value = await api.estimate({ ...exportConfig });
      exportError.value = null;
    } catch (error) {
      estimate.value = null;
      exportError.value = failureMessage(error);
    }
  }

  async function startExport(): Promise<void> {
    exportError.value = null;
    try {
      const { job } = await api.startExport({ ...exportConfig });
      const done = await follow(job, (j) => (exportJob.value = j));
      const failed = unsuccessful(done, 'export');
      if (failed) exportError.value = failed;
      await loadExports();
    } catch (error) {
      exportError.value = failureMessage(error);
    }
  }

  async function loadExports(): Promise<void> {
    exports.value = await api.exports();
  }

  async function deleteExport(exportId: string): Promise<void> {
    await api.deleteExport(exportId);
    await loadExports();
  }

  return { api, exportConfig, estimate, exportJob, exports, exportError, refreshEstimate, startExport, loadExports, deleteExport, cancel };
});
