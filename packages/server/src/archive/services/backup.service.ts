import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import {
  BACKUP_TYPES,
  type Backup,
  type BackupCreate,
  type BackupSchedule,
  type BackupScheduleState,
  type BackupTrigger,
  type BackupType,
} from '@lora-manager/contract';
import type { Logger } from 'pino';
import type { ArchiveConfig } from '../../config.ts';
import type { BackupTable } from '../../db/tables.ts';
import { AppError, NotFoundError } from '../../errors.ts';
import { MANIFEST_NAME, MAX_MANIFEST_BYTES, parseManifest } from '../../lib/archive-manifest.ts';
import type { Clock } from '../../lib/clock.ts';
import { ZipReader } from '../../lib/zip-reader.ts';
import type { ArchiveRepository } from '../repositories/archive.repository.ts';
import type { SettingRepository } from '../../repositories/setting.repository.ts';
import type { ArchiveExportService, RunOptions } from './archive-export.service.ts';
import type { ExportOptions } from './export-plan.ts';

const SCHEDULE_SETTING = 'archive.backup_schedule';
const TYPE_ALIASES: Record<string, BackupType> = {
  full: 'full',
  full_system: 'full',
  complete: 'full',
  metadata: 'metadata',
  metadata_only: 'metadata',
  quick: 'metadata',
};
const ID_PATTERN = /^[A-Za-z0-9_-]{1,100}$/;
/** What the server names backup files (and what the folder scan accepts): one plain segment. */
const FILE_NAME_PATTERN = /^[A-Za-z0-9_-]{1,100}\.zip$/;

type BackupDefaults = Pick<ArchiveConfig, 'backupScheduleHours' | 'backupKeep' | 'backupScheduleType'>;

/** What BackupService needs; one object, so call sites name each part. */
export interface BackupServiceOptions {
  archive: ArchiveRepository;
  exporter: ArchiveExportService;
  settings: SettingRepository;
  /** Backups go to DATA_DIR/backups. */
  dataDir: string;
  /** The schedule and retention used until the user saves their own. */
  defaults: BackupDefaults;
  clock: Clock;
  logger: Logger;
}

/**
 * Backups are export archives kept in DATA_DIR/backups (never inside a library root), described by `backup` rows.
 * A full backup carries the LoRA files, previews, generation results and their images; a metadata backup
 * everything but the LoRA files, previews and images.
 */
export class BackupService {
  readonly dir: string;

  private readonly archive: ArchiveRepository;
  private readonly exporter: ArchiveExportService;
  private readonly settings: SettingRepository;
  private readonly defaults: BackupDefaults;
  private readonly clock: Clock;
  private readonly logger: Logger;

  constructor(options: BackupServiceOptions) {
    this.archive = options.archive;
    this.exporter = options.exporter;
    this.settings = options.settings;
    this.defaults = options.defaults;
    this.clock = options.clock;
    this.logger = options.logger;
    this.dir = path.join(options.dataDir, 'backups');
  }

  /** `full_system` → full, `metadata_only` → metadata; anything else is a 422 naming what is accepted. */
  parseType(raw: string | undefined): BackupType {
    const type = TYPE_ALIASES[(raw ?? 'full').trim().toLowerCase()];
    if (!type) {
      throw new AppError(422, 'validation_failed', `backup_type must be one of ${[...BACKUP_TYPES, 'full_system', 'metadata_only'].join(', ')}`);
    }
    return type;
  }

  async create(input: BackupCreate, trigger: BackupTrigger = 'manual', run: RunOptions = {}): Promise<Backup> {
    const type = this.parseType(input.backup_type);
    return this.write(type, trigger, this.optionsFor(type), input.note ?? null, run);
  }

  /** Before an import: every adapter's metadata and settings, plus the LoRA files the import will replace. */
  async createPreImport(replacedFileAdapterIds: readonly string[], source: string): Promise<Backup> {
    const options: ExportOptions = { ...this.optionsFor('metadata'), files: replacedFileAdapterIds.length > 0, filesOnlyFor: new Set(replacedFileAdapterIds) };
    const backup = await this.write('metadata', 'pre-import', options, `before importing ${source}`.slice(0, 500), {});
    await this.prune('pre-import', (await this.schedule()).keep);
    return backup;
  }

