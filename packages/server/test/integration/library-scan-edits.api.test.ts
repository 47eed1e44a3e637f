import fs from 'node:fs';
import path from 'node:path';
import type { Adapter } from '@lora-manager/contract';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AdapterRepository } from '../../src/library/repositories/adapter.repository.ts';
import { LibraryRepository } from '../../src/library/repositories/library.repository.ts';
import { InlineAnalyser } from '../../src/workers/analyse-pool.ts';
import { LibraryScanService, type LibraryTransaction } from '../../src/library/services/library-scan.service.ts';
import { exportZip, importZip } from '../support/archive-fixtures.ts';
import { adapterAt, adapters, api, resetLibrary, scan, writeLora } from '../support/library.ts';
import { createTestApp, TEST_DIALECTS, type TestApp } from '../support/test-app.ts';

/** A LoRA with an A1111 sidecar (NAME.json) whose notes and description a scan copies into the catalogue. */
function loraWithSidecar(t: TestApp, relative: string, sidecar: Record<string, unknown>, template?: string): string {
  const file = path.join(t.libraryDir, relative);
  if (template) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.copyFileSync(template, file);
  } else {
    writeLora(file);
  }
  fs.writeFileSync(file.replace(/\.safetensors$/, '.json'), JSON.stringify(sidecar));
  return file;
}

async function getAdapter(t: TestApp, id: string): Promise<Adapter> {
  return (await api<{ adapter: Adapter }>(t, 'GET', `/adapters/${id}`, undefined, 200)).adapter;
}

/** Queue a scan of some paths, as the watcher does, and wait for it. */
async function watcherScan(t: TestApp, paths: string[]): Promise<void> {
  await t.container.services.library.startScan({ paths });
  await t.container.queue.drain();
}

/**
 * A scanner whose every write transaction first lets `between` run to completion: an edit that lands after the scan
 * read the catalogue and before it writes, every time (not by luck of timing).
 */
function scannerWithEditBeforeWrite(t: TestApp, between: () => Promise<void>): LibraryScanService {
  const { database, services, repositories, clock, config } = t.container;
  let fired = false;
  const transaction: LibraryTransaction = async (fn) => {
    if (!fired) {
      fired = true;
      await between();
    }
    return database.db.transaction().execute((trx) => fn({ adapters: new AdapterRepository(trx, database.dialect), library: new LibraryRepository(trx, database.dialect.bulk) }));
  };
  return new LibraryScanService({
    roots: services.libraryRoots,
    adapters: repositories.adapters,
    library: repositories.library,
    settings: repositories.settings,
    transaction,
    analyser: () => new InlineAnalyser(),
    clock,
    logger: pino({ level: 'silent' }),
    dataDir: config.dataDir,
    readerThreads: 0,
  });
}

