/// <reference types="node" />
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
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

  await chooseView(page, 'Dense list');
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

/** Pick a card size or the dense list from the library's view menu. */
async function chooseView(page: Page, label: string): Promise<void> {
  await page.getByTestId('library-view').click();
  await page.locator('.n-base-select-option').filter({ hasText: new RegExp(`^${label}$`) }).click();
  await expect(page.locator('.n-base-select-menu:visible')).toHaveCount(0);
}

/** Cards wholly on screen (the grid renders a few rows beyond it). */
async function cardsOnScreen(page: Page): Promise<number> {
  return page.evaluate(
    () =>
      [...document.querySelectorAll('[data-testid=adapter-card]')].filter((e) => {
        const r = e.getBoundingClientRect();
        return r.top >= 0 && r.bottom <= innerHeight && r.width > 0;
      }).length,
  );
}

/**
 * Serious and critical accessibility problems axe finds in one part of the page as it is now (the library's own
 * views: the shell around them is checked by the suite that visits every page).
 */
async function seriousViolations(page: Page, selector: string): Promise<string[]> {
  const { violations } = await new AxeBuilder({ page }).include(selector).analyze();
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`);
}

test('card sizes and the dense list; ranked search that says why; nothing nested or unnamed', async ({ page }) => {
  await page.goto('/library');
  await expect(page.getByTestId('adapter-card').first()).toBeVisible();
  await chooseView(page, 'Large cards');
  await expect.poll(() => cardsOnScreen(page)).toBeGreaterThan(0);
  const large = await cardsOnScreen(page);
  await chooseView(page, 'Comfortable cards');
  await expect.poll(() => cardsOnScreen(page)).toBeGreaterThan(large);
  const comfortable = await cardsOnScreen(page);
  // The default density shows clearly more than the ten cards a 1440×900 screen used to.
  expect(comfortable).toBeGreaterThanOrEqual(15);
  await shot(page, 'library-comfortable');
  await chooseView(page, 'Compact cards');
  await expect.poll(() => cardsOnScreen(page)).toBeGreaterThan(comfortable);
  await shot(page, 'library-compact');
  // The base model badge sits at the card's edge, not pushed in by a hidden checkbox.
  const card = page.getByTestId('adapter-card').filter({ hasText: 'Inkwash Style' });
  const [cardBox, badgeBox] = [await card.boundingBox(), await card.getByTestId('card-base-model').boundingBox()];
  expect(badgeBox!.x - cardBox!.x).toBeLessThan(10);
  // The choice survives a reload.
  await page.reload();
  await expect(page.getByTestId('library-view')).toContainText('Compact cards');
  await chooseView(page, 'Comfortable cards');

  // Ranked search: names starting with the term first; a trigger-word match says so on its card.
  await page.getByTestId('library-search').locator('input').fill('inkportrait');
  await expect(page.getByTestId('adapter-card')).toHaveCount(1);
  await expect(page.getByTestId('adapter-card').getByTestId('card-match')).toHaveText('trigger word: inkportrait');
  await page.getByTestId('library-search').locator('input').fill('ink');
  await expect(page.getByTestId('adapter-card').first().getByTestId('card-match')).toHaveText('name starts with it');
  await expect(page.getByTestId('library-sort')).toContainText('Best match');
  await shot(page, 'library-search-ranked');

  expect(await seriousViolations(page, '.library')).toEqual([]);
  await chooseView(page, 'Dense list');
  await expect(page.getByTestId('adapter-card').first()).toBeVisible();
  expect(await seriousViolations(page, '.library')).toEqual([]);
  // The other theme too.
  await page.getByTestId('theme-toggle').click();
  expect(await seriousViolations(page, '.library')).toEqual([]);
  await chooseView(page, 'Comfortable cards');
  expect(await seriousViolations(page, '.library')).toEqual([]);

  // Compose's "add a LoRA" box ranks the same way and says why too.
  await page.goto('/compose');
  await page.getByTestId('compose-add').click();
  await page.keyboard.type('inkportrait');
  await expect(page.locator('.n-base-select-option').filter({ hasText: 'Ink Portrait' })).toContainText('trigger word: inkportrait');
  await page.keyboard.press('Escape');
});

test('the detail panel has a URL; trigger words copy; clearing a rating can be undone; NSFW levels are settable', async ({ page, request, context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  const id = ids['Ink Portrait'];
  await request.patch(`/api/v1/adapters/${id}`, { data: { rating: 3, nsfw_level: 1 } });
  await page.goto('/library?q=portrait');
  await page.getByTestId('adapter-card').filter({ hasText: 'Ink Portrait' }).getByTestId('card-open').click();
  const detail = page.getByTestId('adapter-detail');
  await expect(detail).toBeVisible();
  await expect(page).toHaveURL(new RegExp(`open=${id}`));
  // A bookmark (or reload) opens it again; Back closes it.
  await page.reload();
  await expect(detail).toContainText('inkportrait');
  expect(await seriousViolations(page, '.n-drawer')).toEqual([]);
  await page.goto('/library?q=portrait');
  await page.getByTestId('adapter-card').filter({ hasText: 'Ink Portrait' }).getByTestId('card-open').click();
  await expect(detail).toBeVisible();
  await page.goBack();
  await expect(detail).toBeHidden();
  await expect(page).toHaveURL(/q=portrait/);
  await page.goForward();
  await expect(detail).toBeVisible();

  // Trigger words are copy buttons.
  await detail.getByTestId('detail-trigger').first().click();
  await expect(page.getByText('Copied “inkportrait”')).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe('inkportrait');

  // Clicking the current star clears the rating, says so, and Undo puts it back.
  await detail.getByTestId('detail-rating').locator('.n-rate__item').nth(2).click();
  await expect(page.getByTestId('rating-cleared')).toBeVisible();
  await expect.poll(async () => (await (await request.get(`/api/v1/adapters/${id}`)).json()).adapter.rating).toBeNull();
  await shot(page, 'library-rating-undo');
  await page.getByTestId('rating-undo').click();
  await expect.poll(async () => (await (await request.get(`/api/v1/adapters/${id}`)).json()).adapter.rating).toBe(3);

  // The NSFW level is the user's to set: here, and for a selection.
  await detail.getByTestId('detail-nsfw').click();
  await page.locator('.n-base-select-option').filter({ hasText: /^R$/ }).click();
  await expect.poll(async () => (await (await request.get(`/api/v1/adapters/${id}`)).json()).adapter.nsfw_level).toBe(4);
  await page.keyboard.press('Escape');
  await expect(detail).toBeHidden();
  await page.goto('/library?q=ink');
  await chooseView(page, 'Dense list');
  const rows = page.getByTestId('adapter-card');
  await rows.nth(0).locator('input[type=checkbox]').click();
  await rows.nth(1).locator('input[type=checkbox]').click();
  await page.getByTestId('bulk-more').click();
  await page.locator('.n-dropdown-option').filter({ hasText: 'NSFW level' }).hover();
  await page.locator('.n-dropdown-option').filter({ hasText: /^XXX$/ }).click();
  await expect(page.getByText('2 LoRAs rated XXX')).toBeVisible();
  await expect.poll(async () => (await (await request.get(`/api/v1/adapters/${id}`)).json()).adapter.nsfw_level).toBe(16);
  await page.keyboard.press('Escape');
  await chooseView(page, 'Comfortable cards');
});

test('keyboard navigation opens and favourites the focused LoRA', async ({ page, request }) => {
  await page.goto('/library?q=neon+alley');
  await expect(page.getByTestId('adapter-card')).toHaveCount(1);
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('f');
  await expect.poll(async () => (await (await request.get(`/api/v1/adapters/${ids['Neon Alley']}`)).json()).adapter.favorite).toBe(true);
  // The keyboard cursor is a ring of its own; once the panel closes the card keeps a quieter "last opened" mark.
  const card = page.getByTestId('adapter-card');
  await expect(card).toHaveClass(/focused/);
  await page.keyboard.press('Enter');
  await expect(page.locator('.n-drawer')).toContainText('Neon Alley');
  await expect(page.getByTestId('adapter-detail')).toContainText('background');
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('adapter-detail')).toBeHidden();
  await card.getByTestId('card-open').click();
  await page.keyboard.press('Escape');
  await expect(card).toHaveClass(/last-opened/);
  await expect(card).not.toHaveClass(/focused/);
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
