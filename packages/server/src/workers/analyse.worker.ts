import { parentPort } from 'node:worker_threads';
import { analyseLoraFile, type AnalyseRequest, type AnalyseResult } from '../lib/lora-file.ts';

/**
 * The reader thread's loop: batches of files in, their analyses out. The pool normally runs this file bundled into
 * one script (reader-bundle.ts); analyse.worker.mjs is the way in through tsx when bundling is not possible.
 */
parentPort!.on('message', (message: { id: number; requests: AnalyseRequest[] }) => {
  const results = message.requests.map((request): AnalyseResult => {
    try {
      return analyseLoraFile(request);
    } catch (error) {
      return { ok: false, code: 'internal_error', reason: String((error as Error)?.message ?? error) };
    }
  });
  parentPort!.postMessage({ id: message.id, results });
});
parentPort!.postMessage({ ready: true });
