import { describe, expect, it } from 'vitest';
import { comfySampler, matchLoraFile } from './comfyui.workflow.ts';

describe('ComfyUI workflow helpers', () => {
  it('maps A1111 sampler names to ComfyUI sampler and scheduler', () => {
    expect(comfySampler('DPM++ 2M Karras', null)).toEqual({ sampler: 'dpmpp_2m', scheduler: 'karras' });
    expect(comfySampler('Euler a', null)).toEqual({ sampler: 'euler_ancestral', scheduler: 'normal' });
    expect(comfySampler('DPM++ 2M', 'Karras')).toEqual({ sampler: 'dpmpp_2m', scheduler: 'karras' });
    expect(comfySampler('uni_pc_bh2', 'sgm_uniform')).toEqual({ sampler: 'uni_pc_bh2', scheduler: 'sgm_uniform' });
  });

  it('finds the file ComfyUI lists for a LoRA by relative path, file name or stem', () => {
    const listed = ['styles\\Ink.safetensors', 'chars/hero_v2.safetensors', 'detail.pt'];
    expect(matchLoraFile(listed, ['styles/ink.safetensors'])).toBe('styles\\Ink.safetensors');
    expect(matchLoraFile(listed, [null, 'hero_v2.safetensors'])).toBe('chars/hero_v2.safetensors');
    expect(matchLoraFile(listed, ['other/detail.safetensors'])).toBe('detail.pt');
    expect(matchLoraFile(listed, ['missing.safetensors', 'missing'])).toBeNull();
  });
});
