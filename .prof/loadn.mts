import { chromium } from '@playwright/test';
const port = process.argv[2]; const n = Number(process.argv[3] ?? 5);
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
const times: number[] = [];
for (let i = 0; i < n; i++) {
  const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await ctx.newPage();
  await page.addInitScript({ content: 'globalThis.__name = (f) => f;' });
  await page.goto(`http://127.0.0.1:${port}/library`, { waitUntil: 'commit' });
  const t = await page.evaluate(() => new Promise<number>((resolve) => { const check = () => { if (document.querySelector('[data-testid=adapter-card]')) requestAnimationFrame(() => setTimeout(() => resolve(performance.now()), 0)); else requestAnimationFrame(check); }; check(); }));
  times.push(Math.round(t)); await ctx.close();
}
times.sort((a, b) => a - b);
console.log(process.argv[4] ?? '', 'median', times[Math.floor(n / 2)], times.join(' '));
await browser.close();
