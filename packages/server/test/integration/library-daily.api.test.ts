import { randomUUID } from 'node:crypto';
import type { Adapter, AdapterMatch, Job, ScanSummary } from '@lora-manager/contract';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { adapters, api, resetLibrary, scan, writeLora } from '../support/library.ts';
import { createTestApp, TEST_DIALECTS, type TestApp } from '../support/test-app.ts';

type Page = { items: Adapter[]; matches?: Record<string, AdapterMatch>; filtered: number };

/** The library as a daily tool: ranked search with reasons, NSFW levels the user sets, a scan at every start. */
describe.each(TEST_DIALECTS)('library for daily use on %s', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(dialect, { SCAN_THREADS: '0' });
  });
  afterAll(async () => t.close());
  beforeEach(async () => {
    await resetLibrary(t);
    await api(t, 'PATCH', '/library/settings', { auto_hash: false }, 200);
  });

  async function seed(name: string, extra: Partial<Adapter> & { tags?: string[] } = {}): Promise<string> {
    const { tags = [], ...fields } = extra;
    const id = randomUUID();
    const now = new Date().toISOString();
    await t.container.repositories.adapters.insert({ id, name, file_path: t.libraryFile(`${id}.safetensors`), created_at: now, updated_at: now, ...fields }, tags);
    return id;
  }
  const list = (qs: string) => api<Page>(t, 'GET', `/adapters?${qs}`, undefined, 200);
  const names = (page: Page) => page.items.map((a) => a.name);

  it('ranks a search: the exact name, then names starting with it, names holding it, triggers, tags, descriptions', async () => {
    await seed('About ink', { description: 'nothing to see' });
    await seed('Zebra', { description: 'drawn with ink and a brush' });
    await seed('Yak', { tags: ['Inked'] });
    await seed('Xylo', { triggers: ['inkwash'] });
    await seed('Inkwash Style');
    await seed('ink');
    const page = await list('search=ink');
    expect(names(page)).toEqual(['ink', 'Inkwash Style', 'About ink', 'Xylo', 'Yak', 'Zebra']);
    // Each result says why it matched.
    const why = Object.fromEntries(page.items.map((a) => [a.name, page.matches?.[a.id]]));
    expect(why['ink']).toEqual({ field: 'name', kind: 'exact', value: 'ink' });
    expect(why['Inkwash Style']).toEqual({ field: 'name', kind: 'prefix', value: 'Inkwash Style' });
    expect(why['About ink']).toMatchObject({ field: 'name', kind: 'contains' });
    expect(why['Xylo']).toEqual({ field: 'trigger', kind: 'prefix', value: 'inkwash' });
    expect(why['Yak']).toEqual({ field: 'tag', kind: 'prefix', value: 'Inked' });
    expect(why['Zebra']?.field).toBe('description');
    expect(why['Zebra']?.value).toContain('ink');
    // A chosen order still wins over relevance; without a search there are no reasons.
    expect(names(await list('search=ink&sort=name_desc'))).toEqual(['Zebra', 'Yak', 'Xylo', 'Inkwash Style', 'ink', 'About ink']);
    expect((await list('per_page=5')).matches).toBeUndefined();
    // Pages of a ranked search continue the ranking.
    expect(names(await list('search=ink&per_page=2&page=2'))).toEqual(['About ink', 'Xylo']);
    // Wildcards in the term are literal in the ranking too.
    await seed('100% ink');
    expect(names(await list('search=100%25'))).toEqual(['100% ink']);
    // Quotes, backslashes and LIKE wildcards are only text to the ranking: no error, no stray matches.
    await seed('back\\slash "quoted" it\'s');
    expect(names(await list(`search=${encodeURIComponent('\\slash "quoted" it\'s')}`))).toEqual(['back\\slash "quoted" it\'s']);
    expect((await list(`search=${encodeURIComponent('\\_%')}`)).filtered).toBe(0);
  });

  it('sets the NSFW level per LoRA and in bulk, and a rescan never puts the file\'s level back', async () => {
    writeLora(`${t.libraryDir}/a.safetensors`, { trigger: 'aaa' });
    writeLora(`${t.libraryDir}/b.safetensors`, { trigger: 'bbb' });
    await scan(t);
    const [a, b] = (await adapters(t)).sort((x, y) => x.name.localeCompare(y.name));
    expect(a.nsfw_level).toBe(0);
    await api(t, 'PATCH', `/adapters/${a.id}`, { nsfw_level: 4 }, 200);
    const bulk = await api(t, 'POST', '/adapters/bulk', { action: 'set_nsfw_level', lora_ids: [b.id, 'nope'], nsfw_level: 16 }, 200);
    expect(bulk).toMatchObject({ processed: 1, ids: [b.id], not_found: ['nope'] });
    await scan(t, { force: true });
    const after = new Map((await adapters(t)).map((x) => [x.id, x.nsfw_level]));
    expect(after.get(a.id)).toBe(4);
    expect(after.get(b.id)).toBe(16);
    const meta = await api<{ user_fields: string[] }>(t, 'GET', `/adapters/${b.id}/metadata`, undefined, 200);
    expect(meta.user_fields).toContain('nsfw_level');
  });

  it('refuses a bulk NSFW change without a level or with one out of range', async () => {
    const id = await seed('One');
    const missing = await t.app.inject({ method: 'POST', url: '/api/v1/adapters/bulk', payload: { action: 'set_nsfw_level', lora_ids: [id] } });
    expect(missing.statusCode).toBe(422);
    expect(missing.json().code).toBe('validation_failed');
    const big = await t.app.inject({ method: 'POST', url: '/api/v1/adapters/bulk', payload: { action: 'set_nsfw_level', lora_ids: [id], nsfw_level: 9999 } });
    expect(big.statusCode).toBe(422);
    const text = await t.app.inject({ method: 'POST', url: '/api/v1/adapters/bulk', payload: { action: 'set_nsfw_level', lora_ids: [id], nsfw_level: 'X' } });
    expect(text.statusCode).toBe(422);
    expect((await api<{ adapter: Adapter }>(t, 'GET', `/adapters/${id}`, undefined, 200)).adapter.nsfw_level).toBe(0);
  });

  it('queues one incremental scan of the library roots at start, which finds files added while it was down', async () => {
    writeLora(`${t.libraryDir}/start/one.safetensors`);
    const job = (await t.container.services.library.scanAtStart()) as Job;
    expect(job.kind).toBe('library.scan');
    // The library page learns of it from the status, to show its progress on a first start.
    const status = await api<{ active_scan: Job | null }>(t, 'GET', '/library/status', undefined, 200);
    expect(status.active_scan?.id).toBe(job.id);
    await t.container.queue.drain();
    expect((await api<{ active_scan: Job | null }>(t, 'GET', '/library/status', undefined, 200)).active_scan).toBeNull();
    const done = (await api<{ job: Job }>(t, 'GET', `/jobs/${job.id}`, undefined, 200)).job;
    expect(done.status).toBe('succeeded');
    expect((done.result as ScanSummary).added).toBe(1);
    expect((await adapters(t)).map((a) => a.relative_path)).toEqual(['start/one.safetensors']);
    // The next start costs a stat per file: nothing added, nothing updated.
    const again = (await t.container.services.library.scanAtStart()) as Job;
    await t.container.queue.drain();
    const second = (await api<{ job: Job }>(t, 'GET', `/jobs/${again.id}`, undefined, 200)).job.result as ScanSummary;
    expect(second).toMatchObject({ added: 0, updated: 0, unchanged: 1 });
  });

  it('reports no percentage while the scan is still finding files, and a steady one after', async () => {
    for (let i = 0; i < 12; i++) writeLora(`${t.libraryDir}/p/${i}.safetensors`, { seed: i });
    const reports: Array<{ progress: number; total: number; indeterminate?: boolean; phase: string }> = [];
    await t.container.services.libraryScan.scan({ onProgress: (p) => reports.push(p) });
    expect(reports[0]).toMatchObject({ phase: 'walking', indeterminate: true });
    const measured = reports.filter((r) => !r.indeterminate);
    expect(measured.length).toBeGreaterThan(0);
    // Once a percentage shows, it never goes back and its total never changes.
    for (let i = 1; i < measured.length; i++) expect(measured[i].progress).toBeGreaterThanOrEqual(measured[i - 1].progress);
    expect(new Set(measured.filter((r) => r.phase === 'reading').map((r) => r.total)).size).toBeLessThanOrEqual(1);
    // No indeterminate report comes after a measured one.
    const firstMeasured = reports.findIndex((r) => !r.indeterminate);
    expect(reports.slice(firstMeasured).every((r) => !r.indeterminate)).toBe(true);
  });

  it('answers sd_version from the base model instead of "Unknown"', async () => {
    const flux = await seed('Flux thing', { base_model: 'Flux.1 D', sd_version: 'Unknown' });
    const pony = await seed('Pony thing', { base_model: 'Pony' });
    const mine = await seed('Mine', { base_model: 'SDXL 1.0', sd_version: 'SDXL' });
    const none = await seed('None', { sd_version: 'Unknown' });
    const get = async (id: string) => (await api<{ adapter: Adapter }>(t, 'GET', `/adapters/${id}`, undefined, 200)).adapter.sd_version;
    expect(await get(flux)).toBe('Flux');
    expect(await get(pony)).toBe('SDXL');
    expect(await get(mine)).toBe('SDXL');
    expect(await get(none)).toBe('Unknown');
    // A user's new base model moves the version along; a version the user wrote stays theirs.
    await api(t, 'PATCH', `/adapters/${pony}`, { base_model: 'Flux.1 D' }, 200);
    expect(await get(pony)).toBe('Flux');
    await api(t, 'PATCH', `/adapters/${mine}`, { base_model: 'SD 1.5', sd_version: 'SD1' }, 200);
    expect(await get(mine)).toBe('SD1');
    const meta = await api<{ user_fields: string[] }>(t, 'GET', `/adapters/${pony}/metadata`, undefined, 200);
    expect(meta.user_fields).toContain('base_model');
    expect(meta.user_fields).not.toContain('sd_version');
  });
});