describe.each(TEST_DIALECTS)('a scan keeps what a user set, on %s', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(dialect, { SCAN_THREADS: '0' });
  });
  afterAll(async () => t.close());
  beforeEach(async () => {
    await resetLibrary(t);
    await api(t, 'PATCH', '/library/settings', { auto_hash: false }, 200);
  });

  it('an edit that lands between the scan reading the catalogue and writing it is kept', async () => {
    loraWithSidecar(t, 'race/a.safetensors', { notes: 'sidecar notes', description: 'sidecar description', 'activation text': 'sidecar words' });
    await scan(t);
    const a = await adapterAt(t, 'race/a.safetensors');
    expect(a.notes).toBe('sidecar notes');

    const edit = { notes: 'mine', description: 'my description', activation_text: 'my words', base_model: 'Pony', nsfw_level: 3 };
    const scanner = scannerWithEditBeforeWrite(t, async () => {
      await api(t, 'PATCH', `/adapters/${a.id}`, edit, 200);
    });
    const summary = await scanner.scan({ force: true });
    expect(summary.updated).toBe(1);
    expect(await getAdapter(t, a.id)).toMatchObject(edit);

    // And a later ordinary scan does not take them back either.
    await scan(t, { force: true });
    expect(await getAdapter(t, a.id)).toMatchObject(edit);
  });

  it('a name and version given through POST /adapters survive a scan and a watcher-style scan of that file', async () => {
    const file = loraWithSidecar(t, 'posted/file-stem.safetensors', { notes: 'sidecar notes' });
    const created = (await api<{ adapter: Adapter }>(t, 'POST', '/adapters', { name: 'My Name', version: 'v7', file_path: file, notes: 'posted notes' }, 201)).adapter;
    await scan(t);
    // The watcher queues a scan of the changed paths.
    fs.utimesSync(file, new Date(), new Date(Date.now() + 5000));
    await watcherScan(t, [file]);
    await scan(t, { force: true });
    const after = await getAdapter(t, created.id);
    expect(after).toMatchObject({ name: 'My Name', version: 'v7', notes: 'posted notes' });
    expect((await adapters(t)).filter((x) => x.file_path === file)).toHaveLength(1);
  });

  it('a file POSTed after the scan read the catalogue and before it writes is not added twice, and keeps its name', async () => {
    const file = loraWithSidecar(t, 'posted/late.safetensors', { notes: 'sidecar notes' });
    let created: Adapter | undefined;
    const scanner = scannerWithEditBeforeWrite(t, async () => {
      created = (await api<{ adapter: Adapter }>(t, 'POST', '/adapters', { name: 'Late Name', version: 'v2', file_path: file }, 201)).adapter;
    });
    await scanner.scan();
    const atPath = (await adapters(t)).filter((x) => x.file_path === file);
    expect(atPath.map((a) => a.id)).toEqual([created!.id]);
    await scan(t, { force: true });
    expect(await getAdapter(t, created!.id)).toMatchObject({ name: 'Late Name', version: 'v2', notes: 'sidecar notes' });
  });

  it('an imported adapter keeps its name and notes through the next scan', async () => {
    const file = loraWithSidecar(t, 'imported/stem.safetensors', { notes: 'sidecar notes' });
    const created = (await api<{ adapter: Adapter }>(t, 'POST', '/adapters', { name: 'Imported Name', file_path: file, notes: 'my notes' }, 201)).adapter;
    const zip = await exportZip(t, { lora_files: false, previews: false });
    await t.container.repositories.adapters.deleteByIds([created.id]);
    const { status, body } = await importZip(t, zip);
    expect(status, JSON.stringify(body)).toBe(200);
    await scan(t, { force: true });
    expect(await getAdapter(t, created.id)).toMatchObject({ name: 'Imported Name', notes: 'my notes' });
  });

  it('fields past the 32nd bit of the mask are kept and reported like the others', async () => {
    loraWithSidecar(t, 'high/c.safetensors', { notes: 'n' });
    await scan(t);
    const c = await adapterAt(t, 'high/c.safetensors');
    const repo = t.container.repositories.adapters;
    // civitai_model_id and civitai_version_id hold bits 31 and 32 (2^31, 2^32): beyond a 32-bit integer.
    await repo.update(c.id, { civitai_model_id: 11, civitai_version_id: 22, updated_at: new Date().toISOString() }, undefined, ['civitai_model_id', 'civitai_version_id', 'notes']);
    await repo.updateFromSources([{ id: c.id, changes: { civitai_model_id: 1, civitai_version_id: 2, notes: 'scan', description: 'scan', updated_at: new Date().toISOString() } }]);
    expect(await getAdapter(t, c.id)).toMatchObject({ civitai_model_id: 11, civitai_version_id: 22, notes: 'n', description: 'scan' });
    expect((await repo.userFields([c.id])).get(c.id)).toEqual(['civitai_model_id', 'civitai_version_id', 'notes']);
  });

  it('a field the user never set is still refreshed from a changed sidecar', async () => {
    const file = loraWithSidecar(t, 'fresh/b.safetensors', { notes: 'first notes', description: 'first description' });
    await scan(t);
    const b = await adapterAt(t, 'fresh/b.safetensors');
    await api(t, 'PATCH', `/adapters/${b.id}`, { notes: 'mine' }, 200);
    fs.writeFileSync(file.replace(/\.safetensors$/, '.json'), JSON.stringify({ notes: 'second notes', description: 'second description' }));
    await scan(t, { force: true });
    expect(await getAdapter(t, b.id)).toMatchObject({ notes: 'mine', description: 'second description', name: 'b' });
    const meta = await api(t, 'GET', `/adapters/${b.id}/metadata`, undefined, 200);
    expect(meta.user_fields).toEqual(['notes']);
  });

  it('PATCHes racing forced rescans: every edit that answered 200 is what GET shows afterwards, and none answers 500', async () => {
    const count = 150;
    const template = writeLora(path.join(t.dataDir, 'template.safetensors'));
    for (let i = 0; i < count; i++) loraWithSidecar(t, `many/l${i}.safetensors`, { notes: `sidecar notes ${i}`, description: `sidecar description ${i}` }, template);
    await scan(t);
    const list = (await adapters(t)).filter((a) => a.relative_path?.startsWith('many/'));
    expect(list).toHaveLength(count);

    let scanning = true;
    const scans = (async () => {
      let runs = 0;
      while (scanning || runs < 2) {
        await t.container.services.libraryScan.scan({ force: true });
        runs++;
      }
      return runs;
    })();
    const answered = new Map<string, Record<string, unknown>>();
    const failures: string[] = [];
    // Each round edits a field for the first time, the moment an edit is most easily lost.
    const rounds = ['notes', 'description', 'activation_text'] as const;
    for (const field of rounds) {
      await Promise.all(
        list.map(async (a, i) => {
          if (field === 'description' && i % 2 === 1) return;
          const edit = { [field]: `user ${field} ${i}` };
          const res = await t.app.inject({ method: 'PATCH', url: `/api/v1/adapters/${a.id}`, payload: edit });
          if (res.statusCode === 200) answered.set(a.id, { ...answered.get(a.id), ...edit });
          else failures.push(`${res.statusCode} ${res.body}`);
        }),
      );
    }
    scanning = false;
    expect(await scans).toBeGreaterThanOrEqual(2);
    expect(failures).toEqual([]);
    const after = new Map((await adapters(t)).map((a) => [a.id, a]));
    const lost = [...answered].filter(([id, edit]) => Object.entries(edit).some(([k, v]) => after.get(id)?.[k as keyof Adapter] !== v));
    expect(lost.map(([id]) => after.get(id)?.relative_path)).toEqual([]);
    // Fields nobody edited still follow the sidecars.
    expect(after.get(list[1].id)?.description).toBe(`sidecar description ${Number(/l(\d+)/.exec(list[1].relative_path!)![1])}`);
  }, 120_000);
});
