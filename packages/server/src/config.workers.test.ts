import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';

describe('loadConfig: queue mode and status thresholds', () => {
  it('runs workers in serve only in embedded mode unless told otherwise', () => {
    expect(loadConfig({}, '/').runWorkers).toBe(true);
    expect(loadConfig({ REDIS_URL: 'redis://h:6379' }, '/').runWorkers).toBe(false);
    expect(loadConfig({ REDIS_URL: 'redis://h:6379', RUN_WORKERS: 'true' }, '/').runWorkers).toBe(true);
  });

  it('refuses a setting that would leave nobody to run jobs, and bad values', () => {
    expect(() => loadConfig({ RUN_WORKERS: 'false' }, '/')).toThrow('RUN_WORKERS=false needs REDIS_URL');
    expect(() => loadConfig({ RUN_WORKERS: 'maybe' }, '/')).toThrow('RUN_WORKERS must be true or false (got "maybe")');
    expect(() => loadConfig({ REDIS_PREFIX: 'a:b' }, '/')).toThrow('REDIS_PREFIX must be');
    expect(() => loadConfig({ QUEUE_STALL_TIMEOUT_MS: '10' }, '/')).toThrow('QUEUE_STALL_TIMEOUT_MS must be a whole number from 1000');
  });

  it('has the original thresholds by default', () => {
    expect(loadConfig({}, '/').systemStatus).toEqual({ queueWarningActive: 5, queueWarningFailed: 0, importerStaleHours: 24, windowHours: 24 });
    expect(loadConfig({}, '/')).toMatchObject({ redisPrefix: 'lora-manager', queueStallTimeoutMs: 30_000 });
  });
});
