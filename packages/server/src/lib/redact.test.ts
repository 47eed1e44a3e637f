import { describe, expect, it } from 'vitest';
import { redactUrl } from './redact.ts';
import { SessionTokens } from './session-token.ts';

describe('redactUrl', () => {
  it('hides every credential parameter, whatever its case or position, and keeps the rest', () => {
    expect(redactUrl('/api/v1/adapters?api_key=s3cret&page=2')).toBe('/api/v1/adapters?api_key=[redacted]&page=2');
    expect(redactUrl('/x?page=2&API_KEY=s3cret#frag')).toBe('/x?page=2&API_KEY=[redacted]#frag');
    expect(redactUrl('/x?token=a&password=b&keep=c')).toBe('/x?token=[redacted]&password=[redacted]&keep=c');
    expect(redactUrl('/x?monkey=1')).toBe('/x?monkey=1');
    expect(redactUrl('/x')).toBe('/x');
  });

  it('hides names spelled the way the query parser still understands them', () => {
    expect(redactUrl('/x?a=1&api%5fkey=s3cret')).toBe('/x?a=1&api%5fkey=[redacted]');
    expect(redactUrl('/x?%61pi_key=s3cret')).toBe('/x?%61pi_key=[redacted]');
    expect(redactUrl('/x?api_key[]=s3cret&api_key%5B0%5D=t')).toBe('/x?api_key[]=[redacted]&api_key%5B0%5D=[redacted]');
    expect(redactUrl('/x?api_key')).toBe('/x?api_key=[redacted]');
    expect(redactUrl('/x?%E0%A4%A=1')).toBe('/x?%E0%A4%A=1');
  });
});

describe('SessionTokens', () => {
  const now = Date.UTC(2026, 11, 4);
  it('accepts its own unexpired token and nothing else', () => {
    const tokens = new SessionTokens('correct-horse-battery');
    const token = tokens.issue(now + 60_000);
    expect(tokens.verify(token, now)).toBe(true);
    expect(tokens.verify(token, now + 61_000)).toBe(false);
    expect(new SessionTokens('another-key-entirely').verify(token, now)).toBe(false);
    const [v, exp, sig] = token.split('.');
    expect(tokens.verify(`${v}.${Number(exp) + 3600}.${sig}`, now)).toBe(false);
    expect(tokens.verify(`${v}.${exp}.${sig!.slice(0, -2)}`, now)).toBe(false);
    expect(tokens.verify('', now)).toBe(false);
    expect(tokens.verify('v1.abc.def', now)).toBe(false);
  });
});
