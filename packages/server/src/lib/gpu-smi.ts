/** One GPU as nvidia-smi or rocm-smi reports it. Memory in MiB; a figure the tool does not report is null. */
export interface GpuInfo {
  id: number;
  name: string;
  memory_total: number | null;
  memory_used: number | null;
  memory_percent: number | null;
  temperature: number | null;
  utilization: number | null;
  fan_speed: number | null;
  power_draw_watts: number | null;
}

/** The query `nvidia-smi` is run with; the parser below expects exactly these columns in this order. */
export const NVIDIA_SMI_ARGS = [
  '--query-gpu=index,name,memory.total,memory.used,temperature.gpu,utilization.gpu,fan.speed,power.draw',
  '--format=csv,noheader,nounits',
];

export const ROCM_SMI_ARGS = ['--showproductname', '--showmeminfo', 'vram', '--showtemp', '--showuse', '--showpower', '--showfan', '--json'];

/** "[N/A]", "N/A", "[Not Supported]", "" and junk become null. */
function num(value: string | undefined): number | null {
  if (value === undefined) return null;
  const n = Number.parseFloat(value.trim());
  return Number.isFinite(n) ? n : null;
}

function percent(used: number | null, total: number | null): number | null {
  return used !== null && total !== null && total > 0 ? Math.round((used / total) * 1000) / 10 : null;
}

/** Parse `nvidia-smi --query-gpu=… --format=csv,noheader,nounits`. */
export function parseNvidiaSmi(output: string): GpuInfo[] {
  return output
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line, i) => {
      const [index, name, total, used, temp, util, fan, power] = line.split(',').map((c) => c.trim());
      const memoryTotal = num(total);
      const memoryUsed = num(used);
      return {
        id: num(index) ?? i,
        name: name || `GPU ${i}`,
        memory_total: memoryTotal,
        memory_used: memoryUsed,
        memory_percent: percent(memoryUsed, memoryTotal),
        temperature: num(temp),
        utilization: num(util),
        fan_speed: num(fan),
        power_draw_watts: num(power),
      };
    });
}

/**
 * Parse `rocm-smi … --json`: `{"card0": {"Card series": …, "VRAM Total Memory (B)": …}, "system": {…}}`. Key names
 * drift between ROCm releases, so fields are found by pattern rather than by exact key.
 */
export function parseRocmSmi(output: string): GpuInfo[] {
  let data: unknown;
  try {
    data = JSON.parse(output);
  } catch {
    return [];
  }
  if (typeof data !== 'object' || data === null) return [];
  const gpus: GpuInfo[] = [];
  for (const [card, fields] of Object.entries(data as Record<string, unknown>)) {
    const match = /^card(\d+)$/i.exec(card);
    if (!match || typeof fields !== 'object' || fields === null) continue;
    const entries = Object.entries(fields as Record<string, unknown>).map(([k, v]) => [k, String(v)] as const);
    const find = (pattern: RegExp) => entries.find(([k]) => pattern.test(k))?.[1];
    const bytesTotal = num(find(/^VRAM Total Memory \(B\)$/i));
    const bytesUsed = num(find(/^VRAM Total Used Memory \(B\)$/i));
    const mib = (b: number | null) => (b === null ? null : Math.round(b / 1024 / 1024));
    const memoryTotal = mib(bytesTotal);
    const memoryUsed = mib(bytesUsed);
    gpus.push({
      id: Number(match[1]),
      name: find(/^Card Series$/i) ?? find(/^Card Model$/i) ?? find(/product name/i) ?? card,
      memory_total: memoryTotal,
      memory_used: memoryUsed,
      memory_percent: percent(memoryUsed, memoryTotal),
      temperature: num(find(/^Temperature \(Sensor (edge|junction)\) \(C\)$/i) ?? find(/^Temperature.*\(C\)$/i)),
      utilization: num(find(/^GPU use \(%\)$/i)),
      fan_speed: num(find(/^Fan speed \(%\)$/i)),
      power_draw_watts: num(find(/package power \(W\)$/i) ?? find(/power.*\(W\)$/i)),
    });
  }
  return gpus.sort((a, b) => a.id - b.id);
}
