import { describe, expect, it } from 'vitest';
import { probeGpus, type RunTool } from './gpu.probe.ts';

const missing = Object.assign(new Error('spawn nvidia-smi ENOENT'), { code: 'ENOENT' });

describe('probeGpus', () => {
  it('says plainly that there is no GPU when neither tool exists', async () => {
    const run: RunTool = async () => {
      throw missing;
    };
    expect(await probeGpus(run)).toEqual({
      available: false,
      source: null,
      gpus: [],
      error: 'No GPU found: neither nvidia-smi nor rocm-smi is installed',
    });
  });

  it('falls back to rocm-smi and passes argument lists, not a shell line', async () => {
    const calls: Array<[string, readonly string[]]> = [];
    const run: RunTool = async (file, args) => {
      calls.push([file, args]);
      if (file === 'nvidia-smi') throw missing;
      return JSON.stringify({ card0: { 'Card series': 'Radeon RX 6800', 'VRAM Total Memory (B)': '17163091968', 'VRAM Total Used Memory (B)': '0' } });
    };
    const report = await probeGpus(run);
    expect(report).toMatchObject({ available: true, source: 'rocm-smi', error: null });
    expect(report.gpus[0].name).toBe('Radeon RX 6800');
    expect(calls.map(([f]) => f)).toEqual(['nvidia-smi', 'rocm-smi']);
    expect(calls[1][1]).toContain('--json');
  });

  it('reports a failing driver instead of hiding it', async () => {
    const run: RunTool = async (file) => {
      if (file === 'rocm-smi') throw missing;
      throw new Error('NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.');
    };
    const report = await probeGpus(run);
    expect(report.available).toBe(false);
    expect(report.error).toMatch(/^nvidia-smi failed: NVIDIA-SMI has failed/);
  });
});
