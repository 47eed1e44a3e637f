import { describe, expect, it } from 'vitest';
import { DEFAULT_FORM } from './params.ts';
import { applyServerDefaults, choices } from './server-form.ts';

const server = { steps: 20, sampler_name: 'DPM++ 2M', cfg_scale: 6 };

describe('generation form from the selected server', () => {
  it("takes the server's defaults on first use", () => {
    expect(applyServerDefaults({ ...DEFAULT_FORM }, server, null)).toMatchObject({ steps: 20, sampler_name: 'DPM++ 2M', cfg_scale: 6 });
  });

  it('keeps what the user chose and follows the server where they did not', () => {
    const form = { ...DEFAULT_FORM, steps: 40, sampler_name: 'DPM++ 2M', cfg_scale: 6 };
    const changed = applyServerDefaults(form, { steps: 30, sampler_name: 'Euler', cfg_scale: 5 }, server);
    expect(changed).toMatchObject({ steps: 40, sampler_name: 'Euler', cfg_scale: 5 });
  });

  it("lists the server's choices and keeps a current value the server does not list", () => {
    expect(choices(['Euler', 'DPM++ 2M'], 'Euler').map((c) => c.value)).toEqual(['Euler', 'DPM++ 2M']);
    expect(choices(['Euler'], 'Heun').map((c) => c.value)).toEqual(['Heun', 'Euler']);
    expect(choices([], '')).toEqual([]);
  });
});
