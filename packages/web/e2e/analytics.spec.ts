/// <reference types="node" />
import fs from 'node:fs';
import AxeBuilder from '@axe-core/playwright';
import { expect, test } from '@playwright/test';
import { seedLibrary, shot } from './support/library.ts';

const USED = 'Analytics Used Style';
const IDLE = 'Analytics Idle Style';

test('generations show up in analytics: KPIs, charts, LoRA usage, never-used list, ranges and CSV', async ({ page, request }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await seedLibrary(request, [{ name: USED, tags: ['style'] }, { name: IDLE, tags: ['style'] }]);
  // Two real generations through the queue and the A1111-compatible test server, both using one of the LoRAs.
  for (const seed of [1, 2]) {
    const res = await request.post('/api/v1/generation/generate', { data: { prompt: `<lora:${USED}:0.8> a lighthouse`, steps: 2, width: 64, height: 64, seed } });
    expect((await res.json()).status).toBe('completed');
  }

  // The dashboard links into the page.
  await page.goto('/');
  await page.getByTestId('dashboard-analytics-link').click();
  await expect(page).toHaveURL(/\/analytics$/);
  const kpis = page.getByTestId('analytics-kpis');
  await expect(kpis).toContainText('Generations');
  await expect(kpis).toContainText('100%');
  await expect(page.getByTestId('chart-volume').locator('svg')).toBeVisible();
  await expect(page.getByTestId('chart-resources')).toBeVisible();
  await expect(page.getByTestId('table-top-loras')).toContainText(USED);
  await expect(page.getByTestId('table-lora-stats')).toContainText(USED);
  await expect(page.getByTestId('table-never-used')).toContainText(IDLE);
  await expect(page.getByTestId('table-never-used')).not.toContainText(USED);
  await shot(page, 'analytics-7d');

  // Ranges: 24 hours is per hour, and a custom range answers too.
  await page.getByText('24 hours', { exact: true }).click();
  await expect(page.getByText(/per hour/)).toBeVisible();
  await page.getByText('Custom', { exact: true }).click();
  await page.getByLabel('From date').fill('2026-01-01');
  await page.getByRole('button', { name: 'Show' }).click();
  await expect(page.getByText(/2026-01-01 – .* per day/)).toBeVisible();
  await page.getByText('30 days', { exact: true }).click();
  await expect(page.getByTestId('table-top-loras')).toContainText(USED);

  // CSV export of a table is a real file with the figures.
  const download = page.waitForEvent('download');
  await page.getByRole('button', { name: /Export Most used LoRAs in this period as CSV/ }).click();
  const file = await (await download).path();
  const csv = fs.readFileSync(file, 'utf8');
  expect(csv.split('\r\n')[0]).toBe('LoRA,uses,success %,in catalogue');
  expect(csv).toContain(`${USED},2,100,yes`);

  // Never used → the library, filtered to them.
  await page.getByRole('link', { name: 'Show them in the library' }).click();
  await expect(page).toHaveURL(/\/library\?unused=1/);
  await expect(page.getByTestId('adapter-card').filter({ hasText: IDLE })).toBeVisible();
  await expect(page.getByTestId('adapter-card').filter({ hasText: USED })).toHaveCount(0);

  await page.goto('/analytics');
  await expect(page.getByTestId('table-errors')).toBeVisible();
  // This page's own content (the navigation shell is shared by every page and checked by its own spec).
  const axe = await new AxeBuilder({ page }).include('.analytics').analyze();
  expect(axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.help} ${v.nodes.map((n) => n.html.slice(0, 200)).join(' | ')}`)).toEqual([]);
  expect(errors).toEqual([]);
});
