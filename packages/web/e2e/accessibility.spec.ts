/// <reference types="node" />
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { NAV_PAGES } from '../src/app/navigation.ts';
import { seedLibrary, shot } from './support/library.ts';

/**
 * axe-core on every page, in both themes, at desktop and phone size: no serious or critical violation. Each visit
 * also leaves a screenshot (a11y-<page>-<theme>-<size>.png), so the e2e run shows every page in every combination.
 */
const THEMES = ['dark', 'light'] as const;
const SIZES = [
  { name: 'desktop', width: 1440, height: 900 },
  { name: 'phone', width: 390, height: 844 },
] as const;

test.beforeAll(async ({ request }) => {
  // Something on every page: LoRAs for the library (none active: the generate flow expects exactly its own), a batch of two images for generate and history.
  await seedLibrary(request, [
    { name: 'Inkwash Style', tags: ['style', 'ink'], base_model: 'SDXL 1.0', triggers: ['inkwash'], rating: 4 },
    { name: 'Neon Alley', tags: ['background', 'neon'], base_model: 'SDXL 1.0', nsfw_level: 4 },
  ]);
  const generated = await request.post('/api/v1/generation/generate', {
    params: { backend: 'sdnext', return_format: 'url' },
    data: { prompt: 'an accessible fox', steps: 3, batch_size: 2, width: 64, height: 64 },
    timeout: 30_000,
  });
  expect(generated.status()).toBe(200);
});

/** What axe found, one line per failing node, for the test's failure message. */
function describe(violations: Awaited<ReturnType<AxeBuilder['analyze']>>['violations']): string[] {
  return violations.flatMap((v) => v.nodes.map((n) => `${v.impact} ${v.id}: ${n.target.join(' ')} — ${n.failureSummary?.split('\n').slice(1, 2).join('').trim() ?? v.help}`));
}

async function settle(page: Page): Promise<void> {
  await expect(page.locator('main.content')).toBeVisible();
  // Lists load after the first paint; give them a moment and let transitions end so colours are final.
  await page.waitForLoadState('networkidle').catch(() => undefined);
  await page.waitForTimeout(400);
}

for (const theme of THEMES) {
  for (const size of SIZES) {
    test(`no serious or critical axe violations: ${theme} theme, ${size.name}`, async ({ browser }) => {
      const context = await browser.newContext({ viewport: { width: size.width, height: size.height }, colorScheme: theme });
      await context.addInitScript((chosen) => {
        localStorage.setItem('lora-manager.preferences', JSON.stringify({ theme: chosen }));
      }, theme);
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      const found: string[] = [];
      for (const nav of NAV_PAGES) {
        await page.goto(nav.path);
        await settle(page);
        const slug = nav.path === '/' ? 'dashboard' : nav.path.slice(1);
        await shot(page, `a11y-${slug}-${theme}-${size.name}`);
        const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
        const serious = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
        found.push(...describe(serious).map((line) => `${nav.path} ${line}`));
      }
      await context.close();
      expect(found, found.join('\n')).toEqual([]);
      expect(errors).toEqual([]);
    });
  }
}
