import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router';
import { HOME_PATH, NAV_PAGES } from './app/navigation.ts';

const pages: RouteRecordRaw[] = NAV_PAGES.map((page) => ({ path: page.path, component: page.component!, meta: { title: page.label } }));

export const router = createRouter({
  history: createWebHistory(),
  routes: [
    ...pages,
    // Unknown paths (an old bookmark) land on the home page rather than a blank screen.
    { path: '/:pathMatch(.*)*', redirect: HOME_PATH },
  ],
});

router.afterEach((to) => {
  document.title = to.meta.title ? `${String(to.meta.title)} · LoRA Manager` : 'LoRA Manager';
});
