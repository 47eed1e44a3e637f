import { describe, expect, it } from 'vitest';
import { isDatabaseUnavailable, whileDatabaseReturns } from './transient-errors.ts';

describe('isDatabaseUnavailable', () => {
  it('recognises a PostgreSQL restart, terminated backends and refused connections', () => {
    expect(isDatabaseUnavailable(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }))).toBe(true);
    expect(isDatabaseUnavailable(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isDatabaseUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isDatabaseUnavailable(new Error('wrapped', { cause: new Error('timeout exceeded when trying to connect') }))).toBe(true);
  });

  it('leaves real query errors alone', () => {
    expect(isDatabaseUnavailable(Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' }))).toBe(false);
    expect(isDatabaseUnavailable(new Error('syntax error at or near "selec"'))).toBe(false);
    expect(isDatabaseUnavailable(null)).toBe(false);
  });
});

describe('whileDatabaseReturns', () => {
  it('waits an outage out and returns the answer', async () => {
    let calls = 0;
    const answer = await whileDatabaseReturns(
      async () => {
        calls += 1;
        if (calls < 3) throw Object.assign(new Error('the database system is starting up'), { code: '57P03' });
        return 'saved';
      },
      { forMs: 5000 },
    );
    expect(answer).toBe('saved');
    expect(calls).toBe(3);
  });

  it('throws other errors at once, and the outage once time is up', async () => {
    let calls = 0;
    await expect(whileDatabaseReturns(async () => Promise.reject(new Error(`bad ${++calls}`)), { forMs: 5000 })).rejects.toThrow('bad 1');
    await expect(whileDatabaseReturns(async () => Promise.reject(Object.assign(new Error('down'), { code: 'ECONNREFUSED' })), { forMs: 300 })).rejects.toThrow('down');
  });
});
