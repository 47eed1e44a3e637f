import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseSecretKey, SECRET_KEY_BYTES } from './secret-box.ts';

/**
 * The key that seals secrets in the database when SECRETS_KEY is not set: `DATA_DIR/secret.key`, made on first
 * start (mode 0600). Several processes may start at once on one DATA_DIR (scaled mode): the key is written to a
 * private temporary file and linked into place, so exactly one key wins and nobody reads a half-written file.
 */
export function loadOrCreateKeyFile(file: string): Buffer {
  const existing = readKeyFile(file);
  if (existing) return existing;
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(temp, `${randomBytes(SECRET_KEY_BYTES).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  try {
    fs.linkSync(temp, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    fs.rmSync(temp, { force: true });
  }
  return readKeyFile(file)!;
}

function readKeyFile(file: string): Buffer | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  // A key file someone copied in with a looser mode is narrowed: it opens every saved secret.
  if ((fs.statSync(file).mode & 0o077) !== 0) fs.chmodSync(file, 0o600);
  const key = parseSecretKey(text);
  // Making a new key would silently lose every saved secret: a damaged file needs a person.
  if (!key) throw new Error(`${file} does not hold a 32-byte key (base64 or hex); restore it, or delete it and enter the saved passwords and keys again`);
  return key;
}
