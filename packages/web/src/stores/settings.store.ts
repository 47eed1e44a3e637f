import type { FrontendSettings } from '@lora-manager/contract';
import { defineStore } from 'pinia';
import { computed, ref, watch } from 'vue';
import { createApiClient, DEFAULT_API_BASE } from '../api/client.ts';

const CONNECTION_KEY = 'lora-manager.connection';
const PREFERENCES_KEY = 'lora-manager.preferences';
/** Half the server's session lifetime (24 h). */
const SESSION_RENEW_MS = 12 * 60 * 60 * 1000;

export type ThemeChoice = 'dark' | 'light' | 'system';
/** CivitAI nsfwLevel bits: 1 PG, 2 PG13, 4 R, 8 X, 16 XXX. Images at or above the threshold are blurred; 0 = never. */
export const NSFW_LEVELS = [
  { label: 'Never blur', value: 0 },
  { label: 'PG-13 and above', value: 2 },
  { label: 'R and above', value: 4 },
  { label: 'X and above', value: 8 },
  { label: 'XXX only', value: 16 },
] as const;

export type CardDensity = 'compact' | 'comfortable' | 'large';

export interface Preferences {
  theme: ThemeChoice;
  nsfwBlurThreshold: number;
  libraryView: 'grid' | 'list';
  /** How much each library card shows, and so how many fit on a screen (features/library/lib/card-density.ts). */
  cardDensity: CardDensity;
}

const DEFAULT_PREFERENCES: Preferences = { theme: 'system', nsfwBlurThreshold: 4, libraryView: 'grid', cardDensity: 'comfortable' };
const DENSITIES: readonly CardDensity[] = ['compact', 'comfortable', 'large'];

/** Saved preferences over the defaults; a value from an older version or a hand edit that no longer fits is dropped. */
function readPreferences(): Preferences {
  const { cardSize: _dropped, ...saved } = readJson<Preferences & { cardSize?: number }>(PREFERENCES_KEY);
  const merged = { ...DEFAULT_PREFERENCES, ...saved };
  if (!DENSITIES.includes(merged.cardDensity)) merged.cardDensity = DEFAULT_PREFERENCES.cardDensity;
  if (merged.libraryView !== 'grid' && merged.libraryView !== 'list') merged.libraryView = 'grid';
  return merged;
}

function readJson<T>(key: string): Partial<T> {
  try {
    return JSON.parse(localStorage.getItem(key) ?? '{}') as Partial<T>;
  } catch {
    return {};
  }
}

/** Where the API is, how to authenticate, and how the interface looks: all kept in the browser. */
export const useSettingsStore = defineStore('settings', () => {
  const saved = readJson<{ baseUrl: string; apiKey: string | null }>(CONNECTION_KEY);
  const baseUrl = ref(saved.baseUrl ?? DEFAULT_API_BASE);
  const apiKey = ref<string | null>(saved.apiKey ?? null);
  /** True once the user chose a backend URL; until then the server's advertised one wins. */
  const baseUrlChosen = ref(saved.baseUrl !== undefined);
  watch([baseUrl, apiKey], () =>
    localStorage.setItem(CONNECTION_KEY, JSON.stringify({ baseUrl: baseUrl.value, apiKey: apiKey.value || null })),
  );

  const preferences = ref<Preferences>(readPreferences());
  watch(preferences, (value) => localStorage.setItem(PREFERENCES_KEY, JSON.stringify(value)), { deep: true });

  const server = ref<FrontendSettings | null>(null);
  let bootstrapped: Promise<void> | null = null;
  const api = createApiClient(
    () => ({ baseUrl: baseUrl.value, apiKey: apiKey.value || null }),
    () => bootstrapped ?? Promise.resolve(),
  );

  const systemDark = ref(globalThis.matchMedia?.('(prefers-color-scheme: dark)').matches ?? true);
  globalThis.matchMedia?.('(prefers-color-scheme: dark)').addEventListener?.('change', (e) => (systemDark.value = e.matches));
  const dark = computed(() => (preferences.value.theme === 'system' ? systemDark.value : preferences.value.theme === 'dark'));

  /** Ask the serving server where its API is (never the key) unless the user picked a backend. */
  function bootstrap(): Promise<void> {
    bootstrapped ??= api
      .frontendSettings()
      .then((answer) => {
        server.value = answer;
        if (answer && !baseUrlChosen.value) baseUrl.value = answer.backendUrl;
      })
      .then(() => api.openSession())
      .then(() => undefined);
    return bootstrapped;
  }

  // The session cookie lasts a day: renew it while the page stays open, and at once when the key changes.
  watch(apiKey, () => void api.openSession());
  globalThis.setInterval?.(() => void api.openSession(), SESSION_RENEW_MS);

  function setConnection(url: string, key: string | null): void {
    baseUrl.value = url.trim() || DEFAULT_API_BASE;
    apiKey.value = key?.trim() || null;
    baseUrlChosen.value = true;
  }

  function toggleTheme(): void {
    preferences.value.theme = dark.value ? 'light' : 'dark';
  }

  return { baseUrl, apiKey, preferences, server, api, dark, bootstrap, setConnection, toggleTheme };
});
