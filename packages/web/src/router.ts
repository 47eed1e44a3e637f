import { createRouter, createWebHistory } from 'vue-router';

export const router = createRouter({
  history: createWebHistory(),
  routes: [
    { path: '/', redirect: '/library' },
    { path: '/library', component: () => import('./features/library/views/LibraryView.vue') },
    { path: '/import-export', component: () => import('./features/archive/views/ArchiveView.vue') },
  ],
});
