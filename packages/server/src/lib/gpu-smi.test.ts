import { describe, expect, it } from 'vitest';
import { parseNvidiaSmi, parseRocmSmi } from './gpu-smi.ts';

describe('parseNvidiaSmi', () => {
  it('reads every GPU line, with N/A fields as null', () => {
    const out = '0, NVIDIA H100 80GB HBM3, 81559, 1024, 34, 7, [N/A], 71.52\n1, NVIDIA GeForce RTX 3090, 24576, 12288, 61, 98, 55, 310.00\n';
    expect(parseNvidiaSmi(out)).toEqual([
      {
        id: 0,
        name: 'NVIDIA H100 80GB HBM3',
        memory_total: 81559,
        memory_used: 1024,
        memory_percent: 1.3,
        temperature: 34,
        utilization: 7,
        fan_speed: null,
        power_draw_watts: 71.52,
      },
      {
        id: 1,
        name: 'NVIDIA GeForce RTX 3090',
        memory_total: 24576,
        memory_used: 12288,
        memory_percent: 50,
        temperature: 61,
        utilization: 98,
        fan_speed: 55,
        power_draw_watts: 310,
      },
    ]);
  });

  it('reads the output recorded from nvidia-smi on an H100 machine', () => {
    const recorded = '0, NVIDIA H100 80GB HBM3, 81559, 0, 40, 0, [N/A], 133.67\n';
    expect(parseNvidiaSmi(recorded)).toEqual([
      {
        id: 0,
        name: 'NVIDIA H100 80GB HBM3',
        memory_total: 81559,
        memory_used: 0,
        memory_percent: 0,
        temperature: 40,
        utilization: 0,
        fan_speed: null,
        power_draw_watts: 133.67,
      },
    ]);
  });

  it('treats [Not Supported] as unknown and ignores blank lines', () => {
    const [gpu] = parseNvidiaSmi('\n0, Tesla T4, 15360, 0, 40, 0, [Not Supported], [Not Supported]\n\n');
    expect(gpu.power_draw_watts).toBeNull();
    expect(gpu.fan_speed).toBeNull();
    expect(gpu.memory_percent).toBe(0);
  });
});

describe('parseRocmSmi', () => {
  it('reads cards by key pattern and converts bytes to MiB', () => {
    const out = JSON.stringify({
      card1: {
        'Card series': 'Radeon RX 7900 XTX',
        'Card model': '0x744c',
        'VRAM Total Memory (B)': '25753026560',
        'VRAM Total Used Memory (B)': '1073741824',
        'Temperature (Sensor edge) (C)': '45.0',
        'GPU use (%)': '12',
        'Fan speed (%)': '20',
        'Average Graphics Package Power (W)': '35.0',
      },
      card0: { 'Card series': 'AMD Instinct MI210', 'VRAM Total Memory (B)': '68702699520', 'VRAM Total Used Memory (B)': '0' },
      system: { 'Driver version': '6.7.0' },
    });
    const gpus = parseRocmSmi(out);
    expect(gpus.map((g) => g.name)).toEqual(['AMD Instinct MI210', 'Radeon RX 7900 XTX']);
    expect(gpus[1]).toMatchObject({ id: 1, memory_total: 24560, memory_used: 1024, temperature: 45, utilization: 12, fan_speed: 20, power_draw_watts: 35 });
    expect(gpus[0]).toMatchObject({ memory_total: 65520, memory_used: 0, temperature: null, power_draw_watts: null });
  });

  it('returns nothing for output that is not JSON', () => {
    expect(parseRocmSmi('ERROR: GPU[0] : Unable to read')).toEqual([]);
  });
});
