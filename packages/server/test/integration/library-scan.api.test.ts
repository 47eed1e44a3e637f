import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { generateLibrary } from '../../scripts/fixtures/library-generator.ts';
import { adapterAt, adapters, api, resetLibrary, scan, writeLora } from '../support/library.ts';
import { createTestApp, TEST_DIALECTS, type TestApp } from '../support/test-app.ts';

describe.each(TEST_DIALECTS)('library scan on %s', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(dialect, { SCAN_THREADS: '0' });
  });
  afterAll(async () => t.close());
  beforeEach(async () => {
    await resetLibrary(t);
    await api(t, 'PATCH', '/library/settings', { auto_hash: false }, 200);
  });

  it('catalogues a generated library: every LoRA once, broken files reported with a reason and not catalogued', async () => {
    const { files } = await generateLibrary({ out: t.libraryDir, count: 40, seed: 3, brokenShare: 0.15, maxRank: 1 });
    const broken = files.filter((f) => f.broken);
    const good = new Set(files.filter((f) => !f.broken).map((f) => f.path));
    expect(broken.length).toBeGreaterThan(1);

    const summary = await scan(t);
    expect(summary.added).toBe(good.size);
    expect(summary.issues).toBe(broken.length);
    for (const b of broken) {
      const error = summary.errors.find((e) => e.path === b.path);
      expect(error, `${b.broken} file ${b.path} is reported`).toBeDefined();
      expect(error!.reason.length).toBeGreaterThan(5);
    }
    const list = await adapters(t);
    expect(new Set(list.map((a) => a.file_path))).toEqual(good);
    // What the files say lands in the fields.
    for (const f of files.filter((x) => !x.broken)) {
      const a = list.find((x) => x.file_path === f.path)!;
      expect(a.network_type === f.kind || (f.kind === 'LoCon' && !f.hasMetadata), `${f.relative} ${a.network_type} vs ${f.kind}`).toBe(true);
      expect(a.rank).toBe(f.rank);
      expect(a.name).toBe(f.stem);
      expect(a.missing).toBe(false);
      expect(a.hash_status).toBe('pending');
      if (f.preview) expect(a.preview_path).toBe(f.preview);
      if (f.activationText) expect(a.activation_text).toBe(f.activationText);
      if (f.preferredWeight) expect(a.preferred_weight).toBe(f.preferredWeight);
      // A1111's 0 means "unset"; ComfyUI-Lora-Manager's usage tips may still name a strength.
      if (f.preferredWeight === 0) expect(a.preferred_weight).toBe(f.sidecars.some((s) => s.endsWith('.metadata.json')) ? 0.7 : null);
      if (f.civitai && !f.civitai.notFound) expect(a.civitai_version_id).toBe(f.civitai.versionId);
    }
    const issues = await api(t, 'GET', '/library/issues', undefined, 200);
    expect(issues.issues.map((i: { path: string }) => i.path).sort()).toEqual(broken.map((b) => b.path).sort());
    const status = await api(t, 'GET', '/library/status', undefined, 200);
    expect(status).toMatchObject({ adapters: good.size, missing: 0, issues: broken.length, last_scan: { added: good.size } });
  });

  it('maps kohya metadata, infers the base model from tensors when metadata is silent, and serves the header metadata', async () => {
    writeLora(path.join(t.libraryDir, 'meta', 'with-meta.safetensors'), { trigger: 'mychar', extraMetadata: { ss_sd_model_name: 'ponyDiffusionV6XL.safetensors', ss_base_model_version: 'sdxl_base_v1-0' } });
    writeLora(path.join(t.libraryDir, 'meta', 'bare.safetensors'), { metadata: null });
    await scan(t);
    const rich = await adapterAt(t, 'meta/with-meta.safetensors');
    expect(rich).toMatchObject({ base_model: 'Pony', network_type: 'LoRA', rank: 1, alpha: 1, resolution: '512x512', sd_version: 'SDXL' });
    expect(rich.triggers).toContain('mychar');
    const bare = await adapterAt(t, 'meta/bare.safetensors');
    // No metadata: SD 1.5 from the 768-wide cross-attention keys; alpha read from the `.alpha` scalar tensors (0.0 here).
    expect(bare).toMatchObject({ base_model: 'SD 1.5', network_type: 'LoRA', rank: 1 });

    const meta = await api(t, 'GET', `/adapters/${rich.id}/metadata`, undefined, 200);
    expect(meta.metadata.ss_output_name).toBe('with-meta');
    expect(meta.tag_frequency).toContainEqual({ tag: 'mychar', count: 10 });
    expect(meta.tag_frequency.length).toBe(4);
    expect(meta.suggested_triggers).toContain('mychar');
    expect(meta.header.tensor_count).toBeGreaterThan(500);
    expect(meta.base_model_source).toBe('ss_sd_model_name');
    expect(meta.hashes.hash_status).toBe('pending');
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/adapters/nope/metadata' })).statusCode).toBe(404);
  });

  it('a dry run reports what a scan would add, update, mark missing and cannot read, and changes nothing', async () => {
    writeLora(path.join(t.libraryDir, 'a.safetensors'));
    const gone = writeLora(path.join(t.libraryDir, 'gone.safetensors'));
    await scan(t);
    fs.rmSync(gone);
    writeLora(path.join(t.libraryDir, 'new.safetensors'));
    t.libraryFile('bad.safetensors', 'not a model');
    const before = await adapters(t);

    const dry = await api(t, 'POST', '/import/scan', { dry_run: true }, 200);
    expect(dry).toMatchObject({ dry_run: true, added: 1, missing: 1, unchanged: 1, issues: 1 });
    expect(dry.added_paths).toEqual([path.join(t.libraryDir, 'new.safetensors')]);
    expect(dry.missing_paths).toEqual([gone]);
    expect(dry.errors[0]).toMatchObject({ path: path.join(t.libraryDir, 'bad.safetensors'), code: 'header_too_large' });
    expect(await adapters(t)).toEqual(before);
    // Without dry_run the same route queues the real scan.
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/import/scan', payload: { dry_run: false } });
    expect(res.statusCode).toBe(202);
    await t.container.queue.drain();
    expect((await adapters(t)).length).toBe(3);
  });

  it("keeps the user's work across rescans and sidecar changes; a vanished file is marked missing, never deleted", async () => {
    const file = writeLora(path.join(t.libraryDir, 'chars', 'hero.safetensors'), { extraMetadata: { 'modelspec.tags': 'hero, armor' } });
    const json = path.join(t.libraryDir, 'chars', 'hero.json');
    fs.writeFileSync(json, JSON.stringify({ 'activation text': 'hero, armor', 'preferred weight': 0.7, notes: 'from a1111', 'sd version': 'SD1' }));
    await scan(t);
    const a = await adapterAt(t, 'chars/hero.safetensors');
    expect(a).toMatchObject({ activation_text: 'hero, armor', preferred_weight: 0.7, weight: 0.7, notes: 'from a1111', tags: ['hero', 'armor'] });

    await api(t, 'POST', `/adapters/${a.id}/activate?ordinal=4`, undefined, 200);
    await api(t, 'PATCH', `/adapters/${a.id}`, { weight: 0.55, rating: 5, favorite: true, notes: 'my notes', tags: ['hero', 'mine'] }, 200);
    // The sidecar changes: fields the user did not edit follow it, the user's edits stay.
    fs.writeFileSync(json, JSON.stringify({ 'activation text': 'hero v2', 'preferred weight': 0.9, notes: 'changed in a1111' }));
    const second = await scan(t);
    expect(second).toMatchObject({ updated: 1, added: 0 });
    const after = (await api(t, 'GET', `/adapters/${a.id}`, undefined, 200)).adapter;
    expect(after).toMatchObject({ active: true, ordinal: 4, weight: 0.55, rating: 5, favorite: true, notes: 'my notes', activation_text: 'hero v2', preferred_weight: 0.9 });
    // The source tag the user removed stays removed; the user's own tag stays.
    expect(after.tags.sort()).toEqual(['hero', 'mine']);

    const third = await scan(t);
    expect(third).toMatchObject({ unchanged: 1, updated: 0, added: 0 });
    expect((await api(t, 'GET', `/adapters/${a.id}`, undefined, 200)).adapter.updated_at).toBe(after.updated_at);

    fs.rmSync(file);
    expect(await scan(t)).toMatchObject({ missing: 1, missing_paths: [file] });
    const missing = (await api(t, 'GET', `/adapters/${a.id}`, undefined, 200)).adapter;
    expect(missing).toMatchObject({ missing: true, rating: 5, notes: 'my notes' });
    expect((await adapters(t, 'missing=true')).map((x) => x.id)).toEqual([a.id]);

    writeLora(file, { extraMetadata: { 'modelspec.tags': 'hero, armor' } });
    expect((await scan(t)).restored).toBe(1);
    expect((await api(t, 'GET', `/adapters/${a.id}`, undefined, 200)).adapter).toMatchObject({ missing: false, rating: 5 });
  });

  it('re-links a moved file to its adapter, keeping id and user fields; same-named files in two folders are two adapters', async () => {
    writeLora(path.join(t.libraryDir, 'x', 'style.safetensors'), { seed: 1 });
    writeLora(path.join(t.libraryDir, 'y', 'style.safetensors'), { seed: 2 });
    await scan(t);
    const list = await adapters(t);
    expect(list.filter((a) => a.name === 'style')).toHaveLength(2);
    const x = await adapterAt(t, 'x/style.safetensors');
    await api(t, 'PATCH', `/adapters/${x.id}`, { rating: 4, notes: 'keep me' }, 200);

    fs.mkdirSync(path.join(t.libraryDir, 'z'));
    fs.renameSync(path.join(t.libraryDir, 'x', 'style.safetensors'), path.join(t.libraryDir, 'z', 'style-renamed.safetensors'));
    const summary = await scan(t);
    expect(summary).toMatchObject({ relinked: 1, added: 0, missing: 0 });
    expect(summary.relinked_paths).toEqual([{ from: path.join(t.libraryDir, 'x', 'style.safetensors'), to: path.join(t.libraryDir, 'z', 'style-renamed.safetensors') }]);
    const moved = (await api(t, 'GET', `/adapters/${x.id}`, undefined, 200)).adapter;
    expect(moved).toMatchObject({ relative_path: 'z/style-renamed.safetensors', rating: 4, notes: 'keep me', missing: false, name: 'style-renamed' });
    expect(await adapters(t)).toHaveLength(2);
  });

  it('follows symlinked folders once (a loop ends), and leaves the adapters of an unavailable root alone', async () => {
    writeLora(path.join(t.libraryDir, 'real', 'one.safetensors'));
    fs.symlinkSync(path.join(t.libraryDir, 'real'), path.join(t.libraryDir, 'linked'));
    fs.symlinkSync(t.libraryDir, path.join(t.libraryDir, 'real', 'loop'));
    const summary = await scan(t);
    expect(summary.files_seen).toBe(1);
    expect(summary.added).toBe(1);

    const other = fs.mkdtempSync(path.join(path.dirname(t.libraryDir), 'second-'));
    writeLora(path.join(other, 'two.safetensors'));
    await api(t, 'POST', '/library/roots', { path: other }, 201);
    expect((await scan(t)).added).toBe(1);
    // The second root disappears (an unmounted drive): reported, its adapter is not marked missing.
    fs.renameSync(other, `${other}-away`);
    const s = await scan(t);
    expect(s.roots_unavailable).toEqual([{ root: other, reason: 'does not exist' }]);
    expect(s.missing).toBe(0);
    expect((await adapters(t, 'missing=true'))).toHaveLength(0);
  });

  it('scans one root or a folder inside it, and refuses paths outside the roots', async () => {
    writeLora(path.join(t.libraryDir, 'a', 'one.safetensors'));
    writeLora(path.join(t.libraryDir, 'b', 'two.safetensors'));
    const summary = await scan(t, { roots: [path.join(t.libraryDir, 'a')] });
    expect(summary.added).toBe(1);
    expect((await adapters(t)).map((a) => a.relative_path)).toEqual(['a/one.safetensors']);
    // A bare POST (no body) scans with the defaults.
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/library/scan' })).statusCode).toBe(202);
    await t.container.queue.drain();
    expect(await adapters(t)).toHaveLength(2);
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/library/scan', payload: { roots: ['/etc'] } });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('root_not_configured');
  });
});

