import type { Backup, BackupSchedule, BackupScheduleState, BackupType, ExportConfig, ExportEstimate, ImportConfig, ImportReport, Job } from '@lora-manager/contract';
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { isFinished } from '../../../lib/job-status.ts';
import { LARGE_ARCHIVE_BYTES } from '../lib/display.ts';
import { failureMessage, unsuccessful, useArchiveJobs } from './archive-jobs.ts';

/** What a full backup holds, for its estimate. */
const FULL_BACKUP: ExportConfig = {
  loras: true,
  lora_files: true,
  lora_metadata: true,
  previews: true,
  generations: true,
  generation_images: true,
  system_config: true,
  user_data: true,
};

/** The backups screen: the list, the schedule, and the backup and restore jobs it follows. */
export const useArchiveBackupsStore = defineStore('archive-backups', () => {
  const { api, follow, resume } = useArchiveJobs();

  const backups = ref<Backup[]>([]);
  const schedule = ref<BackupScheduleState | null>(null);
  const backupJob = ref<Job | null>(null);
  const restoreJob = ref<Job | null>(null);
  const restoreReport = ref<ImportReport | null>(null);
  const backupError = ref<string | null>(null);
  /** A full backup waiting for the user to confirm its size (with its note). */
  const confirmFull = ref<{ estimate: ExportEstimate; note?: string } | null>(null);

  async function loadBackups(): Promise<void> {
    try {
      [backups.value, schedule.value] = await Promise.all([api.backups(), api.schedule()]);
      backupError.value = null;
    } catch (error) {
      backupError.value = failureMessage(error);
    }
  }

  /** Make a backup; a full one above LARGE_ARCHIVE_BYTES shows its size and waits for `confirmed`. */
  async function createBackup(type: BackupType, note?: string, confirmed = false): Promise<void> {
    backupError.value = null;
    confirmFull.value = null;
    try {
      if (type === 'full' && !confirmed) {
        const estimate = await api.estimate(FULL_BACKUP);
        if (estimate.bytes > LARGE_ARCHIVE_BYTES) {
          confirmFull.value = { estimate, note };
          return;
        }
      }
      const { job } = await api.createBackup({ backup_type: type, note: note || null });
      await finishBackup(await follow(job, (j) => (backupJob.value = j)));
    } catch (error) {
      backupError.value = failureMessage(error);
    }
  }

  async function finishBackup(done: Job): Promise<void> {
    await loadBackups();
    const failed = unsuccessful(done, 'backup');
    if (failed) backupError.value = failed;
  }

  /** Follow a backup or restore that runs already (started before this page was opened, or by the schedule). */
  async function resumeRunning(): Promise<void> {
    const runs: Array<Promise<unknown>> = [];
    if (!backupJob.value || isFinished(backupJob.value.status)) {
      runs.push(resume(['backup.create', 'backup.scheduled'], (j) => (backupJob.value = j)).then((done) => done && finishBackup(done)));
    }
    if (!restoreJob.value || isFinished(restoreJob.value.status)) {
      runs.push(
        resume(['backup.restore'], (j) => (restoreJob.value = j)).then(async (done) => {
          if (!done) return;
          restoreReport.value = (done.result as ImportReport | null) ?? null;
          await loadBackups();
        }),
      );
    }
    await Promise.all(runs);
  }

  async function restoreBackup(backupId: string, config: ImportConfig = {}): Promise<void> {
    backupError.value = null;
    restoreReport.value = null;
    try {
      const { job } = await api.restoreBackup(backupId, config);
      const done = await follow(job, (j) => (restoreJob.value = j));
      restoreReport.value = (done.result as ImportReport | null) ?? null;
      await loadBackups();
      // A restore that failed but reported per archive shows its report instead.
      const failed = unsuccessful(done, 'restore');
      if (failed && !restoreReport.value) backupError.value = failed;
    } catch (error) {
      backupError.value = failureMessage(error);
    }
  }

  async function deleteBackup(backupId: string): Promise<void> {
    try {
      await api.deleteBackup(backupId);
      await loadBackups();
    } catch (error) {
      backupError.value = failureMessage(error);
    }
  }

  async function saveSchedule(next: BackupSchedule): Promise<void> {
    try {
      schedule.value = await api.saveSchedule(next);
      backupError.value = null;
    } catch (error) {
      backupError.value = failureMessage(error);
    }
  }

  /** The link that downloads a backup's archive. */
  const downloadUrl = (backupId: string) => api.downloadUrl(`backups/${encodeURIComponent(backupId)}/download`);

  return {
    downloadUrl,
    backups,
    schedule,
    backupJob,
    restoreJob,
    restoreReport,
    backupError,
    confirmFull,
    loadBackups,
    createBackup,
    resumeRunning,
    restoreBackup,
    deleteBackup,
    saveSchedule,
  };
});
