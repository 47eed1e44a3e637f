import type { Adapter, AdapterMatch, ComposeResponse } from '@lora-manager/contract';
import { defineStore } from 'pinia';
import { ref, watch } from 'vue';
import { errorMessage } from '../../../api/client.ts';
import { useSettingsStore } from '../../../stores/settings.store.ts';
import { adaptersApi } from '../../library/api/adapters.api.ts';
import { generationApi } from '../../generation/api/generation.api.ts';

const OPTIONS_KEY = 'lora-manager.compose.options';
export const SYNTAXES = [
  { label: 'A1111 / SDNext  <lora:name:0.8>', value: 'a1111' },
  { label: 'ComfyUI (prompt-control)  <lora:name:0.8>', value: 'comfyui' },
  { label: 'Original  <lora:name:0.800>', value: 'original' },
] as const;

export interface ComposeOptions {
  prefix: string;
  suffix: string;
  includeTriggers: boolean;
  syntax: 'a1111' | 'comfyui' | 'original' | 'sdnext';
  tokenName: 'name' | 'file';
}

/** Move one element of a list; returns a new list. */
export function moveItem<T>(list: readonly T[], from: number, to: number): T[] {
  const next = [...list];
  const [item] = next.splice(from, 1);
  next.splice(Math.max(0, Math.min(next.length, to)), 0, item);
  return next;
}

/**
 * The composition: the active LoRAs in order with their weights (both kept on the server, so every client sees the
 * same composition), the text around them, and the prompt the server composes from it, refreshed as things change.
 */
export const useComposeStore = defineStore('compose', () => {
  const settings = useSettingsStore();
  const adapters = adaptersApi(settings.api);
  const generation = generationApi(settings.api);

  const items = ref<Adapter[]>([]);
  const loading = ref(false);
  const error = ref<string | null>(null);
  const options = ref<ComposeOptions>({
    prefix: '',
    suffix: '',
    includeTriggers: true,
    syntax: 'a1111',
    tokenName: 'file',
    ...(JSON.parse(localStorage.getItem(OPTIONS_KEY) ?? '{}') as Partial<ComposeOptions>),
  });
  watch(options, (o) => localStorage.setItem(OPTIONS_KEY, JSON.stringify(o)), { deep: true });

  const composed = ref<ComposeResponse | null>(null);
  const composing = ref(false);

  async function load(): Promise<void> {
    loading.value = true;
    try {
      const page = await adapters.list({ active_only: true, sort: 'ordinal', order: 'asc', per_page: 200 });
      items.value = page.items;
      error.value = null;
    } catch (e) {
      error.value = errorMessage(e);
    } finally {
      loading.value = false;
    }
    scheduleCompose(0);
  }

  let composeTimer: ReturnType<typeof setTimeout> | undefined;
  let composeSeq = 0;
  function scheduleCompose(delay = 150): void {
    clearTimeout(composeTimer);
    composeTimer = setTimeout(() => void compose(), delay);
  }
  async function compose(): Promise<void> {
    const seq = ++composeSeq;
    composing.value = true;
    try {
      const o = options.value;
      const answer = await generation.compose({
        prefix: o.prefix || null,
        suffix: o.suffix || null,
        syntax: o.syntax,
        include_triggers: o.includeTriggers,
        token_name: o.tokenName,
        adapters: items.value.map((a) => ({ id: a.id, weight: a.weight })),
      });
      if (seq === composeSeq) composed.value = answer;
    } catch (e) {
      if (seq === composeSeq) error.value = errorMessage(e);
    } finally {
      if (seq === composeSeq) composing.value = false;
    }
  }
  watch(options, () => scheduleCompose(), { deep: true });

  /** Reorder and save the new ordinals of the adapters whose place changed. */
  async function move(from: number, to: number): Promise<void> {
    const next = moveItem(items.value, from, to);
    items.value = next;
    scheduleCompose(0);
    try {
      await Promise.all(
        next.map((a, ordinal) => (a.ordinal === ordinal ? null : adapters.patch(a.id, { ordinal }).then((u) => Object.assign(a, { ordinal: u.ordinal })))),
      );
    } catch (e) {
      error.value = errorMessage(e);
    }
  }

  const weightTimers = new Map<string, ReturnType<typeof setTimeout>>();
  function setWeight(id: string, weight: number): void {
    const item = items.value.find((a) => a.id === id);
    if (!item) return;
    item.weight = weight;
    scheduleCompose();
    clearTimeout(weightTimers.get(id));
    weightTimers.set(
      id,
      setTimeout(() => void adapters.patch(id, { weight }).catch((e) => (error.value = errorMessage(e))), 400),
    );
  }

  async function remove(id: string): Promise<void> {
    await adapters.deactivate(id);
    items.value = items.value.filter((a) => a.id !== id);
    scheduleCompose(0);
  }

  async function add(id: string): Promise<void> {
    if (items.value.some((a) => a.id === id)) return;
    const adapter = await adapters.activate(id, items.value.length);
    items.value = [...items.value, adapter];
    scheduleCompose(0);
  }

  async function clear(): Promise<void> {
    await adapters.bulk(
      'deactivate',
      items.value.map((a) => a.id),
    );
    items.value = [];
    scheduleCompose(0);
  }

  /** Adapters matching `search`, to add to the composition: best match first, each with why it matched. */
  async function search(text: string): Promise<Adapter[]> {
    return (await searchRanked(text)).items;
  }
  async function searchRanked(text: string): Promise<{ items: Adapter[]; matches: Record<string, AdapterMatch> }> {
    const page = await adapters.list({ search: text || undefined, per_page: 20, sort: text.trim() ? 'relevance' : 'name' });
    return { items: page.items, matches: page.matches ?? {} };
  }

  return { items, loading, error, options, composed, composing, load, compose, move, setWeight, remove, add, clear, search, searchRanked };
});
