import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

/**
 * The layer rules and the process.env rule in eslint.config.js, run on hostile files that are never written to disk:
 * a rule that stopped matching (a renamed folder, a broken regex) would let `npm run lint` pass silently.
 */
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const eslint = new ESLint({ cwd: REPO });

async function problems(file: string, text: string): Promise<string[]> {
  const [result] = await eslint.lintText(text, { filePath: `${REPO}packages/server/src/${file}` });
  // Only the two rules under test: a bare `import { x }` in these snippets also trips no-unused-vars.
  return result!.messages
    .filter((m) => m.ruleId === 'no-restricted-imports' || m.ruleId === 'no-restricted-syntax')
    .map((m) => `${m.ruleId}: ${m.message}`);
}

describe('lint rules of the server layers', () => {
  it.each([
    ['generation/backends/x.ts', "import type { GenerationSettingsService } from '../services/generation-settings.service.ts';"],
    ['lib/x.ts', "import type { Config } from '../config.ts';"],
    ['lib/x.ts', "import { AppError } from '../errors.ts';"],
    ['db/migrations/x.ts', "import type { JobRepository } from '../../repositories/job.repository.ts';"],
    ['repositories/x.ts', "import type { JobService } from '../services/job.service.ts';"],
    ['library/repositories/x.ts', "import type { AdapterService } from '../services/adapter.service.ts';"],
    ['archive/repositories/x.ts', "import type { LibraryService } from '../../library/services/library.service.ts';"],
    ['services/x.ts', "import type { generationRoutes } from '../generation/routes/generation.routes.ts';"],
    ['archive/services/x.ts', "import type { Container } from '../../container.ts';"],
    ['generation/services/x.ts', "import type { adapterRoutes } from '../../library/routes/adapters.routes.ts';"],
    ['library/services/x.ts', "import type { JobQueue } from '../../jobs/in-process.job-queue.ts';"],
    ['generation/services/x.ts', "export * from '../jobs/generation.handler.ts';"],
    ['routes/x.ts', "import type { JobRepository } from '../repositories/job.repository.ts';"],
    ['library/routes/x.ts', "import type { AdapterRepository } from '../repositories/adapter.repository.ts';"],
    ['archive/routes/x.ts', "import type { JobQueue } from '../../jobs/job-queue.ts';"],
    ['generation/routes/x.ts', "import type { BackendRegistry } from '../backends/backend-registry.ts';"],
    ['generation/jobs/x.handler.ts', "import type { DeliveryRepository } from '../repositories/delivery.repository.ts';"],
    ['jobs/in-process.job-queue.ts', "import type { JobService } from '../services/job.service.ts';"],
    ['jobs/x.ts', "import type { generationHandler } from '../generation/jobs/generation.handler.ts';"],
    ['http/x.ts', "import type { JobService } from '../services/job.service.ts';"],
    ['workers/x.ts', "import type { LibraryScanService } from '../library/services/library-scan.service.ts';"],
    ['container.ts', "import { buildApp } from './app.ts';"],
  ])('%s may not run up a layer: %s', async (file, text) => {
    expect(await problems(file, text)).toEqual([expect.stringMatching(/^no-restricted-imports: .*layer rule/)]);
  });

  it.each([
    ['services/x.ts', "export type { JobQueue } from '../jobs/job-queue.ts';\nexport type { JobKind } from '../jobs/job-catalogue.ts';"],
    ['library/services/x.ts', "export type { JobQueue } from '../../jobs/job-queue.ts';\nexport type { JobKind } from '../../jobs/job-catalogue.ts';"],
    ['services/x.ts', "export type { JobRepository } from '../repositories/job.repository.ts';\nexport type { Config } from '../config.ts';"],
    ['archive/services/x.ts', "export type { AdapterRepository } from '../../library/repositories/adapter.repository.ts';\nexport type { LibraryRootsService } from '../../library/services/library-roots.service.ts';"],
    ['routes/x.ts', "export type { JobService } from '../services/job.service.ts';\nexport type { EventBus } from '../events/event-bus.ts';"],
    ['library/routes/x.ts', "export type { AdapterService } from '../services/adapter.service.ts';\nexport type { AppError } from '../../errors.ts';"],
    ['generation/jobs/generation.handler.ts', "export type { GenerationRunner } from '../services/generation-runner.ts';"],
    ['generation/backends/x.ts', "export type { Clock } from '../../lib/clock.ts';\nexport type { BackendSettingsSource } from './backend-settings.ts';"],
    ['archive/repositories/x.ts', "export type { AdapterRepository } from '../../library/repositories/adapter.repository.ts';\nexport type { AppDatabase } from '../../db/database.ts';"],
  ])('%s may import downwards: %s', async (file, text) => {
    expect(await problems(file, text)).toEqual([]);
  });

  it.each([
    'export const level = process.env.LOG_LEVEL;',
    "export const level = process['env'].LOG_LEVEL;",
    'export const level = globalThis.process.env.LOG_LEVEL;',
    'const { env } = process;\nexport const level = env.LOG_LEVEL;',
    "import { env } from 'node:process';\nexport const level = env.LOG_LEVEL;",
  ])('only config.ts reads the environment: %s', async (text) => {
    expect(await problems('lib/x.ts', text)).toEqual([expect.stringMatching(/^no-restricted-syntax: Only config.ts reads process.env/)]);
    expect(await problems('config.ts', text)).toEqual([]);
  });
});
