import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { nextTick } from 'vue';
import { useSettingsStore } from './settings.store.ts';

describe('settings store', () => {
  beforeEach(() => {
    localStorage.clear();
    setActivePinia(createPinia());
  });
  afterEach(() => vi.unstubAllGlobals());

  it("takes the serving server's API base until the user picks one, then keeps the user's", async () => {
    vi.stubGlobal('fetch', async () => Response.json({ backendUrl: '/lm/api/v1', apiKeyRequired: true, generationPolling: { queueMs: 1, websocketRetryMs: 1, systemStatusMs: 1 } }));
    const first = useSettingsStore();
    await first.bootstrap();
    expect(first.baseUrl).toBe('/lm/api/v1');
    expect(first.server?.apiKeyRequired).toBe(true);

    first.setConnection('http://gpu-box:8000/api/v1 ', ' key-123456 ');
    await nextTick();
    setActivePinia(createPinia());
    const later = useSettingsStore();
    await later.bootstrap();
    expect(later.baseUrl).toBe('http://gpu-box:8000/api/v1');
    expect(later.apiKey).toBe('key-123456');
  });

  it('keeps theme and blur preferences in the browser', async () => {
    vi.stubGlobal('fetch', async () => new Response('', { status: 404 }));
    const store = useSettingsStore();
    store.preferences.theme = 'light';
    store.preferences.nsfwBlurThreshold = 8;
    await nextTick();
    setActivePinia(createPinia());
    const again = useSettingsStore();
    expect(again.preferences.theme).toBe('light');
    expect(again.preferences.nsfwBlurThreshold).toBe(8);
    expect(again.dark).toBe(false);
  });

  it('keeps the library card size; an old card width or a bad value falls back to comfortable cards', async () => {
    vi.stubGlobal('fetch', async () => new Response('', { status: 404 }));
    localStorage.setItem('lora-manager.preferences', JSON.stringify({ theme: 'dark', cardSize: 300, cardDensity: 'huge', libraryView: 'table' }));
    const store = useSettingsStore();
    expect(store.preferences).toMatchObject({ theme: 'dark', cardDensity: 'comfortable', libraryView: 'grid' });
    expect('cardSize' in store.preferences).toBe(false);
    store.preferences.cardDensity = 'compact';
    await nextTick();
    setActivePinia(createPinia());
    expect(useSettingsStore().preferences.cardDensity).toBe('compact');
  });
});
