import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

describe('loadConfig', () => {
  it('fills defaults relative to the working directory', () => {
    const config = loadConfig({}, '/srv/app');
    expect(config).toMatchObject({ host: '127.0.0.1', port: 8000, dataDir: '/srv/app/data', apiKey: null, loraPaths: [] });
    expect(config.databaseUrl).toBe(`sqlite:${path.join('/srv/app/data', 'lora-manager.db')}`);
    expect(config.outputDir).toBe('/srv/app/data/outputs');
  });

  it('reads lists and URLs', () => {
    const config = loadConfig({ LORA_PATHS: '/a:/b, /c', DATABASE_URL: 'postgres://u@h/db', REDIS_URL: 'redis://h:6379' }, '/');
    expect(config.loraPaths).toEqual(['/a', '/b', '/c']);
    expect(config.databaseUrl).toBe('postgres://u@h/db');
    expect(loadConfig({ LORA_PATHS: '["/x y"]' }, '/').loraPaths).toEqual(['/x y']);
  });

  it('reads LORA_MANAGER_NATIVE_READER and whether LOG_LEVEL was set (no other file reads the environment)', () => {
    expect(loadConfig({}, '/').nativeHeaderReader).toBe(true);
    for (const off of ['off', 'OFF', '0', 'false', ' off ']) expect(loadConfig({ LORA_MANAGER_NATIVE_READER: off }, '/').nativeHeaderReader, off).toBe(false);
    // As before the value moved into Config: only those spellings turn the reader off, and nothing stops the start.
    for (const on of ['on', '1', 'yes', 'whatever', '']) expect(loadConfig({ LORA_MANAGER_NATIVE_READER: on }, '/').nativeHeaderReader, on).toBe(true);
    expect(loadConfig({}, '/')).toMatchObject({ logLevel: 'info', logLevelSet: false });
    expect(loadConfig({ LOG_LEVEL: '  ' }, '/').logLevelSet).toBe(false);
    expect(loadConfig({ LOG_LEVEL: 'info' }, '/')).toMatchObject({ logLevel: 'info', logLevelSet: true });
  });

  it('reads SECRETS_KEY as hex or base64, and refuses anything else without echoing it', () => {
    const key = Buffer.alloc(32, 7);
    expect(loadConfig({}, '/').secretsKey).toBeNull();
    expect(loadConfig({ SECRETS_KEY: key.toString('hex') }, '/').secretsKey).toEqual(key);
    expect(loadConfig({ SECRETS_KEY: key.toString('base64') }, '/').secretsKey).toEqual(key);
    expect(() => loadConfig({ SECRETS_KEY: 'my-weak-passphrase' }, '/')).toThrow(/SECRETS_KEY must be 32 bytes/);
    expect(() => loadConfig({ SECRETS_KEY: 'my-weak-passphrase' }, '/')).not.toThrow(/my-weak-passphrase/);
  });

  it('names every bad variable and what it accepts', () => {
    try {
      loadConfig({ PORT: 'abc', LOG_LEVEL: 'loud', REDIS_URL: 'http://x', API_KEY: 'short' }, '/');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as ConfigError).message;
      expect(message).toContain('PORT must be a whole number from 0 to 65535 (got "abc")');
      expect(message).toContain('LOG_LEVEL must be one of');
      expect(message).toContain('REDIS_URL must be a URL starting with redis://');
      expect(message).toContain('API_KEY must be at least 8 characters');
    }
  });

  it('reads the archive limits and the backup schedule, refusing bad values', () => {
    const config = loadConfig({ IMPORT_MAX_UPLOAD_BYTES: '1048576', ARCHIVE_MAX_RATIO: '50', BACKUP_SCHEDULE_HOURS: '12', BACKUP_SCHEDULE_TYPE: 'FULL' }, '/');
    expect(config.archive).toMatchObject({ maxUploadBytes: 1048576, maxRatio: 50, maxEntries: 500_000, backupScheduleHours: 12, backupKeep: 7, backupScheduleType: 'full' });
    expect(() => loadConfig({ ARCHIVE_MAX_RATIO: '1', ARCHIVE_MAX_ENTRIES: 'lots', BACKUP_SCHEDULE_TYPE: 'everything' }, '/')).toThrow(
      /ARCHIVE_MAX_RATIO must be a whole number from 2[\s\S]*ARCHIVE_MAX_ENTRIES must be a whole number[\s\S]*BACKUP_SCHEDULE_TYPE must be one of full, metadata/,
    );
  });

  it('reads the library limits: links out off, walks and the watcher bounded by default', () => {
    expect(loadConfig({}, '/').library).toEqual({ allowLinksOut: false, maxEntries: 1_000_000, maxDepth: 32, watchMaxEntries: 200_000, rescanIntervalMs: 30 * 60_000, scanOnStart: true });
    const config = loadConfig({ LIBRARY_ALLOW_LINKS_OUT: 'yes', LIBRARY_MAX_ENTRIES: '500', LIBRARY_MAX_DEPTH: '4', LIBRARY_WATCH_MAX_ENTRIES: '0', LIBRARY_RESCAN_MINUTES: '5', LIBRARY_SCAN_ON_START: 'false' }, '/');
    expect(config.library).toEqual({ allowLinksOut: true, maxEntries: 500, maxDepth: 4, watchMaxEntries: 0, rescanIntervalMs: 300_000, scanOnStart: false });
    expect(() => loadConfig({ LIBRARY_ALLOW_LINKS_OUT: 'maybe', LIBRARY_MAX_ENTRIES: '0' }, '/')).toThrow(/LIBRARY_ALLOW_LINKS_OUT must be true or false[\s\S]*LIBRARY_MAX_ENTRIES must be a whole number/);
  });
});
