import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createContainer, type Container } from '../../src/container.ts';
import { snapshot } from '../support/archive-fixtures.ts';

const serverDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const FILES = 4;
const FILE_BYTES = 24 * 1024 * 1024;

/**
 * Kill -9 in the middle of an import: a real child process imports a ~100 MB archive into a SQLite database file and
 * is killed half-way through staging. Reopening the database (a new start) must show no adapter of the archive, no
 * file of it in the library, and no staging leftovers.
 */
describe('an import killed half-way', () => {
  let tmp: string;
  let libraryDir: string;
  let dataDir: string;
  let archive: string;

  const open = async (): Promise<Container> => {
    const config = loadConfig({ DATA_DIR: dataDir, LORA_PATHS: libraryDir, LOG_LEVEL: 'silent' }, tmp);
    return createContainer(config, { logger: pino({ level: 'silent' }) });
  };

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lm-crash-'));
    libraryDir = path.join(tmp, 'library');
    dataDir = path.join(tmp, 'data');
    fs.mkdirSync(libraryDir, { recursive: true });
    const c = await open();
    for (let i = 0; i < FILES; i++) {
      const file = path.join(libraryDir, 'big', `big_${i}.safetensors`);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, randomBytes(FILE_BYTES));
      await c.services.adapters.create({ name: `big ${i}`, file_path: file });
    }
    const plan = await c.services.archiveExport.plan(c.services.archiveExport.options({ loras: true }));
    archive = path.join(tmp, 'big.zip');
    await c.services.archiveExport.writeFile(plan, archive);
    await c.repositories.adapters.deleteByIds(await c.repositories.archive.allAdapterIds());
    await c.close();
    fs.rmSync(path.join(libraryDir, 'big'), { recursive: true });
  }, 120_000);
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('leaves no adapter and no file behind, and the next start cleans the staging area', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(serverDir, 'test/support/import-child.ts'), dataDir, libraryDir, archive], {
      cwd: serverDir,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('\n')) resolve(out.trim());
      });
      child.on('exit', (code) => reject(new Error(`child exited (${code}) before staging: ${out}`)));
    });
    expect(line).toMatch(/^STAGING \d+$/);
    const exited = new Promise((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    // The moment of the crash: half the archive staged in DATA_DIR, nothing in the library or the database.
    const staging = path.join(dataDir, 'staging');
    const left = fs.readdirSync(staging);
    expect(left.some((n) => n.endsWith('.journal.json'))).toBe(true);
    const stagedBytes = Object.keys(snapshot(staging)).reduce((n, f) => n + fs.statSync(path.join(staging, f)).size, 0);
    expect(stagedBytes).toBeGreaterThan(0);
    expect(snapshot(libraryDir)).toEqual({});

    // The next start.
    const c = await open();
    try {
      expect(await c.repositories.archive.allAdapterIds()).toEqual([]);
      expect(await c.database.db.selectFrom('archive_import').selectAll().execute()).toEqual([]);
      expect(snapshot(libraryDir)).toEqual({});
      expect(fs.readdirSync(staging)).toEqual([]);

      // And the same archive imports completely afterwards.
      const result = await c.services.archiveImport.importArchive(archive, 'big.zip', c.services.archiveImport.options({ backup_before: false }));
      expect(result).toMatchObject({ status: 'imported', created: FILES, files_written: FILES });
      expect(Object.keys(snapshot(libraryDir))).toHaveLength(FILES);
    } finally {
      await c.close();
    }
  }, 120_000);
});

/** The other crash window: after the commit, before every staged file was moved. The next start finishes the moves. */
describe('recovery of interrupted imports', () => {
  it('rolls a committed import forward and throws an uncommitted one away', async () => {
    const { createTestApp } = await import('../support/test-app.ts');
    const t = await createTestApp('sqlite');
    try {
      const { staging } = t.container.services;
      const deadPid = spawnSync(process.execPath, ['-e', '0']).pid;
      const stage = async (id: string, to: string) => {
        const session = await staging.begin(id, [{ to, mtime: '2024-05-01T10:00:00.000Z' }]);
        fs.writeFileSync(session.stagedPath(to), `content of ${id}`);
        const journal = path.join(staging.dir, `${id}.journal.json`);
        fs.writeFileSync(journal, JSON.stringify({ ...JSON.parse(fs.readFileSync(journal, 'utf8')), pid: deadPid }));
      };
      const committedTarget = path.join(t.libraryDir, 'done', 'a.safetensors');
      const abandonedTarget = path.join(t.libraryDir, 'never', 'b.safetensors');
      await stage('committed-import', committedTarget);
      await stage('abandoned-import', abandonedTarget);
      await t.container.repositories.archive.insertImport({
        id: 'committed-import',
        source: 'x.zip',
        mode: 'merge',
        status: 'committed',
        summary: null,
        created_at: new Date().toISOString(),
        committed_at: new Date().toISOString(),
      });

      const report = await staging.recover();
      expect(report).toEqual({ rolledForward: ['committed-import'], discarded: ['abandoned-import'] });
      expect(fs.readFileSync(committedTarget, 'utf8')).toBe('content of committed-import');
      expect(fs.statSync(committedTarget).mtime.toISOString()).toBe('2024-05-01T10:00:00.000Z');
      expect(fs.existsSync(abandonedTarget)).toBe(false);
      expect(fs.readdirSync(staging.dir)).toEqual([]);
    } finally {
      await t.close();
    }
  });
});
