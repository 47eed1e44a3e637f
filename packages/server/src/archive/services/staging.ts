import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { isInside } from '../../lib/paths.ts';
import { ImportWriteGuard, ROOT_STAGING_DIR } from './write-guard.ts';

/**
 * Where an import writes files before it commits. Files are extracted into a staging folder on the same file system
 * as their destination (DATA_DIR/staging, or `<root>/.lora-manager-staging` when the library is on another disk) so
 * that moving them into place after the database commit is a rename that cannot half-happen.
 *
 * A journal in DATA_DIR/staging names every staging folder and every planned move before the first byte is staged.
 * After a crash, `recover()` reads it: when the database holds the import's `archive_import` row the commit happened
 * and the moves are finished (roll forward); otherwise the staged files are deleted and the library is as it was.
 */
const JOURNAL_SUFFIX = '.journal.json';
/** Where a staged file may be moved (OUTPUT_DIR is among the roots the guard is given here). */
const MOVE_ZONES = ['library', 'data', 'recipes'] as const;
/** A journal's id names its file and its folders: one plain path segment (imports use UUIDs). */
const JOURNAL_ID = /^[A-Za-z0-9_-]{1,100}$/;
/** A journal from another machine (shared DATA_DIR) is only recovered when this old. */
const FOREIGN_JOURNAL_AGE_MS = 24 * 3_600_000;

export interface PlannedMove {
  /** Final path. */
  to: string;
  /** Modification time to restore after the move (ISO), or null. */
  mtime: string | null;
}

interface JournalMove extends PlannedMove {
  from: string;
}

interface Journal {
  id: string;
  pid: number;
  host: string;
  created_at: string;
  dirs: string[];
  moves: JournalMove[];
}

export interface RecoveryReport {
  rolledForward: string[];
  discarded: string[];
}

export class StagingArea {
  readonly dir: string;
  private readonly guard: ImportWriteGuard;

  constructor(
    dataDir: string,
    private readonly roots: () => Promise<string[]>,
    private readonly isCommitted: (importId: string) => Promise<boolean>,
    private readonly logger: Logger,
  ) {
    this.dir = path.join(dataDir, 'staging');
    // Moves are checked like an import's writes, in the library and data zones: OUTPUT_DIR is among `roots` here,
    // so the guard's own output zone is not used (hence DATA_DIR in its place).
    this.guard = new ImportWriteGuard(dataDir, dataDir);
  }

  /** Plan the staging paths for `moves` and write the journal; nothing is staged yet. */
  async begin(importId: string, moves: readonly PlannedMove[]): Promise<StagingSession> {
    await fs.mkdir(this.dir, { recursive: true });
    const ownDevice = (await fs.stat(this.dir)).dev;
    const roots = await this.roots();
    const dirs = new Map<string, string>();
    const journalMoves: JournalMove[] = [];
    for (const [index, move] of moves.entries()) {
      const device = await deviceOf(path.dirname(move.to));
      let stagingDir = path.join(this.dir, importId);
      if (device !== null && device !== ownDevice) {
        const root = roots.find((r) => move.to.startsWith(r + path.sep)) ?? path.dirname(move.to);
        stagingDir = path.join(root, ROOT_STAGING_DIR, importId);
      }
      dirs.set(stagingDir, stagingDir);
      journalMoves.push({ ...move, from: path.join(stagingDir, String(index)) });
    }
    dirs.set(path.join(this.dir, importId), path.join(this.dir, importId));
    const journal: Journal = {
      id: importId,
      pid: process.pid,
      host: os.hostname(),
      created_at: new Date().toISOString(),
      dirs: [...dirs.keys()],
      moves: journalMoves,
    };
    await writeAtomically(this.journalPath(importId), JSON.stringify(journal, null, 2));
    for (const dir of journal.dirs) await fs.mkdir(dir, { recursive: true });
    const mayWrite = (to: string) => this.guard.allows(to, MOVE_ZONES, roots);
    return new StagingSession(journal, this.journalPath(importId), this.logger, mayWrite);
  }