describe.each(TEST_DIALECTS)('library scan with reader threads on %s', (dialect) => {
  it('reads a library larger than the inline share on the threads and catalogues it exactly as the main thread does', async () => {
    // More files than a scan reads on the main thread (64): the reader thread takes them all.
    const threads = await createTestApp(dialect, { SCAN_THREADS: '1' });
    const inline = await createTestApp(dialect, { SCAN_THREADS: '0' });
    try {
      for (const t of [threads, inline]) {
        await api(t, 'PATCH', '/library/settings', { auto_hash: false }, 200);
        await generateLibrary({ out: t.libraryDir, count: 90, seed: 11, brokenShare: 0.05, maxRank: 1 });
      }
      const [a, b] = [await scan(threads), await scan(inline)];
      expect(a.added).toBeGreaterThan(64);
      expect({ added: a.added, issues: a.issues, seen: a.files_seen }).toEqual({ added: b.added, issues: b.issues, seen: b.files_seen });
      const catalogue = async (t: TestApp) =>
        (await adapters(t))
          .sort((x, y) => x.file_path.localeCompare(y.file_path))
          .map(({ id: _i, created_at: _c, updated_at: _u, last_ingested_at: _l, file_mtime: _m, ...rest }) => JSON.parse(JSON.stringify(rest).replaceAll(t.libraryDir, 'LIB')));
      expect(await catalogue(threads)).toEqual(await catalogue(inline));
      expect((await scan(threads)).unchanged).toBe(a.added);
    } finally {
      await threads.close();
      await inline.close();
    }
  });
});
