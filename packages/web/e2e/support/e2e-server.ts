/// <reference types="node" />
/**
 * The server the browser tests drive: an A1111-compatible test server (real PNGs with infotext, step progress,
 * live previews, interrupt) and `lora-manager serve` pointed at it. Started by playwright.config.ts's webServer.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { generateLibrary } from '../../../server/scripts/fixtures/library-generator.ts';
import { startA1111TestServer } from '../../../server/test/support/a1111-test-server.ts';

const root = path.resolve(import.meta.dirname, '../../../..');
// A generated library for the scan: real safetensors layouts, kohya metadata, sidecars, previews and a few broken
// files, outside LORA_PATHS: the flow test adds it as a folder from the settings page, then scans it. Its manifest
// tells the tests what the scan should find.
const dir = process.env.E2E_DIR as string;
const { files } = await generateLibrary({ out: path.join(dir, 'generated-library'), count: 24, seed: 7, brokenShare: 0.1, maxRank: 2 });
fs.writeFileSync(path.join(dir, 'fixtures.json'), JSON.stringify(files));
// Slow enough that the queue panel shows steps and previews, fast enough for a short test.
const a1111 = await startA1111TestServer({ stepDelayMs: 120, livePreview: true });
const child = spawn(process.execPath, ['--import', 'tsx', 'packages/server/src/main.ts', 'serve'], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, SDNEXT_BASE_URL: a1111.url, SDNEXT_POLL_INTERVAL: '0.1' },
});
const stop = () => {
  child.kill('SIGTERM');
  void a1111.close().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
child.on('exit', (code) => {
  void a1111.close().finally(() => process.exit(code ?? 0));
});
