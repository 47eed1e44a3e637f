import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOTS_SETTING, settingForImport } from './imported-settings.ts';

const base = fs.mkdtempSync(path.join(os.tmpdir(), 'lm-imported-settings-'));
const policy = { dataDir: path.join(base, 'data'), outputDir: path.join(base, 'data', 'outputs') };
fs.mkdirSync(policy.outputDir, { recursive: true });

describe('settings an archive may change', () => {
  it("never brings a credential in: a forged server keeps this machine's password and where it may go", () => {
    const here = { sdnext: { base_url: 'http://gpu:7860', username: 'me', password: 'enc:v1:mine', credentials_origin: 'http://gpu:7860' } };
    const forged = { sdnext: { base_url: 'http://evil:9999', username: 'x', password: 'enc:v1:theirs', credentials_origin: 'http://evil:9999', default_sampler: 'Euler' } };
    expect(settingForImport('generation.servers', forged, here, policy).value).toEqual({
      sdnext: { base_url: 'http://evil:9999', default_sampler: 'Euler', username: 'me', password: 'enc:v1:mine', credentials_origin: 'http://gpu:7860' },
    });
    expect(settingForImport('generation.servers', forged, undefined, policy).value).toEqual({ sdnext: { base_url: 'http://evil:9999', default_sampler: 'Euler' } });
  });

  it('keeps the CivitAI key saved here', () => {
    expect(settingForImport('civitai.api_key', 'theirs', 'mine', policy).value).toBeUndefined();
  });

  it('adds only roots that exist here and that the root policy allows', () => {
    const fine = path.join(base, 'loras');
    fs.mkdirSync(fine);
    const result = settingForImport(ROOTS_SETTING, ['/etc', '/', policy.dataDir, base, '/nowhere/at/all', fine], [], policy);
    expect(result.value).toEqual([fine]);
    expect(result.warning).toMatch(/5 library root/);
  });

  it('passes other settings through as they are', () => {
    expect(settingForImport('library.watch', false, true, policy).value).toBe(false);
  });
});
