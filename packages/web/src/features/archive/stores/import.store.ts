import type { ConflictDecision, ImportConfig, ImportReport, Job } from '@lora-manager/contract';
import { defineStore } from 'pinia';
import { computed, reactive, ref } from 'vue';
import { isFinished } from '../../../lib/job-status.ts';
import { failureMessage, unsuccessful, useArchiveJobs } from './archive-jobs.ts';
import { useArchiveBackupsStore } from './backups.store.ts';

export type ImportMode = 'merge' | 'replace';
export type Resolution = 'ask' | 'skip' | 'overwrite' | 'rename';

/**
 * The import screen: the chosen archives and options, the check (a dry run that finds conflicts), a decision per
 * conflict, and the import job it follows to its report.
 */
export const useArchiveImportStore = defineStore('archive-import', () => {
  const { api, follow, resume } = useArchiveJobs();
  const backupsStore = useArchiveBackupsStore();

  const importFiles = ref<File[]>([]);
  const importMode = ref<ImportMode>('merge');
  const conflictResolution = ref<Resolution>('ask');
  const backupBefore = ref(true);
  const importSettings = ref(false);
  const overwriteUserData = ref(false);
  const decisions = reactive<Record<string, ConflictDecision>>({});
  const uploadProgress = ref(0);
  const importJob = ref<Job | null>(null);
  const analysis = ref<ImportReport | null>(null);
  const importReport = ref<ImportReport | null>(null);
  const importError = ref<string | null>(null);
  const busy = ref<'analysing' | 'importing' | null>(null);

  const importConfig = computed<ImportConfig>(() => ({
    mode: importMode.value,
    conflict_resolution: conflictResolution.value,
    backup_before: backupBefore.value,
    import_settings: importSettings.value,
    overwrite_user_data: overwriteUserData.value,
    decisions: { ...decisions },
  }));
  /** Every conflict the check found, with the decision chosen for it (or the general resolution). */
  const conflicts = computed(() => (analysis.value?.results ?? []).flatMap((r) => r.conflicts));
  const undecided = computed(() => (conflictResolution.value === 'ask' ? conflicts.value.filter((c) => !decisions[c.archive_id]).length : 0));

  function chooseFiles(files: File[]): void {
    importFiles.value = files;
    analysis.value = null;
    importReport.value = null;
    importError.value = null;
    for (const key of Object.keys(decisions)) delete decisions[key];
  }

  async function analyse(): Promise<void> {
    if (importFiles.value.length === 0) return;
    busy.value = 'analysing';
    importError.value = null;
    uploadProgress.value = 0;
    try {
      analysis.value = await api.analyse(importFiles.value, importConfig.value, (f) => (uploadProgress.value = f));
    } catch (error) {
      importError.value = failureMessage(error);
    } finally {
      busy.value = null;
    }
  }

  /** The same choice for every conflict the check found. */
  function applyToAll(decision: ConflictDecision): void {
    for (const c of conflicts.value) decisions[c.archive_id] = decision;
  }

  /** Follow an import that runs already (started before this page was opened). */
  async function resumeRunning(): Promise<void> {
    if (importJob.value && !isFinished(importJob.value.status)) return;
    const done = await resume(['archive.import'], (j) => (importJob.value = j));
    if (done) importReport.value = (done.result as ImportReport | null) ?? null;
  }

  async function startImport(): Promise<void> {
    if (importFiles.value.length === 0) return;
    busy.value = 'importing';
    importError.value = null;
    importReport.value = null;
    uploadProgress.value = 0;
    try {
      const { job } = await api.startImport(importFiles.value, importConfig.value, (f) => (uploadProgress.value = f));
      const done = await follow(job, (j) => (importJob.value = j));
      importReport.value = (done.result as ImportReport | null) ?? null;
      // The check's findings describe the state before this import; the report replaces them.
      if (done.status === 'succeeded') analysis.value = null;
      const failed = unsuccessful(done, 'import');
      if (failed && !importReport.value) importError.value = failed;
      // The import backed up what it changed first: the backups screen lists that backup.
      if (importReport.value?.results.some((r) => r.backup_id)) await backupsStore.loadBackups();
    } catch (error) {
      importError.value = failureMessage(error);
    } finally {
      busy.value = null;
    }
  }

  return {
    importFiles,
    importMode,
    conflictResolution,
    backupBefore,
    importSettings,
    overwriteUserData,
    decisions,
    importConfig,
    uploadProgress,
    importJob,
    analysis,
    importReport,
    importError,
    busy,
    conflicts,
    undecided,
    chooseFiles,
    applyToAll,
    resumeRunning,
    analyse,
    startImport,
  };
});
