/// <reference types="node" />
import { expect, test } from '@playwright/test';
import { seedLibrary, shot, type SeedAdapter } from './support/library.ts';

const STYLES = ['ink', 'neon', 'watercolor', 'pastel', 'noir', 'pixel'];
const ADAPTERS: SeedAdapter[] = [
  { name: 'Inkwash Style', tags: ['style', 'ink'], base_model: 'SDXL 1.0', triggers: ['inkwash'], rating: 4 },
  { name: 'Ink Portrait', tags: ['portrait', 'ink'], base_model: 'SD 1.5', triggers: ['inkportrait'] },
  { name: 'Neon Alley', tags: ['background', 'neon'], base_model: 'SDXL 1.0', nsfw_level: 4 },
  ...Array.from({ length: 27 }, (_, i) => ({ name: `${STYLES[i % 6]} sample ${String(i).padStart(2, '0')}`, tags: [STYLES[i % 6], i % 2 ? 'style' : 'concept'], base_model: i % 3 ? 'SD 1.5' : 'Pony' })),
];

let ids: Record<string, string> = {};
/** Adapters in the catalogue: these and whatever other spec files registered on the same server. */
let total = 0;
test.beforeAll(async ({ request }) => {
  ids = await seedLibrary(request, ADAPTERS);
  total = ((await (await request.get('/api/v1/adapters', { params: { per_page: 1 } })).json()) as { total: number }).total;
});

test('browse, search, open, edit and activate a LoRA', async ({ page, request }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));

  await page.goto('/library');
  await expect(page.getByTestId('library-count')).toContainText(`${total} LoRAs`);
  await expect(page.getByTestId('adapter-card').first()).toBeVisible();
  await shot(page, 'library-grid-dark');

  // Search as you type; the view lands in the URL and survives a reload.
  await page.getByTestId('library-search').locator('input').fill('ink');
  await expect(page.getByTestId('library-count')).toContainText(`of ${total} LoRAs`);
  await expect(page).toHaveURL(/q=ink/);
  const names = await page.getByTestId('adapter-card').locator('.name').allTextContents();
  expect(names.length).toBeGreaterThanOrEqual(2);
  expect(names.every((n) => /ink/i.test(n))).toBe(true);
  await page.reload();
  await expect(page.getByTestId('library-search').locator('input')).toHaveValue('ink');
  await expect(page.getByTestId('library-count')).toContainText(`of ${total} LoRAs`);

  // Open one: the detail panel shows its facts; rate it, tag it, activate it.
  await page.getByTestId('adapter-card').filter({ hasText: 'Inkwash Style' }).click();
  const detail = page.getByTestId('adapter-detail');
  await expect(detail).toBeVisible();
  await expect(detail).toContainText('inkwash');
  await expect(detail).toContainText('SDXL 1.0');
  await shot(page, 'library-detail');
  await detail.getByTestId('detail-active').click();
  await expect.poll(async () => (await (await request.get(`/api/v1/adapters/${ids['Inkwash Style']}`)).json()).adapter.active).toBe(true);
  await page.keyboard.press('Escape');
  await expect(detail).toBeHidden();
  await expect(page.getByTestId('adapter-card').filter({ hasText: 'Inkwash Style' })).toContainText('active');

  expect(errors).toEqual([]);
});

