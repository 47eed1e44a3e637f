import type { Adapter } from '@lora-manager/contract';
import { computed, ref, shallowRef, triggerRef } from 'vue';

/** What the selection reads from the results: the adapter at a loaded index, and every id the query matches. */
export interface SelectionSource {
  loadedAt: (index: number) => Adapter | undefined;
  allIds: () => Promise<Set<string>>;
}

/** The selected adapters' ids, plus the index last clicked so shift-click can select a range. Part of the library store. */
export function useLibrarySelection(source: SelectionSource) {
  const selected = shallowRef(new Set<string>());
  const anchor = ref<number | null>(null);
  const selectionCount = computed(() => selected.value.size);

  function isSelected(id: string): boolean {
    return selected.value.has(id);
  }
  function toggleSelected(id: string, index: number): void {
    if (selected.value.has(id)) selected.value.delete(id);
    else selected.value.add(id);
    anchor.value = index;
    triggerRef(selected);
  }
  function selectRange(index: number): void {
    const from = Math.min(anchor.value ?? index, index);
    const to = Math.max(anchor.value ?? index, index);
    for (let i = from; i <= to; i += 1) {
      const item = source.loadedAt(i);
      if (item) selected.value.add(item.id);
    }
    anchor.value = index;
    triggerRef(selected);
  }
  function clearSelection(): void {
    selected.value = new Set();
    anchor.value = null;
  }
  /** Select every adapter matching the query, including those not loaded yet. */
  async function selectAll(): Promise<void> {
    selected.value = await source.allIds();
  }

  return { selected, selectionCount, isSelected, toggleSelected, selectRange, clearSelection, selectAll };
}
