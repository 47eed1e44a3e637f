// Builds the native safetensors header reader (run by `npm install`), with the node-gyp that ships with npm. A
// machine without a C compiler still gets a working install: the scanner then reads every header with the JavaScript
// reader, which gives the same results more slowly, and says so in the log.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const addon = path.join(path.dirname(fileURLToPath(import.meta.url)), 'safetensors-header');
const bundled = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
const nodeGyp = [process.env.npm_config_node_gyp, bundled].find((candidate) => candidate && fs.existsSync(candidate));

if (!nodeGyp) {
  process.stderr.write('native header reader: node-gyp not found; the library scan will use the JavaScript reader\n');
} else {
  const result = spawnSync(process.execPath, [nodeGyp, 'rebuild', '--loglevel=warn'], { cwd: addon, stdio: ['ignore', 'ignore', 'inherit'] });
  if (result.status === 0) process.stdout.write('native header reader: built\n');
  else process.stderr.write('native header reader: build failed (see above); the library scan will use the JavaScript reader\n');
}
