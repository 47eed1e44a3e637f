/**
 * Runs one archive import in its own process for the crash test. When the extraction is half done it prints
 * "STAGING <bytes>" and freezes (without yielding to the event loop), so the parent can `kill -9` it at a known point
 * in the middle of the import: staged files open, nothing committed.
 *
 *   node --import tsx import-child.ts <dataDir> <libraryDir> <archive.zip>
 */
import { pino } from 'pino';
import { loadConfig } from '../../src/config.ts';
import { createContainer } from '../../src/container.ts';

const [dataDir, libraryDir, archive] = process.argv.slice(2);
const config = loadConfig({ DATA_DIR: dataDir, LORA_PATHS: libraryDir, LOG_LEVEL: 'silent' }, dataDir);
const container = await createContainer(config, { logger: pino({ level: 'silent' }) });
const importer = container.services.archiveImport;
let frozen = false;
await importer.importArchive(archive, 'big.zip', importer.options({ mode: 'merge', backup_before: false }), {
  onProgress: (p) => {
    if (frozen || p.message !== 'extracting' || p.bytes < p.totalBytes / 2) return;
    frozen = true;
    process.stdout.write(`STAGING ${p.bytes}\n`, () => {
      // Block this thread for good: the parent kills the process while the import is half-way through.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
    });
  },
});
process.stdout.write('FINISHED\n');
