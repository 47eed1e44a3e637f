import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { COMPRESSION_LEVELS, type ExportConfig, type ImportConfig, type ImportReport } from '@lora-manager/contract';
import cliProgress from 'cli-progress';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { formatBytes } from '../../lib/format.ts';
import type { ArchiveProgress } from '../../archive/services/archive-export.service.ts';
import { withContainer } from '../cli-support.ts';

const list = (value: string) => value.split(',').map((v) => v.trim()).filter(Boolean);

function choice<T extends string>(allowed: readonly T[]) {
  return (value: string): T => {
    if (!(allowed as readonly string[]).includes(value)) throw new InvalidArgumentError(`must be one of ${allowed.join(', ')}`);
    return value as T;
  };
}

/** A progress bar on stderr (stdout may carry the archive or JSON). Silent when stderr is not a terminal. */
function progressBar(label: string) {
  const bar = new cliProgress.SingleBar(
    { format: `${label} {bar} {percentage}% | {message}`, stream: process.stderr, hideCursor: true, clearOnComplete: false },
    cliProgress.Presets.shades_classic,
  );
  bar.start(1000, 0, { message: 'starting' });
  return {
    update: (p: ArchiveProgress) => {
      const bytes = p.totalBytes > 0 ? ` ${formatBytes(p.bytes)} / ${formatBytes(p.totalBytes)}` : '';
      bar.update(Math.round(Math.min(1, p.fraction) * 1000), { message: `${p.message}${bytes}` });
    },
    stop: () => bar.stop(),
  };
}

function printReport(report: ImportReport, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  for (const r of report.results) {
    const counts = ['created', 'updated', 'renamed', 'skipped', 'unchanged', 'deleted'] as const;
    const validated = r.status === 'validated' ? [`${r.adapters.length} adapter(s) checked`] : [];
    const results = r.results_imported > 0 ? [`${r.results_imported} result(s) added`] : [];
    const summary = [...validated, ...counts.filter((c) => r[c] > 0).map((c) => `${r[c]} ${c}`), ...results].join(', ') || 'no adapters';
    const files = r.status === 'validated' ? `${r.files_written} file(s) would be written` : `${r.files_written} file(s) written`;
    process.stdout.write(`${r.file}: ${r.status}${r.code ? ` (${r.code})` : ''} — ${summary}, ${files}\n`);
    if (r.detail) process.stdout.write(`  ${r.detail}\n`);
    for (const c of r.conflicts) process.stdout.write(`  conflict: ${c.name}${c.version ? ` ${c.version}` : ''} — ${c.reason}${c.path ? ` ${c.path}` : ''}\n`);
    for (const w of r.warnings) process.stdout.write(`  warning: ${w}\n`);
    if (r.backup_id) process.stdout.write(`  backup made first: ${r.backup_id}\n`);
  }
}

/** `export`, `import` and `backup …`: the archive commands, each beside the API route it mirrors. */
export function registerArchiveCommands(program: Command): void {
  registerExportCommand(program);
  registerImportCommand(program);
  registerBackupCommands(program);
}

function registerExportCommand(program: Command): void {
  program
    .command('export')
    .description('write an archive of the catalogue (POST /api/v1/export): adapters, LoRA files, sidecars, previews, settings')
    .argument('[file]', 'archive to write; "-" writes to stdout', '')
    .option('--no-files', 'leave the LoRA files out (a metadata-only archive)')
    .option('--no-sidecars', 'leave sidecar files (.civitai.info, .json, …) out')
    .option('--no-previews', 'leave preview images out')
    .option('--settings', 'include the server settings (never secrets)')
    .option('--user-data', 'include ratings, favourites, notes and the generation history')
    .option('--results', 'include finished generation results and their images')
    .option('--no-result-images', 'with --results: leave the images out')
    .option('--results-from <date>', 'with --results: only results created on or after this date')
    .option('--results-to <date>', 'with --results: only results created on or before this date')
    .option('--ids <list>', 'only these adapter ids', list)
    .option('--tags <list>', 'only adapters with these tags', list)
    .addOption(new Option('--tag-mode <mode>', 'any | all').argParser(choice(['any', 'all'] as const)))
    .option('--from <date>', 'only adapters created on or after this date')
    .option('--to <date>', 'only adapters created on or before this date')
    .addOption(new Option('--compression <level>', COMPRESSION_LEVELS.join(' | ')).argParser(choice(COMPRESSION_LEVELS)))
    .action(async (file: string, opts) => {
      const config: ExportConfig = {
        loras: true,
        lora_files: opts.files,
        lora_metadata: opts.sidecars,
        previews: opts.previews,
        system_config: opts.settings ?? false,
        user_data: opts.userData ?? false,
        generations: opts.results ?? false,
        generation_images: opts.resultImages,
        generation_range: opts.resultsFrom || opts.resultsTo ? 'custom' : 'all',
        date_from: opts.resultsFrom,
        date_to: opts.resultsTo,
        adapter_ids: opts.ids,
        tags: opts.tags,
        tag_mode: opts.tagMode,
        adapter_date_from: opts.from,
        adapter_date_to: opts.to,
        compression: opts.compression,
      };
      await withContainer(async ({ services }) => {
        const exporter = services.archiveExport;
        const plan = await exporter.plan(exporter.options(config));
        const bar = progressBar('export');
        const started = Date.now();
        try {
          if (file === '-') {
            const run = exporter.start(plan, { onProgress: bar.update });
            await pipeline(run.stream, process.stdout);
            await run.done;
          } else {
            const target = path.resolve(file || exporter.fileName());
            const written = await exporter.writeFile(plan, target, { onProgress: bar.update });
            bar.stop();
            const seconds = (Date.now() - started) / 1000;
            process.stderr.write(
              `${target}: ${plan.adapters.length} adapter(s), ${plan.results.length} result(s), ${plan.fileCount} file(s), ${formatBytes(written.size)} in ${seconds.toFixed(1)} s\nsha256 ${written.sha256}\n`,
            );
          }
        } finally {
          bar.stop();
        }
      });
    });
}

