import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MANIFEST_NAME } from '../../src/lib/archive-manifest.ts';
import { createContainer } from '../../src/container.ts';
import { allAdapters, exportZip, importZip, seedLibrary, snapshot, wipe } from '../support/archive-fixtures.ts';
import { createTestApp, openTestDatabase, TEST_DIALECTS, type TestApp, type TestDialect } from '../support/test-app.ts';
import { buildZip, type RawEntry } from '../support/zip-builder.ts';

interface HostileFile {
  /** Where the archive says the file belongs, below the import root (or DATA_DIR for root_kind data). */
  relative_path: string;
  data: string;
  kind?: string;
  root_kind?: 'library' | 'data';
}

/** An archive in the original's format (no checksums to forge): one adapter, its metadata row and the given files. */
function hostileArchive(doc: Record<string, unknown>, files: HostileFile[] = []): Buffer {
  const id = `hostile-${randomUUID()}`;
  const entries: RawEntry[] = files.map((f, i) => ({ name: `adapters/${id}/files/${i}`, data: f.data }));
  const manifest = {
    generated_at: '2025-01-01T00:00:00',
    adapters: [
      {
        id,
        name: String(doc.name),
        metadata_path: `adapters/${id}/metadata.json`,
        files: files.map((f, i) => ({
          kind: f.kind ?? 'primary',
          original_path: `/elsewhere/${path.basename(f.relative_path)}`,
          original_name: path.basename(f.relative_path),
          exists: true,
          size: f.data.length,
          archive_path: `adapters/${id}/files/${i}`,
          relative_path: f.relative_path,
          root_kind: f.root_kind ?? 'library',
        })),
      },
    ],
  };
  return buildZip([{ name: MANIFEST_NAME, data: JSON.stringify(manifest) }, { name: `adapters/${id}/metadata.json`, data: JSON.stringify(doc) }, ...entries]);
}

function tempDir(prefix: string): string {
  return fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
}

/** A folder outside every root and outside DATA_DIR, with a file in it: what must survive. */
function victim(): { dir: string; files: Record<string, string> } {
  const dir = tempDir('lm-victim-');
  fs.writeFileSync(path.join(dir, 'precious.txt'), 'do not delete me');
  fs.mkdirSync(path.join(dir, 'sub'));
  fs.writeFileSync(path.join(dir, 'sub', 'also.txt'), 'nor me');
  return { dir, files: snapshot(dir) };
}

/** A new container on the same DATA_DIR and roots: what the next start of the server does. */
async function restart(t: TestApp, dialect: TestDialect): Promise<void> {
  const { database, dispose } = await openTestDatabase(dialect);
  const container = await createContainer(t.config, { database, logger: pino({ level: 'silent' }) });
  await container.close();
  await dispose();
}

function writeJournal(t: TestApp, id: string, dirs: string[], moves: Array<{ from: string; to: string }> = []): string {
  const staging = path.join(t.dataDir, 'staging');
  fs.mkdirSync(staging, { recursive: true });
  const file = path.join(staging, `${id}.journal.json`);
  const deadPid = spawnSync(process.execPath, ['-e', '0']).pid;
  fs.writeFileSync(file, JSON.stringify({ id, pid: deadPid, host: os.hostname(), created_at: new Date().toISOString(), dirs, moves: moves.map((m) => ({ ...m, mtime: null })) }));
  return file;
}

