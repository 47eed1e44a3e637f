import type { Job, LibraryStatus } from '@lora-manager/contract';
import { flushPromises, mount } from '@vue/test-utils';
import { NMessageProvider } from 'naive-ui';
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { defineComponent, h } from 'vue';
import { createMemoryHistory, createRouter } from 'vue-router';
import { useLiveStore } from '../../../stores/live.store.ts';
import LibraryEmpty from './LibraryEmpty.vue';

const scanJob = { id: 'scan-1', kind: 'library.scan', status: 'running', progress: 0.02, progress_detail: { progress: 0.02, indeterminate: true, message: '12 folders, 340 LoRA files' } } as Job;

function serve(status: Partial<LibraryStatus>) {
  vi.stubGlobal('fetch', async (url: string) => {
    const u = new URL(url, 'http://app');
    if (u.pathname === '/api/v1/library/status') return Response.json({ roots: [], active_scan: null, ...status });
    return new Response('null', { status: 404 });
  });
}

function mountEmpty() {
  const router = createRouter({ history: createMemoryHistory(), routes: [{ path: '/:any(.*)', component: { render: () => null } }] });
  const Host = defineComponent({ render: () => h(NMessageProvider, () => h(LibraryEmpty, { onScanned: () => scanned.push(1) })) });
  const scanned: number[] = [];
  return { wrapper: mount(Host, { global: { plugins: [router] } }), scanned };
}

describe('LibraryEmpty', () => {
  beforeEach(() => setActivePinia(createPinia()));
  afterEach(() => vi.unstubAllGlobals());

  it('on a first start shows the start-up scan working on the configured folders, then hands over when it is done', async () => {
    serve({ roots: [{ path: '/models/Lora', source: 'config', exists: true, readable: true, adapters: 0 }], active_scan: scanJob });
    const { wrapper, scanned } = mountEmpty();
    await flushPromises();
    const progress = wrapper.find('[data-testid=library-first-scan]');
    expect(progress.text()).toContain('Cataloguing your LoRAs');
    expect(progress.text()).toContain('/models/Lora');
    expect(progress.text()).toContain('340 LoRA files');
    expect(wrapper.find('[data-testid=scan-progress]').attributes('data-indeterminate')).toBe('true');
    expect(wrapper.text()).not.toContain('Your library is empty');

    useLiveStore().upsertJob({ ...scanJob, status: 'succeeded', progress: 1 });
    await flushPromises();
    expect(scanned).toHaveLength(1);
  });

  it('says nothing was found in the folders, or that there is no folder yet', async () => {
    serve({ roots: [{ path: '/models/Lora', source: 'config', exists: true, readable: true, adapters: 0 }] });
    const found = mountEmpty().wrapper;
    await flushPromises();
    expect(found.text()).toContain('No LoRA files found yet');
    expect(found.text()).toContain('Scan again');

    serve({ roots: [] });
    const none = mountEmpty().wrapper;
    await flushPromises();
    expect(none.text()).toContain('Your library is empty');
  });
});