test('filters, list view, bulk selection and bulk actions', async ({ page, request }) => {
  const matching = (await (await request.get('/api/v1/adapters', { params: { base_model: 'SD 1.5', tags: 'style', per_page: 200 } })).json()) as { filtered: number; items: Array<{ id: string }> };
  await request.post('/api/v1/adapters/bulk', { data: { action: 'deactivate', lora_ids: matching.items.map((a) => a.id) } });
  await page.goto('/library?base_model=SD+1.5&tags=style');
  await expect(page.getByTestId('library-filters')).toBeVisible();
  const count = page.getByTestId('library-count');
  await expect(count).toContainText(`of ${total}`);
  expect(matching.filtered).toBeGreaterThanOrEqual(ADAPTERS.filter((a) => a.base_model === 'SD 1.5' && a.tags.includes('style')).length);
  await expect(count).toContainText(`${matching.filtered} of ${total}`);
  await shot(page, 'library-filters');

  await page.getByTestId('view-list').click();
  const rows = page.getByTestId('adapter-card');
  await rows.nth(0).locator('input[type=checkbox]').click();
  await rows.nth(2).locator('input[type=checkbox]').click({ modifiers: ['Shift'] });
  await expect(page.getByTestId('bulk-bar')).toContainText('3 selected');
  await shot(page, 'library-list-bulk');
  await page.getByTestId('bulk-activate').click();
  await expect(page.getByText('3 LoRAs activated')).toBeVisible();
  const active = (await (await request.get('/api/v1/adapters', { params: { active_only: 'true', base_model: 'SD 1.5', tags: 'style' } })).json()) as { filtered: number };
  expect(active.filtered).toBe(3);

  // Escape clears the selection; "?" opens the shortcut help.
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('bulk-bar')).toBeHidden();
  await page.keyboard.press('?');
  await expect(page.getByTestId('help-overlay')).toBeVisible();
  await shot(page, 'help-overlay');
});

test('keyboard navigation opens and favourites the focused LoRA', async ({ page, request }) => {
  await page.goto('/library?q=neon+alley');
  await expect(page.getByTestId('adapter-card')).toHaveCount(1);
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('f');
  await expect.poll(async () => (await (await request.get(`/api/v1/adapters/${ids['Neon Alley']}`)).json()).adapter.favorite).toBe(true);
  await page.keyboard.press('Enter');
  await expect(page.locator('.n-drawer')).toContainText('Neon Alley');
  await expect(page.getByTestId('adapter-detail')).toContainText('background');
});

test('empty results say what to do; light theme and phone layout', async ({ page, browser }) => {
  await page.goto('/library?q=zzzz-no-such-lora');
  await expect(page.getByTestId('library-no-match')).toBeVisible();
  await page.getByTestId('library-no-match').getByRole('button').click();
  await expect(page.getByTestId('adapter-card').first()).toBeVisible();

  await page.getByTestId('theme-toggle').click();
  await shot(page, 'library-grid-light');

  const phone = await browser.newPage({ viewport: { width: 390, height: 844 } });
  await phone.goto('/library');
  await expect(phone.getByTestId('adapter-card').first()).toBeVisible();
  const box = await phone.getByTestId('adapter-card').first().boundingBox();
  expect(box!.width).toBeLessThan(200);
  await shot(phone, 'library-phone');
  await phone.close();
});

test('settings: connection test and appearance', async ({ page }) => {
  await page.goto('/settings');
  await page.getByTestId('settings-save-connection').click();
  await expect(page.getByTestId('settings-connection-result')).toContainText(`Connected: ${total} LoRAs`);
  await page.getByTestId('settings-backend-url').locator('input').fill('http://127.0.0.1:9/api/v1');
  await page.getByTestId('settings-save-connection').click();
  await expect(page.getByTestId('settings-connection-result')).toContainText('Cannot reach the server');
  await shot(page, 'settings');
});

test('dashboard: live stats, system status, activity, featured LoRAs', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByTestId('dashboard-stat').first()).toContainText('LoRAs');
  await expect(page.getByTestId('dashboard-stat').first()).toContainText(/\d+/);
  await expect(page.getByTestId('dashboard-system')).toContainText('Queue');
  await expect(page.getByTestId('live-state')).toHaveClass(/open/);
  await shot(page, 'dashboard');
  await page.getByTestId('dashboard-stat').first().click();
  await expect(page).toHaveURL(/\/library$/);
});

test('import & export page is in the navigation', async ({ page }) => {
  await page.goto('/');
  await page.getByTestId('nav-archive').click();
  await expect(page).toHaveURL(/\/archive$/);
  await expect(page.locator('main')).toContainText(/export/i);
  await shot(page, 'import-export');
});
