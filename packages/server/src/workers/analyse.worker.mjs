// Worker thread that reads safetensors headers and sidecars for the library scanner. Plain JavaScript so it starts
// without a loader; it registers tsx itself to load the TypeScript parser (the server runs from source).
import { parentPort } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { analyseLoraFile } = await import('../lib/lora-file.ts');

parentPort.on('message', (message) => {
  const results = message.requests.map((request) => {
    try {
      return analyseLoraFile(request);
    } catch (error) {
      return { ok: false, code: 'internal_error', reason: String(error?.message ?? error) };
    }
  });
  parentPort.postMessage({ id: message.id, results });
});
parentPort.postMessage({ ready: true });
