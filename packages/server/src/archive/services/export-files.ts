import fs from 'node:fs/promises';
import path from 'node:path';
import type { ExportConfig, ExportFile } from '@lora-manager/contract';
import { NotFoundError } from '../../errors.ts';
import type { Clock } from '../../lib/clock.ts';
import type { ArchiveExportService, RunOptions } from './archive-export.service.ts';

const ID_PATTERN = /^[A-Za-z0-9_-]{1,100}$/;
/** Exports made by jobs (and leftover uploads) are deleted after a day. */
const RETENTION_MS = 24 * 3_600_000;

/**
 * Archives written by export jobs, kept in DATA_DIR/exports for download (the job's result names the id). The HTTP
 * POST /export streams instead and keeps nothing.
 */
export class ExportFiles {
  readonly dir: string;
  private readonly uploads: string;

  constructor(
    private readonly exporter: ArchiveExportService,
    dataDir: string,
    private readonly clock: Clock,
  ) {
    this.dir = path.join(dataDir, 'exports');
    this.uploads = path.join(dataDir, 'uploads');
  }

  async create(id: string, config: ExportConfig, run: RunOptions = {}): Promise<ExportFile & { adapter_count: number }> {
    if (!ID_PATTERN.test(id)) throw new NotFoundError('export_not_found', 'Export not found');
    const plan = await this.exporter.plan(this.exporter.options(config));
    const fileName = this.exporter.fileName();
    const target = path.join(this.dir, id, fileName);
    const written = await this.exporter.writeFile(plan, target, run);
    return { ...describe(id, fileName, written.size, this.clock.now()), adapter_count: plan.adapters.length };
  }

  async list(): Promise<ExportFile[]> {
    const out: ExportFile[] = [];
    for (const id of await fs.readdir(this.dir).catch(() => [] as string[])) {
      const found = await this.find(id).catch(() => null);
      if (found) out.push(found.info);
    }
    return out.sort((a, b) => b.created_at.localeCompare(a.created_at));
  }

  async find(id: string): Promise<{ path: string; info: ExportFile }> {
    if (!ID_PATTERN.test(id)) throw new NotFoundError('export_not_found', 'Export not found');
    const dir = path.join(this.dir, id);
    const name = (await fs.readdir(dir).catch(() => [] as string[])).find((n) => n.endsWith('.zip'));
    const stat = name ? await fs.stat(path.join(dir, name)).catch(() => null) : null;
    if (!name || !stat) throw new NotFoundError('export_not_found', 'Export not found');
    return { path: path.join(dir, name), info: describe(id, name, stat.size, stat.mtime) };
  }

  async delete(id: string): Promise<void> {
    await this.find(id);
    await fs.rm(path.join(this.dir, id), { recursive: true, force: true });
  }

  /** Remove exports and uploads older than a day (run at start and by the scheduler). */
  async cleanup(): Promise<number> {
    const cutoff = this.clock.now().getTime() - RETENTION_MS;
    let removed = 0;
    for (const dir of [this.dir, this.uploads]) {
      for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
        const file = path.join(dir, name);
        const stat = await fs.stat(file).catch(() => null);
        if (stat && stat.mtimeMs < cutoff) {
          await fs.rm(file, { recursive: true, force: true });
          removed += 1;
        }
      }
    }
    return removed;
  }
}

function describe(id: string, fileName: string, size: number, created: Date): ExportFile {
  return { id, file_name: fileName, size, created_at: created.toISOString(), download_url: `/exports/${id}/download` };
}
