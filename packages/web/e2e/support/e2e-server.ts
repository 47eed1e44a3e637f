/// <reference types="node" />
/**
 * The server the browser tests drive: an A1111-compatible test server (real PNGs with infotext, step progress,
 * live previews, interrupt) and `lora-manager serve` pointed at it. Started by playwright.config.ts's webServer.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { startA1111TestServer } from '../../../server/test/support/a1111-test-server.ts';

const root = path.resolve(import.meta.dirname, '../../../..');
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
