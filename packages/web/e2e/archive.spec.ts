/// <reference types="node" />
import { expect, test } from '@playwright/test';
import { seedLibrary, shot } from './support/library.ts';

/** The Import & export page against the real server: export with a filter, an import that conflicts, a backup. */
test('export a selection, check an archive, resolve its conflict, import it and make a backup', async ({ page, request }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const ids = await seedLibrary(request, [
    { name: 'Archive Ink', tags: ['archive-e2e'] },
    { name: 'Archive Neon', tags: ['archive-e2e'] },
  ]);
  // An archive of the two made through the API; then one of them changes, so importing it back conflicts.
  const archive = await (await request.post('/api/v1/export', { data: { loras: true, tags: ['archive-e2e'] } })).body();
  await request.patch(`/api/v1/adapters/${ids['Archive Ink']}`, { data: { notes: 'edited after the export' } });

  await page.goto('/archive');
  // Metadata is the default: the LoRA files (hundreds of GB in a real library) are ticked only on purpose.
  await expect(page.getByRole('checkbox', { name: 'LoRA files (large)' })).not.toBeChecked();
  // The shell's job tray is on every page.
  await expect(page.getByTestId('job-tray')).toHaveAccessibleName(/^Jobs: /);
  // Export from the page: a tag filter, the live estimate, the job's progress, then a download.
  const tags = page.getByTestId('export-tags');
  await tags.getByRole('button').click();
  await tags.locator('input').fill('archive-e2e');
  await tags.locator('input').press('Enter');
  await expect(page.getByTestId('export-estimate')).toContainText('2 LoRA(s)');
  await page.getByRole('button', { name: 'Export', exact: true }).click();
  await expect(page.getByText('done', { exact: true }).first()).toBeVisible({ timeout: 30_000 });
  const link = page.getByRole('link', { name: 'Download' }).first();
  const download = await request.get((await link.getAttribute('href')) ?? '');
  expect(download.status()).toBe(200);
  expect((await download.body()).subarray(0, 2).toString()).toBe('PK');
  await shot(page, 'archive-export');

  // Import: the check finds the conflict and the import waits for a choice; "rename" brings a copy in.
  await page.getByTestId('import-files').setInputFiles({ name: 'two-loras.zip', mimeType: 'application/zip', buffer: archive });
  await page.getByRole('button', { name: 'Check' }).click();
  await expect(page.getByText('Conflicts (1 without a choice)')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Import', exact: true })).toBeDisabled();
  // The conflict says what differs: the notes edited since, not the derived fields (updated_at, hashes).
  const differences = page.getByTestId('conflict-differences');
  await expect(differences).toContainText('notes');
  await expect(differences).toContainText('edited after the export');
  await expect(differences).not.toContainText('updated_at');
  // "Apply to all" sits next to the table; a choice per row still overrides it.
  await page.getByTestId('conflict-apply-all').getByRole('button', { name: 'Skip' }).click();
  await expect(page.getByText('Conflicts (0 without a choice)')).toBeVisible();
  await shot(page, 'archive-conflict');
  await page.getByTestId('conflict-choice').click();
  await page.locator('.n-base-select-option').getByText('Rename', { exact: true }).click();
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  // One result per archive: the check's findings give way to the import's report (once rendered twice).
  await expect(page.getByTestId('import-result')).toHaveCount(1, { timeout: 30_000 });
  await expect(page.getByTestId('import-result')).toContainText('imported');
  await expect(page.getByTestId('import-result')).toContainText('1 renamed');
  const names = ((await (await request.get('/api/v1/adapters', { params: { tags: 'archive-e2e', per_page: 10 } })).json()) as { items: Array<{ name: string }> }).items.map((a) => a.name);
  expect(names.sort()).toEqual(['Archive Ink', 'Archive Ink (imported)', 'Archive Neon']);
  await shot(page, 'archive-imported');

  // A backup appears in the list with its download link; the import above made a pre-import backup too.
  await page.getByRole('button', { name: 'Metadata backup' }).click();
  const table = page.getByTestId('backup-table');
  await expect(table.getByText('Metadata', { exact: true })).toBeVisible({ timeout: 30_000 });
  await expect(table.getByText('Metadata (pre-import)')).toBeVisible();
  await shot(page, 'archive-backups');

  // The tray lists running jobs from any page; with none running it says so.
  await page.goto('/library');
  await page.getByTestId('job-tray').click();
  await expect(page.getByTestId('job-tray-list')).toBeVisible();
  await expect(page.getByTestId('job-tray-list')).toContainText(/No running jobs|running job|Library scan|Hashing/);
  expect(errors).toEqual([]);
});
