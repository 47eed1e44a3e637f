/**
 * bench:web — the library page with 10,000 adapters in headless Chromium, against the real server.
 * Figures: time until the page is interactive (first real cards on screen and the main thread free), the largest
 * number of card elements in the DOM at any point, the long tasks (> 50 ms) while jumping through the list, and
 * how long each jump takes to show real cards. Budget (DESIGN §10): ≤ 1.5 s, ≤ 300 cards, < 200 ms of long tasks.
 *
 *   npm run bench:web [-- --count 10000 --jumps 12 --dist path/to/another/build]
 * Needs the built web app (the npm script builds it) and Chromium (/usr/bin/chromium or CHROMIUM_PATH).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from '@playwright/test';
import { pino } from 'pino';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createContainer } from '../src/container.ts';
import { percentile, table } from './support.ts';
import { seedAdapters } from './web-seed.ts';

// The page functions below run in Chromium; these names exist there, not in the server's Node typings.
declare const document: any;
declare const window: any;
declare const requestAnimationFrame: (callback: () => void) => number;
type HTMLElement = any;

const { values } = parseArgs({
  options: { count: { type: 'string', default: '10000' }, jumps: { type: 'string', default: '12' }, dist: { type: 'string' } },
});
const COUNT = Number(values.count);
const JUMPS = Number(values.jumps);
// --dist compares another build of the web app (A/B runs on a busy machine).
const DIST = values.dist ? path.resolve(values.dist) : fileURLToPath(new URL('../../web/dist', import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));
// tsx compiles the page functions with esbuild's keepNames, which calls a `__name` helper the page lacks.
const KEEP_NAMES = 'globalThis.__name = (f) => f;';
const CARD = '[data-testid=adapter-card],[data-testid=card-placeholder]';

interface TraceEvent {
  name: string;
  ph: string;
  pid: number;
  tid: number;
  dur?: number;
  tdur?: number;
  args?: { name?: string };
}
type TraceFile = { traceEvents: TraceEvent[] } | TraceEvent[];

/** CPU time of the renderer's main thread: every task, and the tasks over 50 ms of CPU (long tasks without the wait). */
function mainThreadCpu(trace: TraceFile): { totalMs: number; longMs: number; longCount: number } {
  const events = Array.isArray(trace) ? trace : trace.traceEvents;
  const main = events.filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain').map((e) => `${e.pid}:${e.tid}`);
  const tasks = events.filter((e) => e.name === 'RunTask' && e.ph === 'X' && main.includes(`${e.pid}:${e.tid}`));
  const cpuMs = tasks.map((e) => (e.tdur ?? e.dur ?? 0) / 1000);
  const long = cpuMs.filter((ms) => ms > 50);
  return { totalMs: cpuMs.reduce((a, b) => a + b, 0), longMs: long.reduce((a, b) => a + b, 0), longCount: long.length };
}

