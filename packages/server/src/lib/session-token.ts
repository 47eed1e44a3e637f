import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Stateless browser sessions: a token says until when it is valid and carries an HMAC of that time under a key
 * derived from the API key. Every `serve` process that shares the API key accepts it (scaled mode needs no session
 * store), and changing the API key ends every session at once.
 */
const VERSION = 'v1';

function sessionKey(apiKey: string): Buffer {
  return createHash('sha256').update(`lora-manager session\0${apiKey}`).digest();
}

function mac(key: Buffer, payload: string): Buffer {
  return createHmac('sha256', key).update(payload).digest();
}

export class SessionTokens {
  private readonly key: Buffer;

  constructor(apiKey: string) {
    this.key = sessionKey(apiKey);
  }

  /** A token valid until `expiresAt` (epoch ms). */
  issue(expiresAt: number): string {
    const payload = `${VERSION}.${Math.floor(expiresAt / 1000)}`;
    return `${payload}.${mac(this.key, payload).toString('base64url')}`;
  }

  /** True when the token was issued with this key and has not expired at `now` (epoch ms). */
  verify(token: string, now: number): boolean {
    const parts = token.split('.');
    if (parts.length !== 3 || parts[0] !== VERSION || !/^\d{1,12}$/.test(parts[1]!)) return false;
    const presented = Buffer.from(parts[2]!, 'base64url');
    const expected = mac(this.key, `${parts[0]}.${parts[1]}`);
    if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) return false;
    return Number(parts[1]) * 1000 > now;
  }
}
