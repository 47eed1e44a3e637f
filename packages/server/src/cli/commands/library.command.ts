import type { ScanSummary } from '@lora-manager/contract';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { describe } from '../../library/services/library-scan.service.ts';
import { withContainer } from '../cli-support.ts';

/** `lora-manager scan [--dry-run] [--force] [--json] [root…]` and `lora-manager hash [--verify]`. */
export function registerLibraryCommands(program: Command): void {
  program
    .command('scan')
    .description('scan the library roots (or the given roots or folders inside them) and update the catalogue')
    .argument('[roots...]', 'library roots or folders inside them (default: every root)')
    .option('-n, --dry-run', 'report what would be added, updated and marked missing, and which files cannot be read, without changing anything')
    .option('-f, --force', 're-read files whose size and mtime are unchanged')
    .option('--json', 'print the summary as JSON')
    .action(async (roots: string[], opts: { dryRun?: boolean; force?: boolean; json?: boolean }) => {
      const exitCode = await withContainer(async ({ services }) => {
        const bar = progressBar(!opts.json);
        let phase = '';
        try {
          const summary = await services.libraryScan.scan({
            roots: roots.length > 0 ? roots : undefined,
            dryRun: opts.dryRun ?? false,
            force: opts.force ?? false,
            onProgress: (p) => {
              if (!bar) return;
              if (p.phase !== phase) {
                phase = p.phase;
                if (p.phase === 'reading') bar.start(p.total, 0, { phase: 'reading' });
              }
              if (p.phase === 'walking') process.stderr.write(`\r${p.message}`);
              else if (p.phase === 'reading') bar.update(p.done, { phase: 'reading' });
            },
          });
          bar?.stop();
          if (opts.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
          else printSummary(summary);
          return summary.roots_unavailable.length > 0 ? 1 : 0;
        } catch (error) {
          bar?.stop();
          process.stderr.write(`\nscan failed: ${(error as Error).message}\n`);
          return 1;
        }
      });
      process.exitCode = exitCode;
    });

  program
    .command('hash')
    .description('compute SHA-256, AutoV1/V2/V3 of files whose hash is pending (or of every file with --verify)')
    .option('--verify', 'hash again even when cached and check embedded AutoV3 hashes against the data')
    .action(async (opts: { verify?: boolean }) => {
      await withContainer(async ({ services, repositories }) => {
        const ids = opts.verify ? (await repositories.adapters.libraryIndex()).filter((r) => !r.missing).map((r) => r.id) : undefined;
        const bar = progressBar(true);
        let started = false;
        const summary = await services.libraryHash.hash({
          adapterIds: ids,
          verify: opts.verify,
          onProgress: (p) => {
            if (!bar) return;
            if (!started) bar.start(p.total, 0, { phase: 'hashing' });
            started = true;
            bar.update(p.done, { phase: 'hashing' });
          },
        });
        bar?.stop();
        process.stdout.write(
          `hashed ${summary.hashed} files (${(summary.bytes / 2 ** 30).toFixed(2)} GiB), ${summary.cached} from cache, ${summary.failed} failed, ` +
            `${summary.relinked} re-linked, ${summary.autov3_mismatches} embedded AutoV3 mismatches\n`,
        );
        for (const e of summary.errors) process.stdout.write(`  ✗ ${e.path}: ${e.reason}\n`);
      });
    });
}

function progressBar(enabled: boolean): cliProgress.SingleBar | null {
  if (!enabled || !process.stderr.isTTY) return null;
  return new cliProgress.SingleBar(
    { format: '{phase} [{bar}] {value}/{total} files | {percentage}% | eta {eta_formatted}', stream: process.stderr, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
}

function printSummary(s: ScanSummary): void {
  const out = (line = '') => process.stdout.write(`${line}\n`);
  out(`${s.dry_run ? 'dry run: ' : ''}${describe(s)} in ${(s.duration_ms / 1000).toFixed(2)} s`);
  for (const r of s.roots_unavailable) out(`  ! root ${r.root} is unavailable: ${r.reason}`);
  const list = (title: string, paths: string[], total: number) => {
    if (total === 0) return;
    out(`${title} (${total}):`);
    for (const p of paths.slice(0, 50)) out(`  ${p}`);
    if (total > 50) out(`  … and ${total - 50} more (--json lists up to 1000)`);
  };
  if (s.dry_run) {
    list('would add', s.added_paths, s.added);
    list('would update', s.updated_paths, s.updated);
  }
  list(s.dry_run ? 'would mark missing' : 'marked missing', s.missing_paths, s.missing);
  if (s.relinked > 0) {
    out(`re-linked moved files (${s.relinked}):`);
    for (const r of s.relinked_paths.slice(0, 50)) out(`  ${r.from} → ${r.to}`);
  }
  if (s.issues > 0) {
    out(`not catalogued (${s.issues}):`);
    for (const e of s.errors.slice(0, 100)) out(`  ✗ ${e.path}: ${e.reason} [${e.code}]`);
    if (s.issues > 100) out(`  … and ${s.issues - 100} more (--json lists up to 1000)`);
  }
  for (const e of s.sidecar_errors.slice(0, 20)) out(`  ! sidecar ${e.path}: ${e.reason}`);
  for (const e of s.walk_errors.slice(0, 20)) out(`  ! ${e.path}: ${e.reason}`);
}
