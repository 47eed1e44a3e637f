import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { FastifyInstance } from 'fastify';
import { PGliteDialect } from 'kysely-pglite-dialect';
import { pino } from 'pino';
import { buildApp } from '../../src/app.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { createContainer, type Container, type ContainerOverrides } from '../../src/container.ts';
import { openDatabase, wrap, type AppDatabase } from '../../src/db/database.ts';
import { createPostgresDatabase, postgresAvailable } from './services.ts';

export type TestDialect = 'sqlite' | 'pglite' | 'postgres';

/** The dialects every integration suite runs on: SQLite and PGlite always, the real server when it answers. */
export const TEST_DIALECTS: TestDialect[] = ['sqlite', 'pglite', ...((await postgresAvailable()) ? (['postgres'] as const) : [])];

export interface TestApp {
  app: FastifyInstance;
  container: Container;
  config: Config;
  /** A library root (LORA_PATHS) made for this app. */
  libraryDir: string;
  dataDir: string;
  /** Write a file under the library root and return its absolute path. */
  libraryFile(relative: string, content?: string | Buffer): string;
  close(): Promise<void>;
}

/** A fresh database of `dialect`, as `createTestApp` opens it (tests that simulate a restart open a second one). */
export async function openTestDatabase(dialect: TestDialect): Promise<{ database: AppDatabase; dispose(): Promise<void> }> {
  if (dialect === 'sqlite') {
    return { database: openDatabase('sqlite::memory:'), dispose: async () => undefined };
  }
  if (dialect === 'pglite') {
    const pglite = new PGlite({ parsers: { 20: (v: string) => Number(v) } });
    return { database: wrap(new PGliteDialect(pglite), 'postgres'), dispose: async () => undefined };
  }
  const pg = await createPostgresDatabase();
  return { database: openDatabase(pg.url), dispose: pg.drop };
}

export async function createTestApp(
  dialect: TestDialect = 'sqlite',
  env: Record<string, string> = {},
  overrides: Omit<ContainerOverrides, 'database'> = {},
): Promise<TestApp> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lm-test-'));
  const libraryDir = path.join(tmp, 'library');
  const dataDir = path.join(tmp, 'data');
  fs.mkdirSync(libraryDir, { recursive: true });
  const config = loadConfig({ DATA_DIR: dataDir, LORA_PATHS: libraryDir, LOG_LEVEL: 'silent', WEB_DIST_DIR: path.join(tmp, 'no-web'), ...env }, tmp);
  const { database, dispose } = await openTestDatabase(dialect);
  const container = await createContainer(config, { database, logger: pino({ level: 'silent' }), ...overrides });
  const app = await buildApp(container);
  await app.ready();
  await container.queue.start();
  return {
    app,
    container,
    config,
    libraryDir,
    dataDir,
    libraryFile(relative, content = 'not a real model') {
      const file = path.join(libraryDir, relative);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, content);
      return file;
    },
    async close() {
      await app.close();
      await container.close();
      await dispose();
      fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}
