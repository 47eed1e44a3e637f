import type { RouteRecordRaw } from 'vue-router';

/**
 * The pages in the navigation. A page is listed only when its backend exists on this server: each feature adds its
 * line here when its API lands, never before.
 */
export interface NavPage {
  path: string;
  label: string;
  /** An SVG path (24×24 viewBox) drawn as the page's icon. */
  icon: string;
  /** Second key of the "g <key>" shortcut. */
  key: string;
  component: RouteRecordRaw['component'];
}

export const ICONS = {
  dashboard: 'M3 13h8V3H3v10zm0 8h8v-6H3v6zm10 0h8V11h-8v10zm0-18v6h8V3h-8z',
  library: 'M4 6H2v14c0 1.1.9 2 2 2h14v-2H4V6zm16-4H8c-1.1 0-2 .9-2 2v12c0 1.1.9 2 2 2h12c1.1 0 2-.9 2-2V4c0-1.1-.9-2-2-2zm0 14H8V4h12v12z',
  compose: 'M3 17.25V21h3.75L17.81 9.94l-3.75-3.75L3 17.25zM20.71 7.04a1 1 0 0 0 0-1.41l-2.34-2.34a1 1 0 0 0-1.41 0l-1.83 1.83 3.75 3.75 1.83-1.83z',
  generate: 'M8 5v14l11-7z',
  history: 'M13 3a9 9 0 0 0-9 9H1l3.89 3.89.07.14L9 12H6c0-3.87 3.13-7 7-7s7 3.13 7 7-3.13 7-7 7a6.96 6.96 0 0 1-4.95-2.05l-1.42 1.42A8.95 8.95 0 0 0 13 21a9 9 0 0 0 0-18zm-1 5v5l4.28 2.54.72-1.21-3.5-2.08V8H12z',
  analytics: 'M5 9.2h3V19H5V9.2zM10.6 5h2.8v14h-2.8V5zm5.6 8H19v6h-2.8v-6z',
  recipes: 'M18 2H6c-1.1 0-2 .9-2 2v16c0 1.1.9 2 2 2h12c1.1 0 2-.9 2-2V4c0-1.1-.9-2-2-2zM8 6h8v2H8V6zm0 4h8v2H8v-2zm0 4h5v2H8v-2z',
  archive: 'M20.54 5.23 19.15 3.55A1.45 1.45 0 0 0 18 3H6c-.47 0-.88.21-1.16.55L3.46 5.23A1.99 1.99 0 0 0 3 6.5V19c0 1.1.9 2 2 2h14c1.1 0 2-.9 2-2V6.5c0-.48-.17-.93-.46-1.27zM12 17.5 6.5 12H10v-2h4v2h3.5L12 17.5zM5.12 5l.81-1h12l.94 1H5.12z',
  settings:
    'M19.14 12.94c.04-.3.06-.61.06-.94 0-.32-.02-.64-.07-.94l2.03-1.58a.49.49 0 0 0 .12-.61l-1.92-3.32a.49.49 0 0 0-.59-.22l-2.39.96c-.5-.38-1.03-.7-1.62-.94l-.36-2.54a.48.48 0 0 0-.48-.41h-3.84c-.24 0-.43.17-.47.41l-.36 2.54c-.59.24-1.13.57-1.62.94l-2.39-.96a.49.49 0 0 0-.59.22L2.74 8.87c-.12.21-.08.47.12.61l2.03 1.58c-.05.3-.09.63-.09.94s.02.64.07.94l-2.03 1.58a.49.49 0 0 0-.12.61l1.92 3.32c.12.22.37.29.59.22l2.39-.96c.5.38 1.03.7 1.62.94l.36 2.54c.05.24.24.41.48.41h3.84c.24 0 .44-.17.47-.41l.36-2.54c.59-.24 1.13-.56 1.62-.94l2.39.96c.22.08.47 0 .59-.22l1.92-3.32c.12-.22.07-.47-.12-.61l-2.01-1.58zM12 15.6A3.6 3.6 0 1 1 12 8.4a3.6 3.6 0 0 1 0 7.2z',
} as const;

export const NAV_PAGES: NavPage[] = [
  { path: '/', label: 'Dashboard', icon: ICONS.dashboard, key: 'd', component: () => import('../features/dashboard/views/DashboardView.vue') },
  { path: '/library', label: 'Library', icon: ICONS.library, key: 'l', component: () => import('../features/library/views/LibraryView.vue') },
  { path: '/compose', label: 'Compose', icon: ICONS.compose, key: 'c', component: () => import('../features/compose/views/ComposeView.vue') },
  { path: '/generate', label: 'Generate', icon: ICONS.generate, key: 'n', component: () => import('../features/generation/views/GenerateView.vue') },
  { path: '/history', label: 'History', icon: ICONS.history, key: 'h', component: () => import('../features/history/views/HistoryView.vue') },
  { path: '/analytics', label: 'Analytics', icon: ICONS.analytics, key: 'a', component: () => import('../features/analytics/views/AnalyticsView.vue') },
  { path: '/recipes', label: 'Recipes', icon: ICONS.recipes, key: 'r', component: () => import('../features/recipes/views/RecipesView.vue') },
  { path: '/archive', label: 'Import & export', icon: ICONS.archive, key: 'i', component: () => import('../features/archive/views/ArchiveView.vue') },
  { path: '/settings', label: 'Settings', icon: ICONS.settings, key: 's', component: () => import('../features/settings/views/SettingsView.vue') },
];

/** Where unknown paths land. */
export const HOME_PATH = '/';
