import fs from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LibraryWatcher, modelFor } from '../../src/library/services/library-watcher.ts';
import { adapters, api, writeLora } from '../support/library.ts';
import { createTestApp, type TestApp } from '../support/test-app.ts';

/** Poll until `check` passes (file events arrive when the OS delivers them). */
async function eventually(check: () => Promise<void>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

describe('library watcher', () => {
  let t: TestApp;
  let watcher: LibraryWatcher;
  beforeAll(async () => {
    t = await createTestApp('sqlite', { SCAN_THREADS: '0' });
    await api(t, 'PATCH', '/library/settings', { auto_hash: false }, 200);
    const { library, librarySettings, libraryRoots } = t.container.services;
    watcher = new LibraryWatcher((paths) => library.startScan({ paths }), () => libraryRoots.list(), async () => (await librarySettings.values()).watch, pino({ level: 'silent' }), {
      debounceMs: 200,
      stabilityMs: 300,
    });
  });
  afterAll(async () => {
    await watcher.end();
    await t.close();
  });

  it('maps sidecars and previews to the LoRA they belong to', () => {
    expect(modelFor('/l/a.safetensors')).toBe('/l/a.safetensors');
    expect(modelFor('/l/a.civitai.info')).toBe('/l/a.safetensors');
    expect(modelFor('/l/a.safetensors.rgthree-info.json')).toBe('/l/a.safetensors');
    expect(modelFor('/l/a.preview.png')).toBe('/l/a.safetensors');
    expect(modelFor('/l/a.metadata.json')).toBe('/l/a.safetensors');
    expect(modelFor('/l/a.json')).toBe('/l/a.safetensors');
    expect(modelFor('/l/readme.md')).toBeNull();
  });

  it('picks up added, changed and removed files while running, and stops when turned off', async () => {
    await watcher.begin();
    expect(watcher.state()).toEqual({ enabled: true, running: true });
    const file = writeLora(path.join(t.libraryDir, 'live', 'new.safetensors'));
    await eventually(async () => expect((await adapters(t)).map((a) => a.file_path)).toEqual([file]));

    fs.writeFileSync(path.join(t.libraryDir, 'live', 'new.json'), JSON.stringify({ 'activation text': 'watched words' }));
    await eventually(async () => expect((await adapters(t))[0].activation_text).toBe('watched words'));

    fs.rmSync(file);
    await eventually(async () => expect((await adapters(t))[0].missing).toBe(true));

    await api(t, 'PATCH', '/library/settings', { watch: false }, 200);
    await watcher.sync();
    expect(watcher.state()).toEqual({ enabled: false, running: false });
  });

  it("is wired into the container: serve's watcher follows the setting", async () => {
    const w = t.container.libraryWatcher;
    await api(t, 'PATCH', '/library/settings', { watch: true }, 200);
    await w.begin();
    expect((await api(t, 'GET', '/library/status', undefined, 200)).watcher).toEqual({ enabled: true, running: true });
    await api(t, 'PATCH', '/library/settings', { watch: false }, 200);
    await w.sync();
    expect((await api(t, 'GET', '/library/status', undefined, 200)).watcher).toEqual({ enabled: false, running: false });
    await w.end();
  });
});
