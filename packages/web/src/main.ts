import { createPinia } from 'pinia';
import { createApp } from 'vue';
import App from './App.vue';
import { router } from './router.ts';
import { useSettingsStore } from './stores/settings.store.ts';

const app = createApp(App).use(createPinia());
// Learn where the API is before the first page asks it anything.
void useSettingsStore()
  .bootstrap()
  .finally(() => app.use(router).mount('#app'));
