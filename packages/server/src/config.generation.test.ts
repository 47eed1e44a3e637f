import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

describe('generation and delivery configuration', () => {
  it('has working defaults: nothing configured, cli off, no http hosts allowed', () => {
    const { generation, delivery } = loadConfig({}, '/');
    expect(generation.sdnext).toMatchObject({ baseUrl: null, timeoutMs: 120_000, pollIntervalMs: 1000, defaultSteps: 20, defaultSampler: 'DPM++ 2M', defaultCfgScale: 7 });
    expect(generation).toMatchObject({ maxAttempts: 3, backoffMs: 2000, onePerServer: true, concurrency: 2 });
    expect(delivery).toMatchObject({ httpAllowedHosts: [], cliEnabled: false, cliCommand: null, maxAttempts: 3 });
  });

  it('reads servers, hosts with ports and an argument list', () => {
    const { generation, delivery } = loadConfig(
      {
        SDNEXT_BASE_URL: 'http://gpu-box:7860/',
        SDNEXT_TIMEOUT: '300',
        SDNEXT_POLL_INTERVAL: '0.5',
        COMFYUI_BASE_URL: 'https://comfy.local:8188',
        DELIVERY_HTTP_ALLOWED_HOSTS: 'Hooks.Example.com, 127.0.0.1:9000',
        DELIVERY_CLI_ENABLED: 'yes',
        DELIVERY_CLI_COMMAND: '["/usr/bin/notify-send","{prompt}"]',
        GENERATION_ONE_JOB_PER_SERVER: 'false',
      },
      '/',
    );
    expect(generation.sdnext).toMatchObject({ baseUrl: 'http://gpu-box:7860', timeoutMs: 300_000, pollIntervalMs: 500 });
    expect(generation.comfyui.baseUrl).toBe('https://comfy.local:8188');
    expect(generation.onePerServer).toBe(false);
    expect(delivery).toMatchObject({ httpAllowedHosts: ['hooks.example.com', '127.0.0.1:9000'], cliEnabled: true, cliCommand: ['/usr/bin/notify-send', '{prompt}'] });
  });

  it('names bad values', () => {
    try {
      loadConfig({ SDNEXT_BASE_URL: 'gpu-box:7860', DELIVERY_CLI_ENABLED: 'maybe', DELIVERY_CLI_COMMAND: 'notify-send {prompt}', GENERATION_MAX_ATTEMPTS: '0' }, '/');
      expect.unreachable();
    } catch (error) {
      const message = (error as ConfigError).message;
      expect(message).toContain('SDNEXT_BASE_URL must be a URL starting with http:// or https://');
      expect(message).toContain('DELIVERY_CLI_ENABLED must be true or false');
      expect(message).toContain('DELIVERY_CLI_COMMAND must be a JSON array');
      expect(message).toContain('GENERATION_MAX_ATTEMPTS must be a whole number from 1 to 100');
    }
  });
});
