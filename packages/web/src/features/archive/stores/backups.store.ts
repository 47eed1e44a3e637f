import type { Backup, BackupSchedule, BackupScheduleState, BackupType, ImportConfig, ImportReport, Job } from '@lora-manager/contract';
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { failureMessage, unsuccessful, useArchiveJobs } from './archive-jobs.ts';

/** The backups screen: the list, the schedule, and the backup and restore jobs it follows. */
export const useArchiveBackupsStore = defineStore('archive-backups', () => {
  const { api, follow } = useArchiveJobs();

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
      backupError.value = failureMessage(error);
    }
  }

  async function createBackup(type: BackupType, note?: string): Promise<void> {
    backupError.value = null;
    try {
      const { job } = await api.createBackup({ backup_type: type, note: note || null });
      const done = await follow(job, (j) => (backupJob.value = j));
      await loadBackups();
      const failed = unsuccessful(done, 'backup');
      if (failed) backupError.value = failed;
    } catch (error) {
      backupError.value = failureMessage(error);
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

  return { downloadUrl, backups, schedule, backupJob, restoreJob, restoreReport, backupError, loadBackups, createBackup, restoreBackup, deleteBackup, saveSchedule };
});
