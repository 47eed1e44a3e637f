import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import type { AppDatabase } from '../../src/db/database.ts';
import { AppError } from '../../src/errors.ts';
import { SettingRepository } from '../../src/repositories/setting.repository.ts';
import { GenerationSettingsService } from '../../src/generation/services/generation-settings.service.ts';
import { SecretCipher } from '../../src/services/secret-cipher.ts';
import { fixedClock, openServiceDatabase } from '../support/service-db.ts';
import { TEST_DIALECTS } from '../support/test-app.ts';

const ENV = { SDNEXT_BASE_URL: 'http://sd.local:7860', SDNEXT_USERNAME: 'env-user', SDNEXT_PASSWORD: 'env-pass', SDNEXT_DEFAULT_STEPS: '20' };

/** Credentials are bound to the server origin they were given for; the rule is tested on the real settings table. */
describe.each(TEST_DIALECTS)('GenerationSettingsService origin binding (%s)', (dialect) => {
  let db: { database: AppDatabase; close(): Promise<void> };
  let settings: SettingRepository;
  let service: GenerationSettingsService;

  beforeEach(async () => {
    db = await openServiceDatabase(dialect);
    settings = new SettingRepository(db.database.db);
    const tmp = os.tmpdir();
    const config = loadConfig({ DATA_DIR: tmp, LORA_PATHS: tmp, ...ENV }, tmp);
    service = new GenerationSettingsService(config.generation, settings, fixedClock(), new SecretCipher(randomBytes(32), pino({ level: 'silent' })));
  });
  afterEach(() => db.close());

  it('sends configured credentials only to the configured server', async () => {
    expect((await service.effective()).sdnext).toMatchObject({ baseUrl: 'http://sd.local:7860', username: 'env-user', password: 'env-pass' });
    await service.update({ sdnext: { base_url: 'http://elsewhere.example:7860' } });
    expect((await service.effective()).sdnext).toMatchObject({ baseUrl: 'http://elsewhere.example:7860', username: null, password: null });
    expect((await service.get()).sources['sdnext.password']).toBe('default');
    // Back to the configured server: its credentials apply again.
    await service.update({ sdnext: { base_url: null } });
    expect((await service.effective()).sdnext.password).toBe('env-pass');
    expect((await service.get()).sources['sdnext.password']).toBe('environment');
  });

  it('keeps a saved password on the same origin and drops it for good when the origin changes', async () => {
    await service.update({ sdnext: { base_url: 'http://a.example:7860', password: 'saved-secret' } });
    await service.update({ sdnext: { base_url: 'http://a.example:7860/sub///' } });
    expect((await service.effective()).sdnext).toMatchObject({ baseUrl: 'http://a.example:7860/sub', password: 'saved-secret' });

    await service.update({ sdnext: { base_url: 'http://b.example:7860' } });
    expect((await service.get()).sdnext.password_set).toBe(false);
    await service.update({ sdnext: { base_url: 'http://a.example:7860' } });
    expect((await service.effective()).sdnext.password).toBeNull();
  });

  it('stores the password sealed, never as plaintext', async () => {
    await service.update({ sdnext: { password: 'saved-secret' } });
    expect(JSON.stringify(await settings.get('generation.servers'))).not.toContain('saved-secret');
    expect((await service.effective()).sdnext.password).toBe('saved-secret');
  });

  it.each(['http://user:pw@host.example', 'http://host.example/#frag', 'http://host.example/?a=1', 'ftp://host.example', 'not a url'])(
    'refuses the server URL %s with invalid_server_url and saves nothing',
    async (url) => {
      const refused = await service.update({ sdnext: { base_url: url, password: 'x' } }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(AppError);
      expect(refused).toMatchObject({ status: 422, code: 'invalid_server_url' });
      expect(await settings.get('generation.servers')).toBeUndefined();
    },
  );

  it('a null removes the saved value so configuration applies again', async () => {
    await service.update({ sdnext: { default_steps: 35 } });
    expect((await service.get()).sources['sdnext.default_steps']).toBe('settings');
    expect((await service.effective()).sdnext.defaultSteps).toBe(35);
    await service.update({ sdnext: { default_steps: null } });
    expect((await service.effective()).sdnext.defaultSteps).toBe(20);
  });
});
