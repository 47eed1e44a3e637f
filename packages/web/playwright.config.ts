/// <reference types="node" />
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from '@playwright/test';

/**
 * End-to-end tests in Debian's Chromium against the real server (`lora-manager serve`) with a temporary data
 * directory and a generated LoRA library. The runner evaluates this file first and its workers inherit the
 * environment, so the directory and port are chosen once (E2E_DIR / E2E_PORT).
 */
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');

function freePort(): number {
  const probe = spawnSync(process.execPath, ['-e', "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{process.stdout.write(String(s.address().port));s.close()})"]);
  return Number(probe.stdout.toString());
}

process.env.E2E_DIR ??= fs.mkdtempSync(path.join(os.tmpdir(), 'lm-e2e-'));
process.env.E2E_PORT ??= String(freePort());
const dir = process.env.E2E_DIR;
const port = Number(process.env.E2E_PORT);
fs.mkdirSync(path.join(dir, 'library'), { recursive: true });

export default defineConfig({
  testDir: './e2e',
  outputDir: './test-results/artifacts',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    viewport: { width: 1440, height: 900 },
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    },
    trace: 'off',
    screenshot: 'only-on-failure',
  },
  webServer: {
    command: 'node --import tsx packages/web/e2e/support/e2e-server.ts',
    cwd: root,
    url: `http://127.0.0.1:${port}/health`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'ignore',
    stderr: 'pipe',
    env: {
      HOST: '127.0.0.1',
      PORT: String(port),
      DATA_DIR: path.join(dir, 'data'),
      LORA_PATHS: path.join(dir, 'library'),
      LOG_LEVEL: 'warn',
      WEB_DIST_DIR: path.join(here, 'dist'),
    },
  },
});
