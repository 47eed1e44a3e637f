import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from '@playwright/test';
import { pino } from 'pino';
import { buildApp } from '/work/wt-web/packages/server/src/app.ts';
import { loadConfig } from '/work/wt-web/packages/server/src/config.ts';
import { createContainer } from '/work/wt-web/packages/server/src/container.ts';
import { seedAdapters } from '/work/wt-web/packages/server/bench/web-seed.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lm-prof-'));
const library = path.join(tmp, 'library'); fs.mkdirSync(library);
const config = loadConfig({ DATA_DIR: tmp, LORA_PATHS: library, LOG_LEVEL: 'silent', API_KEY: '', WEB_DIST_DIR: process.env.DIST ?? '/work/wt-web/packages/web/dist' }, tmp);
const container = await createContainer(config, { logger: pino({ level: 'silent' }) });
await seedAdapters(container, library, Number(process.argv[2] ?? 10000));
const app = await buildApp(container);
await app.listen({ host: '127.0.0.1', port: Number(process.argv[3] ?? 0) });
const port = (app.server.address() as any).port;
console.log('listening', port);
if (process.argv[4] === 'serve') { await new Promise(() => {}); }
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
await page.addInitScript({ content: 'globalThis.__name = (f) => f;' });
await page.goto(`http://127.0.0.1:${port}/library`);
await page.waitForSelector('[data-testid=adapter-card]');
const cdp = await page.context().newCDPSession(page);
await cdp.send('Profiler.enable');
await cdp.send('Profiler.start');
for (const f of [0.5, 0.9, 0.1, 1, 0.3]) {
  await page.evaluate((f) => { const g = document.querySelector('[data-testid=library-grid]') as HTMLElement; g.scrollTop = f * g.scrollHeight; }, f);
  await page.waitForTimeout(800);
}
const { profile } = await cdp.send('Profiler.stop') as any;
const self = new Map<string, number>();
const dt = profile.timeDeltas as number[];
const byId = new Map(profile.nodes.map((n: any) => [n.id, n]));
profile.samples.forEach((id: number, i: number) => {
  const n: any = byId.get(id); const k = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').pop()}:${n.callFrame.lineNumber}`;
  self.set(k, (self.get(k) ?? 0) + (dt[i] ?? 0) / 1000);
});
console.log([...self].sort((a, b) => b[1] - a[1]).slice(0, 25).map(([k, v]) => `${v.toFixed(1)}ms ${k}`).join('\n'));
await browser.close(); await app.close(); await container.close();
