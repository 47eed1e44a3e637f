import { randomUUID } from 'node:crypto';
import type { Adapter } from '@lora-manager/contract';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, TEST_DIALECTS, type TestApp } from '../support/test-app.ts';

const HOUR = 3_600_000;
const ago = (ms: number) => new Date(Date.now() - ms).toISOString();

describe.each(TEST_DIALECTS)('adapter API on %s', (dialect) => {
  let t: TestApp;
  let file: string;

  beforeAll(async () => {
    t = await createTestApp(dialect);
    file = t.libraryFile('alpha.safetensors');
  });
  afterAll(async () => t.close());
  beforeEach(async () => {
    await t.container.database.db.deleteFrom('adapter').execute();
  });

  const create = async (body: Record<string, unknown>) =>
    t.app.inject({ method: 'POST', url: '/api/v1/adapters', payload: { file_path: file, version: 'v1', weight: 1.0, ...body } });

  /** Insert straight through the repository, to control timestamps. */
  async function seed(name: string, extra: Partial<Adapter> & { tags?: string[]; created?: number; updated?: number } = {}) {
    const { tags = [], created = 0, updated = created, ...fields } = extra;
    const id = randomUUID();
    await t.container.repositories.adapters.insert(
      { id, name, file_path: file, created_at: ago(created), updated_at: ago(updated), ...fields },
      tags,
    );
    return id;
  }

  const list = async (qs: string) => {
    const res = await t.app.inject({ method: 'GET', url: `/api/v1/adapters?${qs}` });
    expect(res.statusCode).toBe(200);
    return res.json() as { items: Adapter[]; total: number; filtered: number; page: number; pages: number; per_page: number };
  };
  const names = (page: { items: Adapter[] }) => page.items.map((a) => a.name);

  it('creates, reads, activates and deactivates an adapter', async () => {
    const res = await create({ name: 'Life', tags: ['a'] });
    expect(res.statusCode).toBe(201);
    const { adapter } = res.json();
    expect(adapter).toMatchObject({ name: 'Life', version: 'v1', tags: ['a'], active: false, weight: 1, visibility: 'Public' });
    expect(adapter.created_at).toMatch(/Z$/);
    expect(adapter.relative_path).toBe('alpha.safetensors');

    expect((await t.app.inject({ method: 'GET', url: `/api/v1/adapters/${adapter.id}` })).json().adapter.id).toBe(adapter.id);
    const on = await t.app.inject({ method: 'POST', url: `/api/v1/adapters/${adapter.id}/activate?ordinal=3` });
    expect(on.json().adapter).toMatchObject({ active: true, ordinal: 3 });
    const off = await t.app.inject({ method: 'POST', url: `/api/v1/adapters/${adapter.id}/deactivate` });
    expect(off.json().adapter).toMatchObject({ active: false, ordinal: 3 });
  });

  it('refuses a second adapter with the same name and version', async () => {
    expect((await create({ name: 'N', version: 'v1' })).statusCode).toBe(201);
    expect((await create({ name: 'N', version: 'v2' })).statusCode).toBe(201);
    const dup = await create({ name: 'N', version: 'v1', file_path: t.libraryFile('other.safetensors') });
    expect(dup.statusCode).toBe(400);
    expect(dup.json()).toMatchObject({ code: 'adapter_exists', title: 'adapter with this name and version already exists' });
    expect(dup.headers['content-type']).toContain('application/problem+json');
  });

  it('refuses files that do not exist or lie outside the library roots, with one answer for both', async () => {
    const missing = await create({ name: 'Ghost', file_path: `${t.libraryDir}/nope.safetensors` });
    expect(missing.statusCode).toBe(400);
    expect(missing.json()).toMatchObject({ code: 'file_not_found', title: 'file_path does not exist or is not readable' });

    // An existing file outside the roots is answered like a missing one: the API is no existence oracle.
    const outside = await create({ name: 'Passwd', file_path: '/etc/hostname' });
    expect(outside.statusCode).toBe(400);
    expect(outside.json()).toEqual(missing.json());

    const sneaky = await create({ name: 'Sneaky', file_path: `${t.libraryDir}/../../../../etc/hostname` });
    expect(sneaky.statusCode).toBe(400);
    expect(sneaky.json()).toEqual(missing.json());
  });

  it('accepts a path relative to a library root', async () => {
    t.libraryFile('styles/ink.safetensors');
    const res = await create({ name: 'Ink', file_path: 'styles/ink.safetensors' });
    expect(res.statusCode).toBe(201);
    expect(res.json().adapter.relative_path).toBe('styles/ink.safetensors');
  });

  it('rejects bad PATCH bodies with 422 and applies good ones', async () => {
    const id = (await create({ name: 'P' })).json().adapter.id;
    for (const payload of [{ weight: 'heavy' }, { unknown: 1 }, { active: 'true' }, { rating: 9 }, { tags: 'x' }]) {
      const res = await t.app.inject({ method: 'PATCH', url: `/api/v1/adapters/${id}`, payload });
      expect(res.statusCode, JSON.stringify(payload)).toBe(422);
      expect(res.json().code).toBe('validation_failed');
      expect(res.json().errors.length).toBeGreaterThan(0);
    }
    const empty = await t.app.inject({ method: 'PATCH', url: `/api/v1/adapters/${id}`, payload: {} });
    expect(empty.statusCode).toBe(400);
    expect(empty.json().title).toBe('No valid fields provided for update');

    const ok = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/adapters/${id}`,
      payload: { weight: 0.5, active: true, favorite: true, rating: 4, notes: 'great at ink', tags: ['Ink', 'style'] },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().adapter).toMatchObject({ weight: 0.5, active: true, favorite: true, rating: 4, notes: 'great at ink', tags: ['Ink', 'style'] });

    const missing = await t.app.inject({ method: 'PATCH', url: `/api/v1/adapters/${randomUUID()}`, payload: { weight: 1 } });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe('adapter_not_found');
  });

  it('answers malformed JSON with 400, not 500', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/adapters', headers: { 'content-type': 'application/json' }, payload: '{nope' });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('invalid_json');
  });

  it('filters, sorts and pages like the original (acceptance case 8)', async () => {
    await seed('Alpha', { active: true, tags: ['fantasy', 'portrait'], primary_file_size_kb: 150, created: 3 * 24 * HOUR, updated: 2 * 24 * HOUR });
    await seed('Beta', { active: false, tags: ['sci-fi'], primary_file_size_kb: 50, created: 2 * 24 * HOUR, updated: 24 * HOUR });
    await seed('Gamma', { active: true, tags: ['fantasy'], primary_file_size_kb: 300, created: 24 * HOUR, updated: HOUR });

    const p1 = await list('search=a&active_only=true&tags=fantasy&sort=file_size&per_page=1&page=1');
    expect(p1).toMatchObject({ total: 3, filtered: 2, page: 1, per_page: 1, pages: 2 });
    expect(names(p1)).toEqual(['Gamma']);
    expect(names(await list('search=a&active_only=true&tags=fantasy&sort=file_size&per_page=1&page=2'))).toEqual(['Alpha']);
    expect(names(await list('sort=updated_at&per_page=5'))).toEqual(['Gamma', 'Beta', 'Alpha']);
    // Ascending variants, the legacy spellings, and the legacy `active=` parameter.
    expect(names(await list('sort=file_size&order=asc'))).toEqual(['Beta', 'Alpha', 'Gamma']);
    expect(names(await list('sort=name_desc'))).toEqual(['Gamma', 'Beta', 'Alpha']);
    expect(names(await list('sort=created_at_asc'))).toEqual(['Alpha', 'Beta', 'Gamma']);
    expect(names(await list('sort=last_updated_desc'))).toEqual(['Gamma', 'Beta', 'Alpha']);
    expect(names(await list('sort=bogus'))).toEqual(['Alpha', 'Beta', 'Gamma']);
    expect(names(await list('active=true'))).toEqual(['Alpha', 'Gamma']);
    expect(await list('tags=nothing')).toMatchObject({ filtered: 0, pages: 0, items: [] });
  });

  it('matches tags case-insensitively, any or all, without duplicates (acceptance case 9)', async () => {
    await seed('Alpha', { tags: ['Fantasy', 'Portrait'], created: 2 * 24 * HOUR });
    await seed('Beta', { tags: ['portrait'], created: 24 * HOUR });
    await seed('Gamma', { tags: ['landscape'], created: HOUR });
    const any = await list('tags=fantasy,PORTRAIT&sort=created_at');
    expect(names(any)).toEqual(['Beta', 'Alpha']);
    expect(any).toMatchObject({ filtered: 2, total: 3 });
    expect(names(await list('tags=fantasy,PORTRAIT&tag_mode=all'))).toEqual(['Alpha']);
  });

  it('searches description, tags, trained words and triggers, taking % and _ literally', async () => {
    await seed('Plain', { description: 'Watercolor wash style' });
    await seed('Tagged', { tags: ['Cyberpunk'] });
    await seed('Worded', { trained_words: ['zxq_person'] });
    await seed('Triggered', { triggers: ['100% neon'] });
    expect(names(await list('search=WATERCOLOR'))).toEqual(['Plain']);
    expect(names(await list('search=cyberpunk'))).toEqual(['Tagged']);
    expect(names(await list('search=zxq_person'))).toEqual(['Worded']);
    expect(names(await list('search=100%25'))).toEqual(['Triggered']);
    expect((await list('search=%25')).filtered).toBe(1);
    expect((await list('search=_')).filtered).toBe(1);
  });

  it('caps per_page at 200 and clamps page to 1', async () => {
    const page = await list('per_page=5000&page=-3');
    expect(page).toMatchObject({ per_page: 200, page: 1 });
    const invalid = await t.app.inject({ method: 'GET', url: '/api/v1/adapters?page=abc' });
    expect(invalid.statusCode).toBe(422);
  });

  it('lists distinct tags sorted case-insensitively (acceptance case 10)', async () => {
    await seed('A', { tags: ['fantasy', 'Portrait'] });
    await seed('B', { tags: ['sci-fi', 'fantasy'] });
    await seed('C', { tags: ['single'] });
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/adapters/tags' });
    expect(res.json().tags).toEqual(['fantasy', 'Portrait', 'sci-fi', 'single']);
    expect(res.json().tag_counts).toContainEqual({ tag: 'fantasy', count: 2 });
  });

  it('offers the base models and network types of the catalogue as filter facets, most common first', async () => {
    await seed('A', { base_model: 'SDXL 1.0', network_type: 'LoRA' });
    await seed('B', { base_model: 'SDXL 1.0', network_type: 'LoCon' });
    await seed('C', { base_model: 'Flux.1 D', network_type: 'LoRA', missing: true });
    await seed('D');
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/adapters/facets' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      base_models: [
        { value: 'SDXL 1.0', count: 2 },
        { value: 'Flux.1 D', count: 1 },
      ],
      network_types: [
        { value: 'LoRA', count: 2 },
        { value: 'LoCon', count: 1 },
      ],
      missing: 1,
    });
  });

  it('runs bulk actions in one go and reports unknown ids (acceptance case 11)', async () => {
    const a = await seed('A');
    const b = await seed('B');
    const bulk = async (payload: object) => (await t.app.inject({ method: 'POST', url: '/api/v1/adapters/bulk', payload })).json();

    expect(await bulk({ action: 'activate', lora_ids: [a, b] })).toMatchObject({ success: true, processed: 2 });
    expect(names(await list('active_only=true'))).toEqual(['A', 'B']);
    expect(await bulk({ action: 'favorite', lora_ids: [a, 'missing-id', ' '] })).toMatchObject({ processed: 1, ids: [a], not_found: ['missing-id'] });
    expect(await bulk({ action: 'add_tags', lora_ids: [a, b], tags: ['Batch'] })).toMatchObject({ processed: 2 });
    expect(names(await list('tags=batch'))).toEqual(['A', 'B']);
    expect(await bulk({ action: 'remove_tags', lora_ids: [b], tags: ['BATCH'] })).toMatchObject({ processed: 1 });
    expect(names(await list('tags=batch'))).toEqual(['A']);
    expect(await bulk({ action: 'delete', lora_ids: [a] })).toMatchObject({ processed: 1, ids: [a] });
    expect((await t.app.inject({ method: 'GET', url: `/api/v1/adapters/${a}` })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'GET', url: `/api/v1/adapters/${b}` })).statusCode).toBe(200);
    expect(await bulk({ action: 'activate', lora_ids: [] })).toMatchObject({ success: true, processed: 0, ids: [] });

    const bad = await t.app.inject({ method: 'POST', url: '/api/v1/adapters/bulk', payload: { action: 'explode', lora_ids: [b] } });
    expect(bad.statusCode).toBe(422);
    const noTags = await t.app.inject({ method: 'POST', url: '/api/v1/adapters/bulk', payload: { action: 'add_tags', lora_ids: [b] } });
    expect(noTags.statusCode).toBe(422);
  });

  it('deletes with 204 and 404 after', async () => {
    const id = await seed('Gone');
    expect((await t.app.inject({ method: 'DELETE', url: `/api/v1/adapters/${id}` })).statusCode).toBe(204);
    expect((await t.app.inject({ method: 'DELETE', url: `/api/v1/adapters/${id}` })).statusCode).toBe(404);
  });
});