function registerImportCommand(program: Command): void {
  program
    .command('import')
    .description('import archives (POST /api/v1/import): checked first, one transaction per archive')
    .argument('<files...>', 'archives to import')
    .addOption(new Option('--mode <mode>', 'merge | replace | dry-run').default('merge').argParser(choice(['merge', 'replace', 'dry-run'] as const)))
    .addOption(new Option('--conflict <resolution>', 'ask | skip | overwrite | rename').argParser(choice(['ask', 'skip', 'overwrite', 'rename'] as const)))
    .option('--no-backup', 'do not make a backup of what the import changes first')
    .option('--root <dir>', 'library root to import LoRA files into (default: the first)')
    .option('--settings', 'apply the settings the archive carries')
    .option('--json', 'print the report as JSON')
    .action(async (files: string[], opts) => {
      const config: ImportConfig = {
        mode: opts.mode,
        conflict_resolution: opts.conflict,
        backup_before: opts.backup,
        target_root: opts.root ? path.resolve(opts.root) : undefined,
        import_settings: opts.settings,
      };
      const report = await withContainer(async ({ services }) => {
        const importer = services.archiveImport;
        const missing = files.filter((f) => !fs.existsSync(f));
        if (missing.length > 0) throw new InvalidArgumentError(`no such file: ${missing.join(', ')}`);
        const bar = progressBar('import');
        try {
          return await importer.importFiles(
            files.map((f) => ({ path: path.resolve(f), name: path.basename(f) })),
            importer.options(config),
            { onProgress: bar.update },
          );
        } finally {
          bar.stop();
        }
      });
      printReport(report, opts.json ?? false);
      if (!report.success) process.exitCode = 1;
    });
}

function registerBackupCommands(program: Command): void {
  const backup = program.command('backup').description('backups in DATA_DIR/backups');
  backup
    .command('create')
    .description('make a backup')
    .addOption(new Option('--type <type>', 'full | metadata').default('full').argParser(choice(['full', 'metadata'] as const)))
    .option('--note <text>', 'a note kept with the backup')
    .action(async (opts) => {
      await withContainer(async ({ services }) => {
        const bar = progressBar('backup');
        try {
          const made = await services.backups.create({ backup_type: opts.type, note: opts.note }, 'manual', { onProgress: bar.update });
          bar.stop();
          process.stdout.write(`${made.id}  ${made.type}  ${formatBytes(made.size)}  ${made.adapter_count} adapter(s)\n`);
        } finally {
          bar.stop();
        }
      });
    });
  backup
    .command('list')
    .description('list backups, newest first')
    .option('--json', 'print JSON')
    .action(async (opts) => {
      await withContainer(async ({ services }) => {
        const backups = await services.backups.list();
        if (opts.json) return void process.stdout.write(`${JSON.stringify(backups, null, 2)}\n`);
        if (backups.length === 0) return void process.stdout.write('no backups\n');
        for (const b of backups) {
          process.stdout.write(`${b.id}  ${b.created_at}  ${b.type.padEnd(22)}  ${formatBytes(b.size).padStart(10)}  ${b.status}${b.note ? `  ${b.note}` : ''}\n`);
        }
      });
    });
  backup
    .command('restore')
    .description('restore a backup: the catalogue becomes what it holds (same checks as import)')
    .argument('<id>')
    .addOption(new Option('--mode <mode>', 'replace | merge | dry-run').default('replace').argParser(choice(['merge', 'replace', 'dry-run'] as const)))
    .addOption(new Option('--conflict <resolution>', 'skip | overwrite | rename').argParser(choice(['skip', 'overwrite', 'rename'] as const)))
    .option('--no-backup', 'do not back up the current state first')
    .option('--json', 'print the report as JSON')
    .action(async (id: string, opts) => {
      const report = await withContainer(async ({ services }) => {
        const bar = progressBar('restore');
        try {
          return await services.archiveImport.restoreBackup(id, { mode: opts.mode, conflict_resolution: opts.conflict, backup_before: opts.backup }, { onProgress: bar.update });
        } finally {
          bar.stop();
        }
      });
      printReport(report, opts.json ?? false);
      if (!report.success) process.exitCode = 1;
    });
  backup
    .command('delete')
    .description('delete a backup and its archive')
    .argument('<id>')
    .action(async (id: string) => {
      await withContainer(async ({ services }) => services.backups.delete(id));
      process.stdout.write(`deleted ${id}\n`);
    });
}
