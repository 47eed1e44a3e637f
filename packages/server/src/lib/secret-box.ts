import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Secrets at rest (a generation server's password, the CivitAI key): AES-256-GCM with a random 96-bit nonce per
 * value, stored as `enc:v1:<base64 of nonce | ciphertext | tag>`. The version prefix lets a later format coexist;
 * a value without it was stored in plaintext by an older version and is read as it is.
 */
const PREFIX = 'enc:v1:';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
export const SECRET_KEY_BYTES = 32;

export class SecretBoxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretBoxError';
  }
}

/** Whether a stored value is in the sealed format (any version we know or not). */
export function isSealed(stored: string): boolean {
  return stored.startsWith('enc:');
}

export function sealSecret(key: Buffer, plaintext: string): string {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return PREFIX + Buffer.concat([nonce, body, cipher.getAuthTag()]).toString('base64');
}

/** The plaintext of a stored value. Throws SecretBoxError when it was altered, sealed with another key, or in an unknown format. */
export function openSecret(key: Buffer, stored: string): string {
  if (!isSealed(stored)) return stored;
  if (!stored.startsWith(PREFIX)) throw new SecretBoxError(`unknown secret format "${stored.slice(0, stored.indexOf(':', 4) + 1)}"`);
  const bytes = Buffer.from(stored.slice(PREFIX.length), 'base64');
  if (bytes.length < NONCE_BYTES + TAG_BYTES) throw new SecretBoxError('sealed secret is truncated');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, NONCE_BYTES));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    return Buffer.concat([decipher.update(bytes.subarray(NONCE_BYTES, bytes.length - TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    // GCM cannot tell a wrong key from a tampered value: both fail authentication.
    throw new SecretBoxError('sealed secret does not open with this key (another key, or altered)');
  }
}

/** A 32-byte key written as 64 hex digits or as base64 (standard or URL-safe); null for anything else. */
export function parseSecretKey(text: string): Buffer | null {
  const value = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(value)) return Buffer.from(value, 'hex');
  if (!/^[A-Za-z0-9+/_-]{43}={0,1}$/.test(value)) return null;
  const bytes = Buffer.from(value.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  return bytes.length === SECRET_KEY_BYTES ? bytes : null;
}