describe.each(TEST_DIALECTS)('archive confinement on %s', (dialect) => {
  const cleanup: string[] = [];
  afterEach(() => {
    for (const dir of cleanup.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('staging recovery at the next start', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp(dialect);
    });
    afterAll(async () => t.close());

    it('does not delete a folder outside DATA_DIR/staging that a planted journal names', async () => {
      const outside = victim();
      cleanup.push(outside.dir);
      const journal = writeJournal(t, randomUUID(), [outside.dir, path.join(t.dataDir, 'staging', '..', '..', path.relative(path.dirname(t.dataDir), outside.dir))]);
      await restart(t, dialect);
      expect(snapshot(outside.dir)).toEqual(outside.files);
      expect(fs.existsSync(journal)).toBe(false); // the bogus journal is dropped, not kept for every start
    });

    it('does not follow a symbolic link inside staging to a folder outside', async () => {
      const outside = victim();
      cleanup.push(outside.dir);
      const staging = path.join(t.dataDir, 'staging');
      fs.mkdirSync(staging, { recursive: true });
      const id = randomUUID();
      fs.symlinkSync(outside.dir, path.join(staging, id));
      // A journal naming a folder below the link, and an orphan link with no journal at all.
      writeJournal(t, id, [path.join(staging, id, 'sub')]);
      const orphan = victim();
      cleanup.push(orphan.dir);
      fs.symlinkSync(orphan.dir, path.join(staging, randomUUID()));
      await restart(t, dialect);
      expect(snapshot(outside.dir)).toEqual(outside.files);
      expect(snapshot(orphan.dir)).toEqual(orphan.files);
    });

    it('does not empty a linked per-root staging folder', async () => {
      const outside = victim();
      cleanup.push(outside.dir);
      fs.symlinkSync(outside.dir, path.join(t.libraryDir, '.lora-manager-staging'));
      await restart(t, dialect);
      expect(snapshot(outside.dir)).toEqual(outside.files);
      fs.rmSync(path.join(t.libraryDir, '.lora-manager-staging'));
    });

    it('does not move a staged file through a folder that became a link after the plan', async () => {
      const outside = victim();
      cleanup.push(outside.dir);
      const target = path.join(t.libraryDir, 'later-linked', 'x.safetensors');
      const session = await t.container.services.staging.begin(randomUUID(), [{ to: target, mtime: null }]);
      fs.writeFileSync(session.stagedPath(target), 'staged');
      fs.symlinkSync(outside.dir, path.join(t.libraryDir, 'later-linked'));
      const { failed } = await session.finish();
      expect(failed).toEqual([target]);
      expect(snapshot(outside.dir)).toEqual(outside.files);
      await session.discard();
      fs.rmSync(path.join(t.libraryDir, 'later-linked'));
    });

    it('does not move files a planted journal names into DATA_DIR or out of the roots', async () => {
      const outside = victim();
      cleanup.push(outside.dir);
      const id = randomUUID();
      const dbFile = path.join(t.dataDir, 'lora-manager.db');
      fs.writeFileSync(dbFile, 'the database');
      writeJournal(t, id, [], [{ from: path.join(outside.dir, 'precious.txt'), to: dbFile }]);
      await t.container.repositories.archive.insertImport({ id, source: 'x.zip', mode: 'merge', status: 'committed', summary: null, created_at: '2025-01-01T00:00:00.000Z', committed_at: '2025-01-01T00:00:00.000Z' });
      // Recovery against this catalogue sees the commit row, so it would roll the planted moves forward.
      await t.container.services.staging.recover();
      expect(snapshot(outside.dir)).toEqual(outside.files);
      expect(fs.readFileSync(dbFile, 'utf8')).toBe('the database');
    });
  });

  describe('a library root that contains DATA_DIR', () => {
    let t: TestApp;
    let base: string;
    let dataDir: string;
    beforeAll(async () => {
      base = tempDir('lm-layout-');
      dataDir = path.join(base, 'data');
      t = await createTestApp(dialect, { DATA_DIR: dataDir, LORA_PATHS: base });
    });
    afterAll(async () => {
      await t.close();
      fs.rmSync(base, { recursive: true, force: true });
    });

    // Such a root is refused by the root policy (library_root_forbidden), so the import has no root to write into;
    // the write guard's own rule for this layout is unit-tested in src/archive/services/write-guard.test.ts.
    it('never writes the database, its journals, backups or staging', async () => {
      fs.writeFileSync(path.join(dataDir, 'lora-manager.db'), 'the real database');
      fs.writeFileSync(path.join(dataDir, 'lora-manager.db-wal'), 'its wal');
      fs.mkdirSync(path.join(dataDir, 'backups'), { recursive: true });
      fs.writeFileSync(path.join(dataDir, 'backups', 'backup_kept.zip'), 'a backup');
      const before = snapshot(dataDir);
      for (const relative of ['data/lora-manager.db', 'data/lora-manager.db-wal', 'data/backups/backup_kept.zip', `data/staging/${randomUUID()}.journal.json`, 'data/thumbnails/ab/x.webp', 'loras/fine.safetensors']) {
        const zip = hostileArchive({ name: `into ${relative}` }, [{ relative_path: relative, data: JSON.stringify({ id: 'x', dirs: ['/'], moves: [] }) }]);
        const { status, body } = await importZip(t, zip, { conflict_resolution: 'overwrite' });
        expect(status).toBe(200);
        expect(body.results[0]).toMatchObject({ status: 'error', code: 'no_library_root' });
        expect(snapshot(dataDir)).toEqual(before);
        expect(fs.existsSync(path.join(base, 'loras'))).toBe(false);
        expect(await allAdapters(t)).toEqual([]);
      }
    });
  });

  describe('file kinds an archive may write', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp(dialect);
    });
    afterAll(async () => t.close());
    beforeEach(async () => wipe(t));

    it.each([
      ['a script beside the LoRAs', 'webui-user.sh', 'library'],
      ['a hidden file', '.bashrc', 'library'],
      ['a git hook', 'fp/.git/hooks/pre-commit', 'library'],
      ['a hidden folder with an innocent name', '.config/x.json', 'library'],
      ['a script in DATA_DIR/previews', 'previews/x.sh', 'data'],
      ['a sidecar-looking file in DATA_DIR/previews', 'previews/x.json', 'data'],
    ] as const)('refuses %s, even over an existing file with overwrite', async (_what, relative, rootKind) => {
      const base = rootKind === 'data' ? t.dataDir : t.libraryDir;
      const existing = path.join(base, relative);
      fs.mkdirSync(path.dirname(existing), { recursive: true });
      fs.writeFileSync(existing, 'ORIGINAL');
      const zip = hostileArchive({ name: 'planted' }, [
        { relative_path: 'planted.safetensors', data: 'weights' },
        { relative_path: relative, data: 'echo PWNED', kind: 'sidecar', root_kind: rootKind },
      ]);
      const { body } = await importZip(t, zip, { conflict_resolution: 'overwrite' });
      expect(body.results[0]).toMatchObject({ status: 'error', code: 'archive_file_type_refused' });
      expect(fs.readFileSync(existing, 'utf8')).toBe('ORIGINAL');
      expect(fs.existsSync(path.join(t.libraryDir, 'planted.safetensors'))).toBe(false);
    });

    it('still imports a LoRA with its sidecars and previews', async () => {
      const zip = hostileArchive({ name: 'fine' }, [
        { relative_path: 'sub/fine.safetensors', data: 'weights' },
        { relative_path: 'sub/fine.civitai.info', data: '{}', kind: 'sidecar' },
        { relative_path: 'sub/fine.preview.png', data: 'png', kind: 'sidecar' },
      ]);
      const { body } = await importZip(t, zip);
      expect(body.results[0]).toMatchObject({ status: 'imported' });
      expect(fs.readFileSync(path.join(t.libraryDir, 'sub', 'fine.civitai.info'), 'utf8')).toBe('{}');
    });
  });

  describe('linked folders inside a library root', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp(dialect);
    });
    afterAll(async () => t.close());
    beforeEach(async () => wipe(t));

    it('refuses to write through a link that leads out of the roots', async () => {
      const outside = victim();
      cleanup.push(outside.dir);
      fs.symlinkSync(outside.dir, path.join(t.libraryDir, 'linked'));
      const zip = hostileArchive({ name: 'escape' }, [
        { relative_path: 'linked/evil.safetensors', data: 'pwned' },
        { relative_path: 'linked/sub/also.txt', data: 'pwned', kind: 'sidecar' },
      ]);
      const { body } = await importZip(t, zip, { conflict_resolution: 'overwrite' });
      expect(body.results[0]).toMatchObject({ status: 'error', code: 'archive_target_outside_roots' });
      expect(snapshot(outside.dir)).toEqual(outside.files);
      expect(await allAdapters(t)).toEqual([]);
    });

    it('refuses to write through a link into DATA_DIR', async () => {
      fs.writeFileSync(path.join(t.dataDir, 'lora-manager.db'), 'the real database');
      fs.symlinkSync(t.dataDir, path.join(t.libraryDir, 'data-link'));
      const before = snapshot(t.dataDir);
      // A LoRA-looking name, so only the link decides (a `.db` name is refused by its type before the guard sees it).
      const zip = hostileArchive({ name: 'into data' }, [{ relative_path: 'data-link/lora-manager.safetensors', data: 'pwned' }]);
      const { body } = await importZip(t, zip, { conflict_resolution: 'overwrite' });
      expect(body.results[0]).toMatchObject({ status: 'error', code: 'archive_target_forbidden' });
      expect(snapshot(t.dataDir)).toEqual(before);
    });

    it('refuses to write into a root’s staging folder', async () => {
      // The staging folder is hidden, so its name alone refuses it; the write guard would refuse it next.
      const zip = hostileArchive({ name: 'into staging' }, [{ relative_path: `.lora-manager-staging/${randomUUID()}/0.safetensors`, data: 'pwned' }]);
      const { body } = await importZip(t, zip);
      expect(body.results[0]).toMatchObject({ status: 'error', code: 'archive_file_type_refused' });
      expect(fs.existsSync(path.join(t.libraryDir, '.lora-manager-staging'))).toBe(false);
    });

    it('refuses data files outside DATA_DIR/previews', async () => {
      fs.mkdirSync(path.join(t.dataDir, 'deliveries'), { recursive: true });
      const before = snapshot(t.dataDir);
      const zip = hostileArchive({ name: 'data file' }, [{ relative_path: 'deliveries/run.png', data: 'pwned', root_kind: 'data', kind: 'preview' }]);
      const { body } = await importZip(t, zip);
      expect(body.results[0]).toMatchObject({ status: 'error', code: 'archive_target_forbidden' });
      expect(snapshot(t.dataDir)).toEqual(before);
    });
  });

  describe('a DATA_DIR reached through a link', () => {
    let t: TestApp;
    let base: string;
    beforeAll(async () => {
      base = tempDir('lm-linked-data-');
      fs.mkdirSync(path.join(base, 'real-data'));
      fs.symlinkSync(path.join(base, 'real-data'), path.join(base, 'data'));
      t = await createTestApp(dialect, { DATA_DIR: path.join(base, 'data') });
    });
    afterAll(async () => {
      await t.close();
      fs.rmSync(base, { recursive: true, force: true });
    });

    it('still takes previews into DATA_DIR/previews', async () => {
      const zip = hostileArchive({ name: 'with preview' }, [
        { relative_path: 'wp/wp.safetensors', data: 'weights' },
        { relative_path: 'previews/civitai/wp.png', data: 'png', root_kind: 'data', kind: 'preview' },
      ]);
      const { body } = await importZip(t, zip);
      expect(body.results[0]).toMatchObject({ status: 'imported', created: 1 });
      expect(fs.readFileSync(path.join(base, 'real-data', 'previews', 'civitai', 'wp.png'), 'utf8')).toBe('png');
    });
  });

  describe('paths in an archive’s adapter rows', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp(dialect);
    });
    afterAll(async () => t.close());
    beforeEach(async () => wipe(t));

    it('stores a preview_path outside the roots, into DATA_DIR or with ".." as null', async () => {
      const hostile = ['/etc/passwd', path.join(t.dataDir, 'lora-manager.db'), `${t.libraryDir}/../../etc/passwd`, '../secret.png', 'relative/preview.png'];
      for (const [i, preview] of hostile.entries()) {
        const zip = hostileArchive({ name: `p${i}`, preview_path: preview, json_file_path: preview, primary_file_local_path: preview }, [
          { relative_path: `p${i}/p.safetensors`, data: 'weights' },
        ]);
        const { body } = await importZip(t, zip);
        expect(body.results[0]).toMatchObject({ status: 'imported' });
      }
      for (const adapter of await allAdapters(t)) {
        expect(adapter.preview_path).toBeNull();
        expect(adapter.json_file_path).toBeNull();
        expect(adapter.primary_file_local_path).toBe(adapter.file_path);
      }
    });

    it('does not record a LoRA file outside the roots for an adapter whose file the archive lacks', async () => {
      const zip = hostileArchive({ name: 'metadata only', file_path: '/etc/passwd', library_root: '/etc', relative_path: '../../etc/passwd' });
      const { body } = await importZip(t, zip);
      expect(body.results[0]).toMatchObject({ status: 'imported', created: 1 });
      const [adapter] = await allAdapters(t);
      expect(adapter).toMatchObject({ missing: true, library_root: null, relative_path: null });
      expect(adapter.file_path).not.toContain('/etc');
    });

    it('keeps a preview_path inside a library root', async () => {
      const preview = t.libraryFile('kept/p.preview.png', 'png');
      const zip = hostileArchive({ name: 'kept', preview_path: preview }, [{ relative_path: 'kept/p.safetensors', data: 'weights' }]);
      await importZip(t, zip);
      expect((await allAdapters(t))[0].preview_path).toBe(preview);
    });
  });

  describe('restoring a hostile backup', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp(dialect);
    });
    afterAll(async () => t.close());
    beforeEach(async () => wipe(t));

    const manifest: RawEntry = { name: MANIFEST_NAME, data: JSON.stringify({ format: 'lora-manager-archive', format_version: 1, adapters: [], entries: [] }) };
    it.each([
      ['zip-slip entry', [manifest, { name: '../evil.txt', data: 'pwned' }], 'zip_entry_unsafe'],
      ['symlink entry', [manifest, { name: 'adapters/x/files/0_link', data: '/etc/passwd', unixMode: 0o120777, method: 0 as const }], 'zip_symlink'],
      ['bad manifest', [{ name: MANIFEST_NAME, data: '{not json' }], 'manifest_invalid'],
      ['missing manifest', [{ name: 'other.txt', data: 'x' }], 'manifest_missing'],
    ])('answers a %s with its own code, not backup_file_missing', async (_what, entries, code) => {
      const id = `backup_hostile_${code}`;
      fs.mkdirSync(path.join(t.dataDir, 'backups'), { recursive: true });
      fs.writeFileSync(path.join(t.dataDir, 'backups', `${id}.zip`), buildZip(entries as RawEntry[]));
      await t.app.inject({ method: 'GET', url: '/api/v1/backups' }); // the folder is read: the backup is listed
      for (const url of [`/api/v1/backups/${id}/restore`, `/api/v1/backups/${id}/restore/jobs`]) {
        const res = await t.app.inject({ method: 'POST', url, payload: { backup_before: false } });
        expect(res.statusCode).toBeGreaterThanOrEqual(400);
        expect(res.statusCode).toBeLessThan(500);
        expect(res.json().code).toBe(code);
      }
      expect(fs.existsSync(path.join(t.dataDir, 'evil.txt'))).toBe(false);
      expect(fs.existsSync(path.join(t.dataDir, 'backups', '..', '..', 'evil.txt'))).toBe(false);
    });

    it('still says backup_file_missing when the file really is gone', async () => {
      await seedLibrary(t, 1);
      const created = (await t.app.inject({ method: 'POST', url: '/api/v1/backup/create', payload: { backup_type: 'metadata' } })).json().backup;
      fs.rmSync(path.join(t.dataDir, 'backups', `${created.id}.zip`));
      const res = await t.app.inject({ method: 'POST', url: `/api/v1/backups/${created.id}/restore`, payload: {} });
      expect(res.statusCode).toBe(404);
      expect(res.json().code).toBe('backup_file_missing');
    });

    it('never reads a backup file outside DATA_DIR/backups', async () => {
      await seedLibrary(t, 1);
      const outsideZip = path.join(tempDir('lm-outside-'), 'elsewhere.zip');
      cleanup.push(path.dirname(outsideZip));
      fs.writeFileSync(outsideZip, await exportZip(t));
      fs.mkdirSync(path.join(t.dataDir, 'backups'), { recursive: true });
      fs.symlinkSync(outsideZip, path.join(t.dataDir, 'backups', 'backup_linked.zip'));
      const row = { backup_type: 'full', trigger: 'manual', status: 'completed', size: 1, sha256: null, adapter_count: 1, file_count: 1, note: null, error: null };
      const stamp = { created_at: '2025-01-01T00:00:00.000Z', completed_at: '2025-01-01T00:00:00.000Z' };
      await t.container.repositories.archive.insertBackup({ ...row, ...stamp, id: 'backup_linked', file_name: 'backup_linked.zip' });
      await t.container.repositories.archive.insertBackup({ ...row, ...stamp, id: 'backup_dotdot', file_name: '..' });
      for (const id of ['backup_linked', 'backup_dotdot']) {
        for (const [method, url] of [['GET', `/api/v1/backups/${id}/download`], ['POST', `/api/v1/backups/${id}/restore`]] as const) {
          const res = await t.app.inject({ method, url, ...(method === 'POST' ? { payload: {} } : {}) });
          expect(res.statusCode).toBe(404);
          expect(res.json().code).toBe('backup_file_missing');
        }
      }
    });
  });
});