  /**
   * Finish or undo what crashed imports left, and delete staging folders no journal claims. A journal is only data
   * on disk: one that names a folder other than a staging folder of its own id, or a move from outside those folders
   * or to a place an import may not write, is not acted on (logged and removed). Deletions are decided by real path.
   */
  async recover(): Promise<RecoveryReport> {
    const report: RecoveryReport = { rolledForward: [], discarded: [] };
    const names = await fs.readdir(this.dir).catch(() => [] as string[]);
    const roots = await this.roots();
    const stagingDirs = await this.realStagingDirs(roots);
    const claimed = new Set<string>();
    for (const name of names.filter((n) => n.endsWith(JOURNAL_SUFFIX))) {
      const file = path.join(this.dir, name);
      const journal = await readJournal(file);
      const problem = journal ? await this.journalProblem(journal, name, roots, stagingDirs) : 'unreadable';
      if (!journal || problem) {
        this.logger.warn({ journal: file, problem }, 'ignored a staging journal that names what an import never stages; removed it');
        await fs.rm(file, { force: true });
        continue;
      }
      claimed.add(journal.id);
      if (await this.stillRunning(journal)) continue;
      const session = new StagingSession(journal, file, this.logger, this.mayWrite);
      if (await this.isCommitted(journal.id)) {
        await session.finish();
        report.rolledForward.push(journal.id);
        this.logger.warn({ importId: journal.id }, 'finished moving the files of an import that was interrupted after its commit');
      } else {
        await session.discard();
        report.discarded.push(journal.id);
        this.logger.warn({ importId: journal.id }, 'discarded the staged files of an import that was interrupted before its commit');
      }
    }
    // Staging folders without a journal: the journal is written before any folder, so these are leftovers.
    const candidates = [
      ...names.filter((n) => !n.endsWith(JOURNAL_SUFFIX) && !n.endsWith('.tmp')).map((n) => ({ id: n, dir: path.join(this.dir, n) })),
    ];
    for (const root of roots) {
      for (const n of await fs.readdir(path.join(root, ROOT_STAGING_DIR)).catch(() => [] as string[])) {
        candidates.push({ id: n, dir: path.join(root, ROOT_STAGING_DIR, n) });
      }
    }
    for (const { id, dir } of candidates) {
      if (claimed.has(id)) continue;
      if (await removeStagingEntry(dir, stagingDirs, this.logger)) {
        if (!report.discarded.includes(id)) report.discarded.push(id);
      }
    }
    for (const root of roots) await fs.rmdir(path.join(root, ROOT_STAGING_DIR)).catch(() => undefined);
    return report;
  }

  /** Why a journal cannot be one `begin()` wrote, or null when it can. */
  private async journalProblem(journal: Journal, fileName: string, roots: readonly string[], stagingDirs: readonly string[]): Promise<string | null> {
    if (!JOURNAL_ID.test(journal.id) || fileName !== `${journal.id}${JOURNAL_SUFFIX}`) return 'id does not match its file name';
    const expected = new Set([path.join(this.dir, journal.id), ...roots.map((r) => path.join(r, ROOT_STAGING_DIR, journal.id))]);
    for (const dir of journal.dirs) {
      if (typeof dir !== 'string' || !expected.has(dir)) return `names a folder that is not a staging folder: ${String(dir)}`;
      const real = await fs.realpath(dir).catch(() => null);
      if (real !== null && !stagingDirs.some((s) => real !== s && isInside(s, real))) return `a staging folder leads elsewhere: ${dir}`;
    }
    for (const move of journal.moves) {
      if (typeof move?.from !== 'string' || typeof move.to !== 'string' || !path.isAbsolute(move.to)) return 'a move is malformed';
      if (!journal.dirs.some((d) => path.dirname(move.from) === d)) return `a move starts outside its staging folders: ${move.from}`;
      if (!(await this.guard.allows(move.to, MOVE_ZONES, roots))) return `a move ends where imports may not write: ${move.to}`;
    }
    return null;
  }

  /** The real paths of DATA_DIR/staging and of each root's staging folder that is a real folder (not a link). */
  private async realStagingDirs(roots: readonly string[]): Promise<string[]> {
    const out: string[] = [];
    const own = await fs.realpath(this.dir).catch(() => null);
    if (own) out.push(own);
    for (const root of roots) {
      const realRoot = await fs.realpath(root).catch(() => null);
      if (!realRoot) continue;
      const dir = path.join(realRoot, ROOT_STAGING_DIR);
      if ((await fs.realpath(dir).catch(() => null)) === dir) out.push(dir);
    }
    return out;
  }

  /** Checked again for every move, at the moment of the rename (a folder may have become a link since the plan). */
  private readonly mayWrite = async (to: string): Promise<boolean> => this.guard.allows(to, MOVE_ZONES, await this.roots());

