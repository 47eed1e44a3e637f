/// <reference types="node" />
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { shot } from './support/library.ts';

/**
 * A server with API_KEY set, started by this spec (the shared e2e server runs without one). The user types the key
 * once in Settings; from then on previews, downloads and the live WebSocket work, and no URL the browser fetches
 * carries the key: the session cookie does.
 */
const KEY = 'e2e-correct-horse-battery';
const root = path.resolve(import.meta.dirname, '../../..');
const dir = path.join(process.env.E2E_DIR ?? fs.mkdtempSync('/tmp/lm-e2e-key-'), 'keyed');
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

let server: ChildProcess;
let base: string;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

async function api(method: string, url: string, body?: unknown): Promise<Response> {
  return fetch(`${base}/api/v1${url}`, { method, headers: { 'x-api-key': KEY, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
}

test.beforeAll(async () => {
  const library = path.join(dir, 'library');
  fs.mkdirSync(library, { recursive: true });
  const header = Buffer.from(JSON.stringify({ __metadata__: { ss_output_name: 'keyed' } }));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(header.length));
  fs.writeFileSync(path.join(library, 'Keyed_Lora.safetensors'), Buffer.concat([length, header]));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = spawn(process.execPath, ['--import', 'tsx', 'packages/server/src/main.ts', 'serve'], {
    cwd: root,
    stdio: 'ignore',
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: String(port),
      API_KEY: KEY,
      DATA_DIR: path.join(dir, 'data'),
      LORA_PATHS: library,
      LOG_LEVEL: 'warn',
      WEB_DIST_DIR: path.resolve(import.meta.dirname, '../dist'),
    },
  });
  await expect.poll(async () => (await fetch(`${base}/health`).catch(() => null))?.status ?? 0, { timeout: 30_000 }).toBe(200);
  const created = await api('POST', '/adapters', { name: 'Keyed Lora', file_path: path.join(library, 'Keyed_Lora.safetensors') });
  const id = ((await created.json()) as { adapter: { id: string } }).adapter.id;
  const form = new FormData();
  form.append('file', new Blob([PNG], { type: 'image/png' }), 'cover.png');
  const upload = await fetch(`${base}/api/v1/adapters/${id}/preview`, { method: 'PUT', headers: { 'x-api-key': KEY }, body: form });
  expect(upload.status).toBe(200);
});

test.afterAll(() => {
  server?.kill('SIGTERM');
});

test('with an API key, the key is typed once and never appears in a URL the browser fetches', async ({ page }) => {
  const urls: string[] = [];
  page.on('request', (request) => urls.push(request.url()));
  page.on('websocket', (socket) => urls.push(socket.url()));

  await page.goto(`${base}/settings`);
  await page.getByTestId('settings-api-key').locator('input').fill(KEY);
  await page.getByTestId('settings-save-connection').click();
  await expect(page.getByTestId('settings-connection-result')).toContainText('Connected');

  await page.goto(`${base}/library`);
  const card = page.getByTestId('adapter-card').filter({ hasText: 'Keyed Lora' });
  await expect(card).toBeVisible();
  const image = card.locator('img').first();
  await expect.poll(async () => image.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0), { timeout: 15_000 }).toBe(true);
  await expect(page.getByTestId('live-state')).toHaveClass(/open/, { timeout: 15_000 });
  await shot(page, 'api-key-library');

  // A reload keeps working on the cookie: nothing asks for the key again.
  await page.reload();
  await expect(page.getByTestId('live-state')).toHaveClass(/open/, { timeout: 15_000 });

  const cookies = await page.context().cookies(base);
  expect(cookies.find((c) => c.name === 'lm_session')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
  expect(urls.length).toBeGreaterThan(5);
  expect(urls.filter((u) => u.includes(KEY) || u.includes('api_key'))).toEqual([]);
});
