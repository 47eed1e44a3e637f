import type { Adapter } from '@lora-manager/contract';
import type { Ref } from 'vue';
import { ref } from 'vue';
import { errorMessage } from '../../../api/client.ts';
import type { AdaptersApi } from '../api/adapters.api.ts';
import type { AdapterMetadata, libraryApi } from '../api/library.api.ts';

/** What the detail panel reads besides the API: an adapter already loaded, and where to report a failure. */
export interface DetailSource {
  findLoaded: (id: string) => Adapter | undefined;
  error: Ref<string | null>;
}

/** The adapter open in the detail panel, and what the scanner read from its file. Part of the library store. */
export function useAdapterDetail(api: AdaptersApi, library: ReturnType<typeof libraryApi>, source: DetailSource) {
  const openId = ref<string | null>(null);
  const openAdapter = ref<Adapter | null>(null);
  /** What the scanner read from the file (training tags with counts, suggested triggers), when the server has it. */
  const openMetadata = ref<AdapterMetadata | null>(null);

  async function open(id: string | null): Promise<void> {
    openId.value = id;
    openMetadata.value = null;
    if (!id) {
      openAdapter.value = null;
      return;
    }
    openAdapter.value = source.findLoaded(id) ?? null;
    // Older servers and adapters never scanned have no metadata; the panel then reads what the adapter row carries.
    library
      .metadata(id)
      .then((m) => openId.value === id && (openMetadata.value = m))
      .catch(() => undefined);
    try {
      const fresh = await api.get(id);
      if (openId.value === id) openAdapter.value = fresh;
    } catch (e) {
      source.error.value = errorMessage(e);
    }
  }

  /** Show the server's new state of an adapter if it is the open one. */
  function replaceOpen(adapter: Adapter): void {
    if (openId.value === adapter.id) openAdapter.value = adapter;
  }

  return { openId, openAdapter, openMetadata, open, replaceOpen };
}
