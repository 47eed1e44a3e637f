import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isSealed, openSecret, parseSecretKey, sealSecret, SecretBoxError } from './secret-box.ts';

const key = randomBytes(32);

describe('secret box', () => {
  it('round-trips a value, with a fresh nonce each time', () => {
    const a = sealSecret(key, 'hunter2 ✓');
    const b = sealSecret(key, 'hunter2 ✓');
    expect(a).toMatch(/^enc:v1:/);
    expect(a).not.toContain('hunter2');
    expect(a).not.toBe(b);
    expect(isSealed(a)).toBe(true);
    expect(openSecret(key, a)).toBe('hunter2 ✓');
    expect(openSecret(key, b)).toBe('hunter2 ✓');
  });

  it('refuses a tampered value', () => {
    const sealed = sealSecret(key, 'hunter2');
    const bytes = Buffer.from(sealed.slice('enc:v1:'.length), 'base64');
    bytes[bytes.length - 1] ^= 1;
    expect(() => openSecret(key, `enc:v1:${bytes.toString('base64')}`)).toThrow(SecretBoxError);
    expect(() => openSecret(key, 'enc:v1:AAAA')).toThrow(SecretBoxError);
    expect(() => openSecret(key, 'enc:v9:AAAA')).toThrow(SecretBoxError);
  });

  it('refuses a value sealed with another key', () => {
    expect(() => openSecret(randomBytes(32), sealSecret(key, 'hunter2'))).toThrow(SecretBoxError);
  });

  it('passes a plaintext value stored by an older version through', () => {
    expect(isSealed('hunter2')).toBe(false);
    expect(openSecret(key, 'hunter2')).toBe('hunter2');
  });

  it('reads a 32-byte key given as hex or base64, and nothing else', () => {
    expect(parseSecretKey(key.toString('hex'))).toEqual(key);
    expect(parseSecretKey(key.toString('base64'))).toEqual(key);
    expect(parseSecretKey(key.toString('base64url'))).toEqual(key);
    expect(parseSecretKey('too-short')).toBeNull();
    expect(parseSecretKey(randomBytes(16).toString('hex'))).toBeNull();
  });
});
