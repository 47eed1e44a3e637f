import { chromium } from '@playwright/test';
const port = process.argv[2];
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
for (let i = 0; i < 2; i++) {
const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
const page = await ctx.newPage();
await page.addInitScript({ content: 'globalThis.__name = (f) => f;' });
await page.goto(`http://127.0.0.1:${port}/library`, { waitUntil: 'commit' });
await page.waitForSelector('[data-testid=adapter-card]');
const t = await page.evaluate(() => ({ now: performance.now(), res: performance.getEntriesByType('resource').map((e: any) => `${e.name.split('/').slice(3).join('/').slice(0,60)} start=${e.startTime.toFixed(0)} end=${e.responseEnd.toFixed(0)}`), nav: (performance.getEntriesByType('navigation')[0] as any).responseEnd, lt: 0 }));
console.log(JSON.stringify(t, null, 1));
await ctx.close();
}
await browser.close();