  async list(): Promise<Backup[]> {
    await this.reconcile();
    const rows = await this.archive.listBackups();
    const out: Backup[] = [];
    for (const row of rows) {
      const exists = row.status !== 'completed' || (await this.confined(row.file_name)) !== null;
      out.push(toBackup(exists ? row : { ...row, status: 'missing' }));
    }
    return out;
  }

  async get(id: string): Promise<Backup> {
    return toBackup(await this.row(id));
  }

  /**
   * The archive file of a backup, for download and restore: a plain file that really lies in DATA_DIR/backups
   * (a link out of it, or a row naming something else, is as good as missing). A backup listed as failed whose file
   * is there is handed out too: restoring it then says what is wrong with it, not that it is missing.
   */
  async file(id: string): Promise<{ path: string; size: number; fileName: string }> {
    const row = await this.row(id);
    const file = await this.confined(row.file_name);
    const stat = file ? await fs.stat(file).catch(() => null) : null;
    if (!file || !stat?.isFile()) throw new NotFoundError('backup_file_missing', 'The backup archive is not on disk');
    return { path: file, size: stat.size, fileName: row.file_name };
  }

  /** The real path of a backup file name when it is a file directly in the real backups folder, or null. */
  private async confined(fileName: string): Promise<string | null> {
    if (!FILE_NAME_PATTERN.test(fileName)) return null;
    const [dir, file] = await Promise.all([fs.realpath(this.dir).catch(() => null), fs.realpath(path.join(this.dir, fileName)).catch(() => null)]);
    return dir && file && path.dirname(file) === dir ? file : null;
  }

  async delete(id: string): Promise<void> {
    const row = await this.row(id);
    await this.removeFile(row);
    await this.archive.deleteBackup(id);
  }

  async schedule(): Promise<BackupScheduleState> {
    const saved = await this.settings.get<BackupSchedule>(SCHEDULE_SETTING);
    const schedule: BackupSchedule = saved ?? {
      enabled: this.defaults.backupScheduleHours > 0,
      interval_hours: this.defaults.backupScheduleHours || 24,
      backup_type: this.defaults.backupScheduleType,
      keep: this.defaults.backupKeep,
    };
    const [last] = await this.archive.listBackups('scheduled');
    const lastRun = last?.created_at ?? null;
    const next = schedule.enabled
      ? new Date(Math.max(this.clock.now().getTime(), lastRun ? Date.parse(lastRun) + schedule.interval_hours * 3_600_000 : 0)).toISOString()
      : null;
    return { ...schedule, last_run_at: lastRun, next_run_at: next };
  }

  async setSchedule(schedule: BackupSchedule): Promise<BackupScheduleState> {
    await this.settings.set(SCHEDULE_SETTING, schedule, this.clock.now().toISOString());
    return this.schedule();
  }

  /** Make the scheduled backup when one is due, then keep only the newest `keep`. Returns it, or null. */
  async runScheduled(run: RunOptions = {}): Promise<Backup | null> {
    const state = await this.schedule();
    if (!state.enabled || !state.next_run_at || Date.parse(state.next_run_at) > this.clock.now().getTime()) return null;
    const backup = await this.write(state.backup_type, 'scheduled', this.optionsFor(state.backup_type), null, run);
    await this.prune('scheduled', state.keep);
    return backup;
  }

  /** Delete the oldest backups of one trigger beyond `keep`. Manual backups are never pruned. */
  async prune(trigger: Exclude<BackupTrigger, 'manual'>, keep: number): Promise<string[]> {
    const rows = await this.archive.listBackups(trigger);
    const removed: string[] = [];
    for (const row of rows.slice(keep)) {
      await this.removeFile(row);
      await this.archive.deleteBackup(row.id);
      removed.push(row.id);
    }
    if (removed.length > 0) this.logger.info({ trigger, removed }, 'old backups deleted');
    return removed;
  }

  private optionsFor(type: BackupType): ExportOptions {
    const full = type === 'full';
    return {
      selection: {},
      files: full,
      sidecars: true,
      previews: full,
      results: true,
      resultImages: full,
      resultsFrom: null,
      resultsTo: null,
      settings: true,
      recipes: true,
      userData: true,
      compression: 'balanced',
    };
  }

