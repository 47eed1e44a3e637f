import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Adapter, Recipe } from '@lora-manager/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportZip, importZip } from '../support/archive-fixtures.ts';
import { api, scan, writeLora } from '../support/library.ts';
import { unzip } from '../support/wait.ts';
import { a1111Infotext, civitaiImageItem, comfyPromptGraph, jpegWithComment, multipart, plainPng, pngWithText } from '../support/recipe-images.ts';
import { createTestApp, TEST_DIALECTS, type TestApp } from '../support/test-app.ts';
import { until } from '../support/wait.ts';

const API = '/api/v1';

describe.each(TEST_DIALECTS)('recipes API on %s', (dialect) => {
  let t: TestApp;
  let fox: Adapter;
  let knight: Adapter;

  const importFiles = async (files: Array<{ name: string; data: Buffer }>, fields: Record<string, string> = {}) => {
    const res = await t.app.inject({ method: 'POST', url: `${API}/recipes/import`, ...multipart(files, fields) });
    return res;
  };

  beforeAll(async () => {
    t = await createTestApp(dialect, { SCAN_THREADS: '1' });
    writeLora(path.join(t.libraryDir, 'styles', 'foxStyle.safetensors'), { seed: 11, data: 'fill' });
    writeLora(path.join(t.libraryDir, 'knightArmor.safetensors'), { seed: 12, data: 'fill' });
    await scan(t);
    await until('hashes', async () => {
      const items = (await api<{ items: Adapter[] }>(t, 'GET', '/adapters?per_page=50', undefined, 200)).items;
      return items.every((a) => a.sha256) && items;
    });
    const items = (await api<{ items: Adapter[] }>(t, 'GET', '/adapters?per_page=50', undefined, 200)).items;
    fox = items.find((a) => a.file_path.endsWith('foxStyle.safetensors')) as Adapter;
    knight = items.find((a) => a.file_path.endsWith('knightArmor.safetensors')) as Adapter;
  });
  afterAll(async () => t.close());

  it('imports an A1111 PNG: LoRAs matched by hash under another name, a missing one completed when its file arrives', async () => {
    expect(fox.autov3, 'the fixture carries an embedded AutoV3').toBeTruthy();
    const infotext = a1111Infotext([
      { name: 'renamedFox', weight: 0.8, hash: fox.autov3 as string },
      { name: 'someKnight', weight: 0.5, hash: (fox.sha256 === knight.sha256 ? '' : knight.sha256 ?? '').slice(0, 10) },
      { name: 'lateArrival', weight: 0.3, hash: 'ffffffffffff' },
    ]);
    const png = await pngWithText({ parameters: infotext });
    const res = await importFiles([{ name: 'fox in snow.png', data: png }]);
    expect(res.statusCode, res.body).toBe(201);
    const recipe: Recipe = res.json().created[0];
    expect(recipe).toMatchObject({ name: 'fox in snow', source: 'a1111', prompt: 'masterpiece, a red fox in the snow', missing_count: 1, lora_count: 3 });
    expect(recipe.loras.map((l) => [l.name, l.adapter_id, l.match, l.missing])).toEqual([
      ['renamedFox', fox.id, 'autov3', false],
      ['someKnight', knight.id, 'autov2', false],
      ['lateArrival', null, null, true],
    ]);
    expect(recipe.params).toMatchObject({ steps: 28, cfg_scale: 6.5, width: 832, height: 1216, checkpoint: 'ponyDiffusionV6XL', clip_skip: 2 });
    const preview = await t.app.inject({ method: 'GET', url: recipe.preview_url as string });
    expect(preview.statusCode).toBe(200);
    expect(preview.headers['content-type']).toBe('image/png');
    expect(preview.rawPayload.equals(png)).toBe(true);
    expect((await api(t, 'GET', '/recipes?missing=true', undefined, 200)).items.map((r: Recipe) => r.id)).toContain(recipe.id);

    // The missing LoRA arrives: the scan's completion re-matches, no re-import.
    writeLora(path.join(t.libraryDir, 'new', 'lateArrival.safetensors'), { seed: 13 });
    await scan(t);
    const complete = await until('recipe completed by the scan', async () => {
      const r = await api<Recipe>(t, 'GET', `/recipes/${recipe.id}`, undefined, 200);
      return r.missing_count === 0 && r;
    });
    expect(complete.loras[2]).toMatchObject({ name: 'lateArrival', match: 'file_name', missing: false });
    expect((await api(t, 'GET', `/recipes?missing=false&adapter_id=${fox.id}`, undefined, 200)).items.map((r: Recipe) => r.id)).toContain(recipe.id);
  });

  it('imports JPEG EXIF and a ComfyUI chain of five LoRAs in one upload; parse is a dry run', async () => {
    const graph = comfyPromptGraph([
      { file: 'styles/foxStyle.safetensors', model: 0.7, clip: 0.7 },
      { file: 'a.safetensors', model: 0.2, clip: 0.2 },
      { file: 'knightArmor.safetensors', model: 0.6, clip: 0.4 },
      { file: 'b.safetensors', model: 0.1, clip: 0.1 },
      { file: 'c.safetensors', model: 0.9, clip: 0.9 },
    ]);
    const comfy = await pngWithText({ prompt: JSON.stringify(graph) });
    const jpeg = await jpegWithComment(a1111Infotext([{ name: 'foxStyle', weight: 1, hash: 'aaaaaaaaaaaa' }]));
    const before = (await api(t, 'GET', '/recipes', undefined, 200)).total;
    const dry = await t.app.inject({ method: 'POST', url: `${API}/recipes/parse`, ...multipart([{ name: 'comfy.png', data: comfy }, { name: 'photo.jpg', data: jpeg }]) });
    expect(dry.statusCode, dry.body).toBe(200);
    const [c, j] = dry.json().drafts;
    expect(c.draft.loras.map((l: { name: string; match: string | null }) => [l.name, l.match])).toEqual([
      ['foxStyle', 'file_name'],
      ['a', null],
      ['knightArmor', 'file_name'],
      ['b', null],
      ['c', null],
    ]);
    expect(c.draft).toMatchObject({ source: 'comfyui', missing_count: 3 });
    // The hash names no file, but the name does: matched by file name.
    expect(j.draft.loras[0]).toMatchObject({ name: 'foxStyle', adapter_id: fox.id, match: 'file_name' });
    expect((await api(t, 'GET', '/recipes', undefined, 200)).total).toBe(before);

    const res = await importFiles([{ name: 'comfy.png', data: comfy }, { name: 'photo.jpg', data: jpeg }, { name: 'notes.txt', data: Buffer.from('hello') }], { tags: 'imported, comfy' });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().created.map((r: Recipe) => [r.source, r.tags])).toEqual([
      ['comfyui', ['imported', 'comfy']],
      ['a1111', ['imported', 'comfy']],
    ]);
    expect(res.json().failed).toEqual([{ input: 'notes.txt', code: 'unsupported_image', message: 'Not a PNG, JPEG or WebP image', found: ['5 bytes starting 68656c6c'] }]);
    expect((await api(t, 'GET', '/recipes?tag=COMFY&sort=oldest', undefined, 200)).items.map((r: Recipe) => r.source)).toEqual(['comfyui', 'a1111']);
  });

  it('pasted CivitAI JSON and infotext; an image with no recipe is a 422 saying what was found', async () => {
    const civ = await api(t, 'POST', '/recipes/import', { text: JSON.stringify(civitaiImageItem()), name: 'cat astronaut' }, 201);
    expect(civ.created[0]).toMatchObject({ name: 'cat astronaut', source: 'civitai', missing_count: 2 });
    expect(civ.created[0].loras[1]).toMatchObject({ name: 'filmGrain', civitai_version_id: 987654, civitai_url: null });

    const plain = await importFiles([{ name: 'plain.png', data: await plainPng(20, 10) }]);
    expect(plain.statusCode).toBe(422);
    expect(plain.headers['content-type']).toContain('application/problem+json');
    expect(plain.json()).toMatchObject({ code: 'no_recipe_found', title: 'No generation recipe found in the image' });
    expect(plain.json().detail).toContain('PNG image 20x10');

    const words = await t.app.inject({ method: 'POST', url: `${API}/recipes/import`, payload: { text: 'just a sentence' } });
    expect(words.statusCode).toBe(422);
    expect(words.json().code).toBe('no_recipe_found');
  });

  it('matches a <lora:…> token by the alias the file was trained under (ss_output_name) when its file name differs', async () => {
    writeLora(path.join(t.libraryDir, 'downloads', 'lora_4411_final.safetensors'), { seed: 41, data: 'fill', extraMetadata: { ss_output_name: 'glacierMood' } });
    await scan(t);
    const created = await api(t, 'POST', '/recipes/import', { text: 'a frozen lake at dawn <lora:GlacierMood:0.6>\nSteps: 20, Sampler: Euler a, Seed: 7', name: 'alias' }, 201);
    const lora = created.created[0].loras[0];
    expect(lora).toMatchObject({ name: 'GlacierMood', weight: 0.6, match: 'alias', missing: false });
    expect((await api<{ adapter: Adapter }>(t, 'GET', `/adapters/${lora.adapter_id}`, undefined, 200)).adapter.file_path).toMatch(/lora_4411_final\.safetensors$/);
    await api(t, 'DELETE', `/recipes/${created.created[0].id}`, undefined, 204);
  });

  it('creates by hand with chosen adapters, edits, filters, and deletes', async () => {
    const created = await api<Recipe>(t, 'POST', '/recipes', { name: 'Knight', prompt: 'a knight', loras: [{ name: 'knight', weight: 0.9, adapter_id: knight.id }, { name: 'unknownThing', weight: 0.4 }], tags: ['Armor', 'armor'] }, 201);
    expect(created.loras.map((l) => [l.adapter_id, l.match])).toEqual([[knight.id, 'chosen'], [null, null]]);
    expect(created.tags).toEqual(['Armor']);
    const patched = await api<Recipe>(t, 'PATCH', `/recipes/${created.id}`, { favorite: true, rating: 4, tags: ['steel'], loras: [{ name: 'knight', weight: 0.7, adapter_id: knight.id }] }, 200);
    expect(patched).toMatchObject({ favorite: true, rating: 4, tags: ['steel'], missing_count: 0, lora_count: 1 });
    expect(patched.fingerprint).not.toBe(created.fingerprint);
    expect((await api(t, 'GET', '/recipes?favorites_only=true', undefined, 200)).items.map((r: Recipe) => r.id)).toEqual([created.id]);
    expect((await api(t, 'GET', '/recipes?search=KNIGHT&tag=steel', undefined, 200)).total).toBe(1);
    expect((await api(t, 'GET', '/recipes?lora=unknownthing', undefined, 200)).total).toBe(0);
    const unknown = await t.app.inject({ method: 'POST', url: `${API}/recipes`, payload: { loras: [{ name: 'x', adapter_id: 'nope' }] } });
    expect([unknown.statusCode, unknown.json().code]).toEqual([422, 'adapter_not_found']);
    await api(t, 'DELETE', `/recipes/${created.id}`, undefined, 204);
    expect((await api(t, 'GET', `/recipes/${created.id}`, undefined, 404)).code).toBe('recipe_not_found');
  });

  it('sends a recipe to Compose (active set in order with weights) and to Generate (parameters with tokens)', async () => {
    const recipe = await api<Recipe>(t, 'POST', '/recipes', {
      prompt: 'castle',
      params: { steps: 12, width: 512, height: 640, seed: 5, sampler: 'Euler a' },
      loras: [{ name: 'knightArmor', weight: 0.35 }, { name: 'foxStyle', weight: 0.75 }, { name: 'ghost', weight: 1 }],
    }, 201);
    const compose = await api(t, 'POST', `/recipes/${recipe.id}/apply`, { target: 'compose' }, 200);
    expect(compose.activated).toEqual([
      { adapter_id: knight.id, name: knight.name, weight: 0.35 },
      { adapter_id: fox.id, name: fox.name, weight: 0.75 },
    ]);
    expect(compose.missing).toEqual(['ghost']);
    const active = await t.container.repositories.adapters.listActive();
    expect(active.map((a) => [a.id, a.weight])).toEqual([[knight.id, 0.35], [fox.id, 0.75]]);

    const gen = await api(t, 'POST', `/recipes/${recipe.id}/apply`, { target: 'generate' }, 200);
    expect(gen.generation_params).toEqual({ prompt: `castle, <lora:${knight.name}:0.35> <lora:${fox.name}:0.75> <lora:ghost:1>`, steps: 12, width: 512, height: 640, seed: 5, sampler_name: 'Euler a' });
    expect(gen.job_ids).toEqual([]);
  });

  it('finds duplicates by fingerprint and merges them; exports JSON and a PNG that imports back to the same recipe', async () => {
    const png = await pngWithText({ parameters: a1111Infotext([{ name: 'dupFox', weight: 0.6, hash: fox.autov3 as string }]) });
    const a: Recipe = (await importFiles([{ name: 'a.png', data: png }], { tags: 'one' })).json().created[0];
    const b: Recipe = (await importFiles([{ name: 'b.png', data: png }], { tags: 'two' })).json().created[0];
    await api(t, 'PATCH', `/recipes/${b.id}`, { rating: 5 }, 200);
    const groups = (await api(t, 'GET', '/recipes/duplicates', undefined, 200)).groups;
    expect(groups.find((g: { ids: string[] }) => g.ids.includes(a.id))?.ids).toEqual([a.id, b.id]);
    const merged = await api<Recipe>(t, 'POST', '/recipes/merge', { keep: a.id, remove: [b.id] }, 200);
    expect(merged).toMatchObject({ tags: ['one', 'two'], rating: 5 });
    await api(t, 'GET', `/recipes/${b.id}`, undefined, 404);

    const json = await t.app.inject({ method: 'GET', url: `${API}/recipes/${a.id}/export?format=json` });
    expect(json.headers['content-disposition']).toContain('.recipe.json');
    expect(json.json()).toMatchObject({ format: 'lora-manager-recipe', recipe: { name: 'a', loras: [{ name: 'dupFox', weight: 0.6 }] } });
    const shared = await api(t, 'POST', '/recipes/parse', { text: json.body }, 200);
    expect(shared.drafts[0].draft).toMatchObject({ source: 'lora-manager', prompt: merged.prompt, params: merged.params, duplicates: [a.id] });

    const exported = await t.app.inject({ method: 'GET', url: `${API}/recipes/${a.id}/export?format=png` });
    expect(exported.headers['content-type']).toBe('image/png');
    const back = await api(t, 'POST', '/recipes/parse', undefined);
    expect(back.code).toBe('validation_failed');
    const reparsed = await t.app.inject({ method: 'POST', url: `${API}/recipes/parse`, ...multipart([{ name: 'exported.png', data: exported.rawPayload }]) });
    const draft = reparsed.json().drafts[0].draft;
    expect(draft.loras.map((l: { adapter_id: string; weight: number; match: string }) => [l.adapter_id, l.weight, l.match])).toEqual([[fox.id, 0.6, 'autov3']]);
    expect(draft.prompt).toBe(merged.prompt);
    expect(draft.params).toEqual(merged.params);
    expect(draft.duplicates).toEqual([a.id]);
  });

  it('recipes travel in archives (user_data): export, delete, import gives them back with their LoRAs matched', async () => {
    const recipe = await api<Recipe>(t, 'POST', '/recipes', { name: 'archived', prompt: 'p', tags: ['kept'], rating: 3, loras: [{ name: 'x', weight: 0.4, adapter_id: fox.id }, { name: 'elsewhere', weight: 1 }] }, 201);
    const zip = await exportZip(t, { user_data: true, lora_files: false, previews: false });
    const entries = await unzip(zip);
    expect(JSON.parse((entries.get('manifest.json') as Buffer).toString())).toMatchObject({ recipes_path: 'recipes.json' });
    expect(JSON.parse((entries.get('recipes.json') as Buffer).toString()).map((r: { recipe: { id: string } }) => r.recipe.id)).toContain(recipe.id);
    await api(t, 'DELETE', `/recipes/${recipe.id}`, undefined, 204);
    const { body } = await importZip(t, zip);
    expect(body.results[0].status).toBe('imported');
    const back = await api<Recipe>(t, 'GET', `/recipes/${recipe.id}`, undefined, 200);
    expect(back).toMatchObject({ name: 'archived', tags: ['kept'], rating: 3, missing_count: 1, fingerprint: recipe.fingerprint });
    expect(back.loras.map((l) => [l.adapter_id, l.weight])).toEqual([[fox.id, 0.4], [null, 1]]);
    expect((await api(t, 'GET', '/recipes?tag=kept', undefined, 200)).total).toBe(1);
  });

  it('a recipe preview travels in archives and backups, and an import never overwrites a file already there', async () => {
    const png = await pngWithText({ parameters: a1111Infotext([{ name: 'renamedFox', weight: 0.7, hash: fox.autov3 as string }]) });
    const recipe: Recipe = (await importFiles([{ name: 'travelling fox.png', data: png }])).json().created[0];
    const previewOf = (r: Recipe) => t.app.inject({ method: 'GET', url: r.preview_url as string });
    const original = (await previewOf(recipe)).rawPayload;
    const stored = path.join(t.dataDir, 'recipes', `${recipe.id}.png`);
    expect(fs.readFileSync(stored).equals(original)).toBe(true);

    const zip = await exportZip(t, { user_data: true, lora_files: false, previews: false });
    const entries = await unzip(zip);
    const manifest = JSON.parse((entries.get('manifest.json') as Buffer).toString());
    const declared = manifest.recipe_previews.find((p: { recipe_id: string }) => p.recipe_id === recipe.id);
    expect(declared).toMatchObject({ file: `${recipe.id}.png`, archive_path: `recipes/${recipe.id}.png`, size: original.length, content_type: 'image/png' });
    expect(manifest.entries.find((e: { path: string }) => e.path === declared.archive_path).sha256).toBe(createHash('sha256').update(original).digest('hex'));
    expect((entries.get(declared.archive_path) as Buffer).equals(original)).toBe(true);

    // Archive import: the recipe and its picture come back.
    await api(t, 'DELETE', `/recipes/${recipe.id}`, undefined, 204);
    expect(fs.existsSync(stored)).toBe(false);
    expect((await importZip(t, zip)).body.results[0].status).toBe('imported');
    const imported = await api<Recipe>(t, 'GET', `/recipes/${recipe.id}`, undefined, 200);
    const served = await previewOf(imported);
    expect([served.statusCode, served.headers['content-type']]).toEqual([200, 'image/png']);
    expect(served.rawPayload.equals(original)).toBe(true);

    // Backup and restore: the same.
    const backup = (await api<{ backup: { id: string } }>(t, 'POST', '/backup/create', { backup_type: 'metadata_only' }, 200)).backup;
    await api(t, 'DELETE', `/recipes/${recipe.id}`, undefined, 204);
    const restored = await t.app.inject({ method: 'POST', url: `${API}/backups/${backup.id}/restore`, payload: { backup_before: false } });
    expect(restored.json().results[0].status, restored.body).toBe('imported');
    expect((await previewOf(await api<Recipe>(t, 'GET', `/recipes/${recipe.id}`, undefined, 200))).rawPayload.equals(original)).toBe(true);

    // A file already where the preview would go is the user's: kept, and the recipe comes without a preview.
    await api(t, 'DELETE', `/recipes/${recipe.id}`, undefined, 204);
    fs.mkdirSync(path.dirname(stored), { recursive: true });
    fs.writeFileSync(stored, 'not the archived picture');
    const { body } = await importZip(t, zip);
    expect(body.results[0].status).toBe('imported');
    expect(body.results[0].warnings.join(' ')).toContain(`recipe ${recipe.id} comes without its preview`);
    expect(fs.readFileSync(stored, 'utf8')).toBe('not the archived picture');
    expect((await api<Recipe>(t, 'GET', `/recipes/${recipe.id}`, undefined, 200)).preview_url).toBeNull();
    await api(t, 'DELETE', `/recipes/${recipe.id}`, undefined, 204);
  });

  it('a hash nothing matches while files are unhashed queues the hash job, whose completion matches the LoRA', async () => {
    const file = writeLora(path.join(t.libraryDir, 'unhashed', 'quietRiver.safetensors'), { seed: 31, data: 'fill' });
    const id = (await api(t, 'POST', '/adapters', { name: 'Quiet River', file_path: file }, 201)).adapter.id as string;
    const autov2 = createHash('sha256').update(fs.readFileSync(file)).digest('hex').slice(0, 10);
    const before = new Date().toISOString();
    const res = await importFiles([{ name: 'river.png', data: await pngWithText({ parameters: a1111Infotext([{ name: 'riverAlias', weight: 0.5, hash: autov2 }]) }) }]);
    const recipe: Recipe = res.json().created[0];
    expect(recipe.missing_count).toBe(1);
    const hashJobs = await t.container.database.db.selectFrom('job').select('id').where('kind', '=', 'library.hash').where('created_at', '>=', before).execute();
    expect(hashJobs).toHaveLength(1);
    await t.container.queue.drain();
    const matched = await until('matched once hashed', async () => {
      const r = await api<Recipe>(t, 'GET', `/recipes/${recipe.id}`, undefined, 200);
      return r.missing_count === 0 && r;
    });
    expect(matched.loras[0]).toMatchObject({ adapter_id: id, match: 'autov2' });
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await t.app.inject('/api/docs/json')).json();
    for (const p of ['/api/v1/recipes', '/api/v1/recipes/import', '/api/v1/recipes/parse', '/api/v1/recipes/{id}', '/api/v1/recipes/{id}/apply']) expect(doc.paths[p], p).toBeDefined();
    expect(doc.paths['/api/v1/recipes/import'].post.tags).toEqual(['recipes']);
  });

  it('refuses hostile input with 4xx problems', async () => {
    const many = Array.from({ length: 51 }, (_, i) => ({ name: `${i}.png`, data: Buffer.from('x') }));
    const tooMany = await importFiles(many);
    expect([tooMany.statusCode, tooMany.json().code]).toEqual([413, 'upload_too_large']);
    const traversal = await importFiles([{ name: '../../../etc/passwd.png', data: await pngWithText({ parameters: a1111Infotext([]) }) }]);
    expect(traversal.statusCode).toBe(201);
    expect(traversal.json().created[0].name).toBe('passwd');
    const badJson = await t.app.inject({ method: 'POST', url: `${API}/recipes/import`, payload: { text: 5 } });
    expect([badJson.statusCode, badJson.json().code]).toEqual([422, 'validation_failed']);
    const badHash = await t.app.inject({ method: 'POST', url: `${API}/recipes`, payload: { loras: [{ name: 'x', hash: 'not-hex' }] } });
    expect(badHash.statusCode).toBe(422);
    const sweep = await api<Recipe>(t, 'POST', '/recipes', { prompt: 'x' }, 201);
    const noSweep = await t.app.inject({ method: 'POST', url: `${API}/recipes/${sweep.id}/apply`, payload: { target: 'generate', count: 2, vary: 'weight' } });
    expect([noSweep.statusCode, noSweep.json().code]).toEqual([422, 'validation_failed']);
    expect((await t.app.inject({ method: 'GET', url: `${API}/recipes/nope/preview` })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'GET', url: `${API}/recipes/${sweep.id}/preview` })).json().code).toBe('recipe_preview_not_found');
  });
});
