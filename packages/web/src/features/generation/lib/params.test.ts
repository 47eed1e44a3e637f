import { describe, expect, it } from 'vitest';
import { DEFAULT_FORM, fromParams, jobPrompt, toParams, validateForm } from './params.ts';

describe('generation form', () => {
  it('accepts the defaults once there is a prompt, and says what is wrong otherwise', () => {
    expect(validateForm(DEFAULT_FORM).prompt).toMatch(/prompt/i);
    expect(validateForm({ ...DEFAULT_FORM, prompt: 'a fox' })).toEqual({});
    const bad = validateForm({ ...DEFAULT_FORM, prompt: 'x', width: 500, height: 8192, steps: 0, seed: -5, batch_size: 9 });
    expect(Object.keys(bad).sort()).toEqual(['batch_size', 'height', 'seed', 'steps', 'width']);
    expect(bad.width).toMatch(/multiple of 8/);
  });

  it('leaves empty optional fields to the server and round-trips stored parameters', () => {
    const params = toParams({ ...DEFAULT_FORM, prompt: '  a fox  ', negative_prompt: ' ', checkpoint: '' });
    expect(params.prompt).toBe('a fox');
    expect(params.negative_prompt).toBeNull();
    expect('checkpoint' in params).toBe(false);
    const back = fromParams({ prompt: 'p', steps: 40, seed: 1234, negative_prompt: null, unknown: 1 });
    expect(back).toMatchObject({ prompt: 'p', steps: 40, seed: 1234, negative_prompt: '', width: DEFAULT_FORM.width });
  });

  it('finds the prompt of a job in its payload', () => {
    expect(jobPrompt({ payload: { prompt: 'a' } })).toBe('a');
    expect(jobPrompt({ payload: { params: { prompt: 'b' } } })).toBe('b');
    expect(jobPrompt({ payload: {} })).toBe('');
  });
});