  private async write(type: BackupType, trigger: BackupTrigger, options: ExportOptions, note: string | null, run: RunOptions): Promise<Backup> {
    const now = this.clock.now();
    const id = `backup_${utcStamp(now)}_${randomBytes(3).toString('hex')}`;
    const row: BackupTable = {
      id,
      backup_type: type,
      trigger,
      status: 'completed',
      file_name: `${id}.zip`,
      size: 0,
      sha256: null,
      adapter_count: 0,
      file_count: 0,
      note,
      error: null,
      created_at: now.toISOString(),
      completed_at: null,
    };
    try {
      const plan = await this.exporter.plan(options);
      const written = await this.exporter.writeFile(plan, path.join(this.dir, row.file_name), run);
      Object.assign(row, {
        size: written.size,
        sha256: written.sha256,
        adapter_count: plan.adapters.length,
        file_count: plan.fileCount,
        completed_at: this.clock.now().toISOString(),
      });
      await this.archive.insertBackup(row);
      return toBackup(row);
    } catch (error) {
      this.logger.error({ err: error, id }, 'backup failed');
      await this.archive.insertBackup({ ...row, status: 'failed', error: (error as Error).message ?? String(error) });
      throw new AppError(500, 'backup_failed', `The backup failed: ${(error as Error).message}`);
    }
  }

  /** Archives copied into the backups folder by hand (or kept from a lost database) are listed too. */
  private async reconcile(): Promise<void> {
    const names = await fs.readdir(this.dir).catch(() => [] as string[]);
    const known = new Set((await this.archive.listBackups()).map((r) => r.file_name));
    for (const name of names) {
      const id = name.replace(/\.zip$/, '');
      if (!name.endsWith('.zip') || known.has(name) || !ID_PATTERN.test(id)) continue;
      const file = path.join(this.dir, name);
      const stat = await fs.lstat(file).catch(() => null);
      if (!stat?.isFile()) continue; // a link is not a backup: it would hand out whatever it points at
      const counts = await manifestCounts(file);
      await this.archive.insertBackup({
        id,
        backup_type: counts?.full ? 'full' : 'metadata',
        trigger: 'manual',
        status: counts ? 'completed' : 'failed',
        file_name: name,
        size: stat.size,
        sha256: null,
        adapter_count: counts?.adapters ?? 0,
        file_count: counts?.files ?? 0,
        note: 'found in the backups folder',
        error: counts ? null : 'not a readable archive',
        created_at: stat.mtime.toISOString(),
        completed_at: stat.mtime.toISOString(),
      });
    }
  }

  private async row(id: string): Promise<BackupTable> {
    const row = ID_PATTERN.test(id) ? await this.archive.findBackup(id) : undefined;
    if (!row) throw new NotFoundError('backup_not_found', 'Backup not found');
    return row;
  }

  /** Delete a backup's file; a row whose name is not a backup file name deletes nothing (a link, only the link). */
  private async removeFile(row: Pick<BackupTable, 'file_name'>): Promise<void> {
    if (FILE_NAME_PATTERN.test(row.file_name)) await fs.rm(path.join(this.dir, row.file_name), { force: true });
  }
}

function toBackup(row: BackupTable): Backup {
  const label = row.backup_type === 'full' ? 'Full' : 'Metadata';
  return {
    id: row.id,
    created_at: row.created_at,
    type: row.trigger === 'manual' ? label : `${label} (${row.trigger})`,
    size: Number(row.size),
    status: row.status as Backup['status'],
    backup_type: row.backup_type as BackupType,
    trigger: row.trigger as BackupTrigger,
    adapter_count: row.adapter_count,
    file_count: row.file_count,
    sha256: row.sha256,
    note: row.note,
    error: row.error,
  };
}

function utcStamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}_${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

async function manifestCounts(file: string): Promise<{ adapters: number; files: number; full: boolean } | null> {
  let reader: ZipReader | null = null;
  try {
    reader = await ZipReader.open(file, { maxEntries: 10_000_000, maxRatio: 1_000_000, maxUncompressedBytes: Number.MAX_SAFE_INTEGER });
    const manifest = parseManifest(await reader.buffer(MANIFEST_NAME, MAX_MANIFEST_BYTES));
    const files = manifest.adapters.reduce((n, a) => n + a.files.filter((f) => f.exists).length, 0);
    return { adapters: manifest.adapters.length, files, full: manifest.options?.lora_files === true };
  } catch {
    return null;
  } finally {
    reader?.close();
  }
}
