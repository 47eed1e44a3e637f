import type {
  Backup,
  BackupScheduleState,
  BackupType,
  ConflictDecision,
  ExportConfig,
  ExportEstimate,
  ExportFile,
  ImportConfig,
  ImportReport,
  Job,
} from '@lora-manager/contract';
import { defineStore } from 'pinia';
import { computed, reactive, ref } from 'vue';
import { ApiError } from '../../../api/client.ts';
import { jobFromEvent, useLiveStore } from '../../../stores/live.store.ts';
import { useSettingsStore } from '../../../stores/settings.store.ts';
import { archiveApi } from '../api/archive.api.ts';

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);
/** How often a followed job is read without the WebSocket, and with it (a safety net for missed events). */
const POLL_MS = 500;
const SOCKET_POLL_MS = 3000;

export type ImportMode = 'merge' | 'replace';
export type Resolution = 'ask' | 'skip' | 'overwrite' | 'rename';

function message(error: unknown): string {
  if (error instanceof ApiError) return error.problem?.detail ? `${error.message}: ${error.problem.detail}` : error.message;
  return error instanceof Error ? error.message : String(error);
}

/**
 * Import/export and backups. Long operations run as server jobs; the store follows each job until it ends (the job
 * row carries progress 0–1 and a message) and keeps the outcome: the export to download, the import report, the
 * backup list.
 */
export const useArchiveStore = defineStore('archive', () => {
  const settings = useSettingsStore();
  const live = useLiveStore();
  const api = archiveApi({
    request: (method, path, options) => settings.api.request(method, path, options),
    target: () => ({ baseUrl: settings.baseUrl, apiKey: settings.apiKey || null }),
  });

  /**
   * Follow a job until it is finished, calling `onUpdate` with each newer state. Progress comes from the app's one
   * WebSocket (the live store); the job is also read now and then, often while the socket is not open, so a
   * reconnect that missed events cannot leave the page waiting.
   */
  function follow(job: Job, onUpdate: (job: Job) => void): Promise<Job> {
    let current = job;
    onUpdate(current);
    if (TERMINAL.has(current.status)) return Promise.resolve(current);
    return new Promise<Job>((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const apply = (next: Job) => {
        if (next.id !== job.id || next.updated_at < current.updated_at || TERMINAL.has(current.status)) return;
        current = next;
        onUpdate(next);
        if (!TERMINAL.has(next.status)) return;
        off();
        clearTimeout(timer);
        resolve(next);
      };
      const off = live.onEvent((event) => {
        const next = jobFromEvent(event);
        if (next) apply(next);
      });
      const poll = async () => {
        try {
          apply((await api.job(job.id)).job);
        } catch {
          /* the next poll or event will tell */
        }
        if (!TERMINAL.has(current.status)) timer = setTimeout(() => void poll(), live.state === 'open' ? SOCKET_POLL_MS : POLL_MS);
      };
      timer = setTimeout(() => void poll(), live.state === 'open' ? SOCKET_POLL_MS : POLL_MS);
    });
  }

  // Export.
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
      exportError.value = message(error);
    }
  }

  async function startExport(): Promise<void> {
    exportError.value = null;
    try {
      const { job } = await api.startExport({ ...exportConfig });
      const done = await follow(job, (j) => (exportJob.value = j));
      if (done.status !== 'succeeded') exportError.value = done.error ?? `The export ${done.status}`;
      await loadExports();
    } catch (error) {
      exportError.value = message(error);
    }
  }

  async function loadExports(): Promise<void> {
    exports.value = await api.exports();
  }

  async function deleteExport(exportId: string): Promise<void> {
    await api.deleteExport(exportId);
    await loadExports();
  }

  // Import.
  const importFiles = ref<File[]>([]);
  const importMode = ref<ImportMode>('merge');
  const conflictResolution = ref<Resolution>('ask');
  const backupBefore = ref(true);
  const importSettings = ref(false);
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
      importError.value = message(error);
    } finally {
      busy.value = null;
    }
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
      if (done.status !== 'succeeded' && !importReport.value) importError.value = done.error ?? `The import ${done.status}`;
      if (importReport.value?.results.some((r) => r.backup_id)) await loadBackups();
    } catch (error) {
      importError.value = message(error);
    } finally {
      busy.value = null;
    }
  }

  // Backups.
  const backups = ref<Backup[]>([]);
  const schedule = ref<BackupScheduleState | null>(null);
  const backupJob = ref<Job | null>(null);
  const restoreJob = ref<Job | null>(null);
  const restoreReport = ref<ImportReport | null>(null);
  const backupError = ref<string | null>(null);

  async function loadBackups(): Promise<void> {
    try {
      [backups.value, schedule.value] = await Promise.all([api.backups(), api.schedule()]);
      backupError.value = null;
    } catch (error) {
      backupError.value = message(error);
    }
  }

  async function createBackup(type: BackupType, note?: string): Promise<void> {
    backupError.value = null;
    try {
      const { job } = await api.createBackup({ backup_type: type, note: note || null });
      const done = await follow(job, (j) => (backupJob.value = j));
      await loadBackups();
      if (done.status !== 'succeeded') backupError.value = done.error ?? `The backup ${done.status}`;
    } catch (error) {
      backupError.value = message(error);
    }
  }

  async function restoreBackup(backupId: string, config: ImportConfig = {}): Promise<void> {
    backupError.value = null;
    restoreReport.value = null;
    try {
      const { job } = await api.restoreBackup(backupId, config);
      const done = await follow(job, (j) => (restoreJob.value = j));
      restoreReport.value = (done.result as ImportReport | null) ?? null;
      await loadBackups();
      if (done.status !== 'succeeded' && !restoreReport.value) backupError.value = done.error ?? `The restore ${done.status}`;
    } catch (error) {
      backupError.value = message(error);
    }
  }

  async function deleteBackup(backupId: string): Promise<void> {
    try {
      await api.deleteBackup(backupId);
      await loadBackups();
    } catch (error) {
      backupError.value = message(error);
    }
  }

  async function saveSchedule(next: { enabled: boolean; interval_hours: number; backup_type: BackupType; keep: number }): Promise<void> {
    try {
      schedule.value = await api.saveSchedule(next);
      backupError.value = null;
    } catch (error) {
      backupError.value = message(error);
    }
  }

  async function cancel(job: Job | null): Promise<void> {
    if (job && !TERMINAL.has(job.status)) await api.cancelJob(job.id).catch(() => undefined);
  }

  return {
    api,
    exportConfig,
    estimate,
    exportJob,
    exports,
    exportError,
    refreshEstimate,
    startExport,
    loadExports,
    deleteExport,
    importFiles,
    importMode,
    conflictResolution,
    backupBefore,
    importSettings,
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
    analyse,
    startImport,
    backups,
    schedule,
    backupJob,
    restoreJob,
    restoreReport,
    backupError,
    loadBackups,
    createBackup,
    restoreBackup,
    deleteBackup,
    saveSchedule,
    cancel,
  };
});
