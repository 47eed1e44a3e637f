import { chromium } from '@playwright/test';
const port = process.argv[2];
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
for (const scheme of ['dark', 'light'] as const) {
  const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: scheme });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => console.log('pageerror', e.message));
  await page.addInitScript({ content: 'globalThis.__name = (f) => f;' });
  await page.goto(`http://127.0.0.1:${port}/library`);
  await page.waitForSelector('[data-testid=adapter-card]');
  await page.waitForTimeout(500);
  await page.screenshot({ path: `/tmp/prof/library-${scheme}.png` });
  if (scheme === 'dark') {
    await page.getByTestId('toggle-filters').click();
    await page.waitForTimeout(600);
    await page.locator('[data-testid=adapter-card]').nth(2).click({ modifiers: ['Control'] });
    await page.locator('[data-testid=adapter-card]').nth(5).click({ modifiers: ['Shift'] });
    await page.waitForTimeout(400);
    await page.screenshot({ path: `/tmp/prof/library-filters.png` });
    await page.keyboard.press('Escape');
    await page.locator('[data-testid=adapter-card]').nth(1).click();
    await page.waitForTimeout(1200);
    await page.screenshot({ path: `/tmp/prof/library-detail.png` });
    await page.keyboard.press('Escape');
    await page.getByTestId('view-list').click();
    await page.waitForTimeout(600);
    await page.screenshot({ path: `/tmp/prof/library-list.png` });
    await page.goto(`http://127.0.0.1:${port}/settings`);
    await page.waitForTimeout(800);
    await page.screenshot({ path: `/tmp/prof/settings.png` });
  }
  await ctx.close();
}
const ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: 'dark', deviceScaleFactor: 1 });
const page = await ctx.newPage();
await page.addInitScript({ content: 'globalThis.__name = (f) => f;' });
await page.goto(`http://127.0.0.1:${port}/library`);
await page.waitForSelector('[data-testid=adapter-card]');
await page.waitForTimeout(500);
await page.screenshot({ path: `/tmp/prof/phone.png` });
await browser.close();
