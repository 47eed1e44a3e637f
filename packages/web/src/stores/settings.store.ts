import { defineStore } from 'pinia';
import { computed, ref, watch } from 'vue';
import { createApiClient, DEFAULT_API_BASE } from '../api/client.ts';

const STORAGE_KEY = 'lora-manager.connection';

/** Where the API is and how to authenticate, kept in the browser. */
export const useSettingsStore = defineStore('settings', () => {
  const saved = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? '{}') as { baseUrl?: string; apiKey?: string | null };
  const baseUrl = ref(saved.baseUrl ?? DEFAULT_API_BASE);
  const apiKey = ref<string | null>(saved.apiKey ?? null);
  watch([baseUrl, apiKey], () => localStorage.setItem(STORAGE_KEY, JSON.stringify({ baseUrl: baseUrl.value, apiKey: apiKey.value })));
  const api = computed(() => createApiClient(() => ({ baseUrl: baseUrl.value, apiKey: apiKey.value })));
  return { baseUrl, apiKey, api };
});
