import { createPinia } from 'pinia';
import { createApp } from 'vue';
import App from './App.vue';
import { installNaiveAccessibility } from './app/naive-a11y.ts';
import { router } from './router.ts';
import { useSettingsStore } from './stores/settings.store.ts';

const app = createApp(App).use(createPinia());
// Ask where the API is while the page loads; API requests wait for the answer, rendering does not.
void useSettingsStore().bootstrap();
app.use(router).mount('#app');
// Popovers, drawers and modals render at the end of <body>: watch all of it.
installNaiveAccessibility(document.body);