  private async stillRunning(journal: Journal): Promise<boolean> {
    if (journal.host !== os.hostname()) return Date.now() - Date.parse(journal.created_at) < FOREIGN_JOURNAL_AGE_MS;
    if (journal.pid === process.pid) return true;
    try {
      process.kill(journal.pid, 0);
      return true;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'EPERM';
    }
  }

  private journalPath(importId: string): string {
    return path.join(this.dir, `${importId}${JOURNAL_SUFFIX}`);
  }
}

export class StagingSession {
  private readonly byTarget: Map<string, JournalMove>;

  constructor(
    private readonly journal: Journal,
    private readonly journalFile: string,
    private readonly logger: Logger,
    private readonly mayWrite: (to: string) => Promise<boolean> = async () => true,
  ) {
    this.byTarget = new Map(journal.moves.map((m) => [m.to, m]));
  }

  get id(): string {
    return this.journal.id;
  }

  /** Where to write the staged copy of the file that will end up at `target`. */
  stagedPath(target: string): string {
    const move = this.byTarget.get(target);
    if (!move) throw new Error(`no staged move planned for ${target}`);
    return move.from;
  }

  /** After the commit: move every staged file into place, restore its mtime, remove staging. Idempotent. */
  async finish(): Promise<{ moved: number; failed: string[] }> {
    let moved = 0;
    const failed: string[] = [];
    for (const move of this.journal.moves) {
      try {
        await fs.access(move.from);
      } catch {
        continue; // already moved by an earlier, interrupted finish()
      }
      if (!(await this.mayWrite(move.to))) {
        failed.push(move.to);
        this.logger.error({ from: move.from, to: move.to }, 'refused to move an imported file where imports may not write; it stays staged');
        continue;
      }
      try {
        await fs.mkdir(path.dirname(move.to), { recursive: true });
        await fs.rename(move.from, move.to);
        if (move.mtime) {
          const mtime = new Date(move.mtime);
          await fs.utimes(move.to, mtime, mtime).catch(() => undefined);
        }
        moved += 1;
      } catch (error) {
        failed.push(move.to);
        this.logger.error({ err: error, from: move.from, to: move.to }, 'could not move an imported file into place; it stays staged for the next start');
      }
    }
    if (failed.length === 0) await this.removeAll();
    return { moved, failed };
  }

  /** Before (or instead of) the commit: delete everything staged. The library was never touched. */
  async discard(): Promise<void> {
    await this.removeAll();
  }

  private async removeAll(): Promise<void> {
    for (const dir of this.journal.dirs) {
      await fs.rm(dir, { recursive: true, force: true });
      // Remove the per-root staging folder too once it is empty.
      if (path.basename(path.dirname(dir)) === ROOT_STAGING_DIR) await fs.rmdir(path.dirname(dir)).catch(() => undefined);
    }
    await fs.rm(this.journalFile, { force: true });
  }
}

/**
 * Remove one leftover below a staging folder. Only what really lies inside one of `stagingDirs` is removed; a link
 * there is unlinked, never followed. Returns whether something was removed.
 */
async function removeStagingEntry(entry: string, stagingDirs: readonly string[], logger: Logger): Promise<boolean> {
  const stat = await fs.lstat(entry).catch(() => null);
  if (!stat) return false;
  const parent = await fs.realpath(path.dirname(entry)).catch(() => null);
  if (parent === null || !stagingDirs.includes(parent)) {
    logger.warn({ entry }, 'left a staging leftover alone: its folder is not a real staging folder');
    return false;
  }
  if (stat.isSymbolicLink()) await fs.unlink(entry);
  else await fs.rm(entry, { recursive: true, force: true });
  return true;
}

async function deviceOf(dir: string): Promise<number | null> {
  let current = dir;
  for (;;) {
    const stat = await fs.stat(current).catch(() => null);
    if (stat) return stat.dev;
    const parent = path.dirname(current);
    if (parent === current) return null;
    current = parent;
  }
}

async function readJournal(file: string): Promise<Journal | null> {
  try {
    const value = JSON.parse(await fs.readFile(file, 'utf8')) as Journal;
    return typeof value.id === 'string' && Array.isArray(value.moves) && Array.isArray(value.dirs) ? value : null;
  } catch {
    return null;
  }
}

async function writeAtomically(file: string, content: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  const handle = await fs.open(tmp, 'w');
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(tmp, file);
}
