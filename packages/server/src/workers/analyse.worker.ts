import { parentPort, workerData } from 'node:worker_threads';
import { analyseLoraFile, type AnalyseRequest, type AnalyseResult } from '../lib/lora-file.ts';
import { configureNativeHeaderReader } from '../lib/native-header-reader.ts';
import type { ReaderThreadOptions } from './analyse-pool.ts';

// The pool hands the thread its settings (this thread has its own copy of every module, configured by nobody else).
configureNativeHeaderReader({ enabled: (workerData as ReaderThreadOptions | null)?.nativeHeaderReader !== false });

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
