import { chromium } from '@playwright/test';
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
const page = await browser.newPage();
page.on('console', (m) => console.log('console', m.type(), m.text()));
page.on('pageerror', (e) => console.log('pageerror', e.message));
await page.goto(`http://127.0.0.1:${process.argv[2]}${process.argv[3] ?? '/library'}`);
await page.waitForTimeout(4000);
console.log((await page.content()).slice(0, 1500));
await browser.close();
