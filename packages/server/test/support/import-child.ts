/**
 * Runs one archive import in its own process for the crash test. When the extraction is half done (or, at the latest, when it is complete and the commit not begun) it prints
 * "STAGING <bytes>" and freezes (without yielding to the event loop), so the parent can `kill -9` it at a known point
 * in the middle of the import: staged files open, nothing committed.
 *
 *   node --import tsx import-child.ts <dataDir> <libraryDir> <archive.zip>
 */
import fs from 'node:fs';
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
    // Progress is throttled, so a fast machine may stage everything between two reports: the start of the
    // commit phase (every file staged, nothing committed yet) is the latest point that still tests the same thing.
    const halfStaged = p.message === 'extracting' && p.bytes >= p.totalBytes / 2;
    if (frozen || !(halfStaged || p.message === 'committing')) return;
    frozen = true;
    // Written synchronously and frozen at once: an asynchronous write's callback could run after the import had
    // gone on (or finished), and the parent must kill the process while the import is half-way through.
    fs.writeSync(1, `STAGING ${p.bytes}\n`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
  },
});
process.stdout.write('FINISHED\n');