async function main() {
  if (!fs.existsSync(path.join(DIST, 'index.html'))) throw new Error(`no built web app in ${DIST}: run npm run build first`);
  if (!CHROMIUM) throw new Error('Chromium not found (apt-get install chromium, or set CHROMIUM_PATH)');

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lm-bench-web-'));
  const library = path.join(tmp, 'library');
  fs.mkdirSync(library);
  const config = loadConfig({ DATA_DIR: tmp, LORA_PATHS: library, LOG_LEVEL: 'silent', API_KEY: '', WEB_DIST_DIR: DIST }, tmp);
  const container = await createContainer(config, { logger: pino({ level: 'silent' }) });
  process.stdout.write(`seeding ${COUNT.toLocaleString()} adapters… `);
  const seeded = Date.now();
  await seedAdapters(container, library, COUNT);
  process.stdout.write(`${((Date.now() - seeded) / 1000).toFixed(1)} s\n`);
  const app = await buildApp(container);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await page.addInitScript({ content: KEEP_NAMES });
    await page.addInitScript(() => {
      const w = window as unknown as { __longTasks: number[]; __maxCards: number };
      w.__longTasks = [];
      w.__maxCards = 0;
      new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) w.__longTasks.push(entry.duration);
      }).observe({ type: 'longtask' as 'mark', buffered: true });
      const count = () => {
        w.__maxCards = Math.max(w.__maxCards, document.querySelectorAll('[data-testid=adapter-card],[data-testid=card-placeholder]').length);
        requestAnimationFrame(count);
      };
      requestAnimationFrame(count);
    });

    // Warm the server's caches the way a returning user would find them; the browser starts cold each run.
    await fetch(`${origin}/api/v1/adapters?per_page=100`);

    const loads: number[] = [];
    const loadCpu: number[] = [];
    for (let run = 0; run < 3; run += 1) {
      const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
      await context.addInitScript({ content: KEEP_NAMES });
      const fresh = await context.newPage();
      await browser.startTracing(fresh, { categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline'] });
      await fresh.goto(`${origin}/library`, { waitUntil: 'commit' });
      // Interactive: real cards are on screen, and a frame plus a task later the main thread is free again.
      const at = await fresh.evaluate(
        () =>
          new Promise<number>((resolve) => {
            const check = () => {
              if (document.querySelector('[data-testid=adapter-card]')) {
                requestAnimationFrame(() => setTimeout(() => resolve(performance.now()), 0));
              } else requestAnimationFrame(check);
            };
            check();
          }),
      );
      loads.push(at);
      loadCpu.push(mainThreadCpu(JSON.parse((await browser.stopTracing()).toString('utf8')) as TraceFile).totalMs);
      await context.close();
    }

    await page.goto(`${origin}/library`);
    await page.waitForSelector('[data-testid=adapter-card]');
    const initialCards = await page.locator(CARD).count();
    await page.evaluate(() => ((window as unknown as { __longTasks: number[] }).__longTasks = []));

    // Jump like a dragged scrollbar: far positions, each straight from the last, then wait for real cards there.
    // A trace gives the main thread's CPU time per task too, which other processes on a busy machine do not inflate.
    await browser.startTracing(page, { categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline'] });
    const jumpTimes: number[] = [];
    const positions = Array.from({ length: JUMPS }, (_, i) => [0.5, 0.93, 0.12, 1, 0.37, 0.71, 0.02, 0.84, 0.25, 0.6, 0.45, 0.99][i % 12]);
    for (const fraction of positions) {
      const ms = await page.evaluate(async (f) => {
        const grid = document.querySelector('[data-testid=library-grid]') as HTMLElement;
        const start = performance.now();
        grid.scrollTop = f * (grid.scrollHeight - grid.clientHeight);
        await new Promise<void>((resolve) => {
          const check = () => {
            const top = grid.getBoundingClientRect().top;
            const visible = [...grid.querySelectorAll('[data-testid=adapter-card],[data-testid=card-placeholder]')].filter((el) => {
              const r = el.getBoundingClientRect();
              return r.bottom > top && r.top < top + grid.clientHeight;
            });
            if (visible.length > 0 && visible.every((el) => el.getAttribute('data-testid') === 'adapter-card')) resolve();
            else requestAnimationFrame(check);
          };
          requestAnimationFrame(check);
        });
        return performance.now() - start;
      }, fraction);
      jumpTimes.push(ms);
    }
    const cpu = mainThreadCpu(JSON.parse((await browser.stopTracing()).toString('utf8')) as TraceFile);
    const { longTasks, maxCards } = await page.evaluate(() => {
      const w = window as unknown as { __longTasks: number[]; __maxCards: number };
      return { longTasks: w.__longTasks, maxCards: w.__maxCards };
    });

    loads.sort((a, b) => a - b);
    loadCpu.sort((a, b) => a - b);
    jumpTimes.sort((a, b) => a - b);
    const longTotal = longTasks.reduce((a, b) => a + b, 0);
    const rows: Array<Array<string | number>> = [
      ['interactive (median of 3 cold loads)', `${loads[1].toFixed(0)} ms`, '≤ 1500 ms', loads[1] <= 1500 ? 'ok' : 'OVER'],
      ['  main-thread CPU time until then', `${loadCpu[1].toFixed(0)} ms`, '', ''],
      ['card elements in the DOM (max seen)', String(Math.max(maxCards, initialCards)), '≤ 300', Math.max(maxCards, initialCards) <= 300 ? 'ok' : 'OVER'],
      [`long tasks during ${JUMPS} jumps (total)`, `${longTotal.toFixed(0)} ms (${longTasks.length})`, '< 200 ms', longTotal < 200 ? 'ok' : 'OVER'],
      [`  same, by main-thread CPU time`, `${cpu.longMs.toFixed(0)} ms (${cpu.longCount})`, '< 200 ms', cpu.longMs < 200 ? 'ok' : 'OVER'],
      [`main-thread CPU time, all ${JUMPS} jumps`, `${cpu.totalMs.toFixed(0)} ms`, '', ''],
      ['jump → real cards shown, p50', `${percentile(jumpTimes, 50).toFixed(0)} ms`, '', ''],
      ['jump → real cards shown, max', `${jumpTimes[jumpTimes.length - 1].toFixed(0)} ms`, '', ''],
    ];
    process.stdout.write(`\nlibrary page, ${COUNT.toLocaleString()} adapters, Chromium ${browser.version()}, viewport 1440×900\n`);
    process.stdout.write(`${table(['figure', 'measured', 'budget', ''], rows)}\n`);
  } finally {
    await browser.close();
    await app.close();
    await container.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
