import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface DiskUsage {
  /** What the folder is to us: data, output, library. */
  name: string;
  path: string;
  /** MiB, as the original reported disk figures. */
  used: number;
  total: number;
  free: number;
  percent: number;
}

const MIB = 1024 * 1024;

/** The folder itself, or its nearest existing parent (OUTPUT_DIR may not exist before the first generation). */
async function existingAncestor(dir: string): Promise<string> {
  let current = path.resolve(dir);
  for (;;) {
    try {
      await fs.access(current);
      return current;
    } catch {
      const parent = path.dirname(current);
      if (parent === current) return current;
      current = parent;
    }
  }
}

/** Usage of the file system holding `dir` (fs.statfs), or null when it cannot be read. */
export async function diskUsage(name: string, dir: string): Promise<DiskUsage | null> {
  try {
    const s = await fs.statfs(await existingAncestor(dir));
    const total = s.blocks * s.bsize;
    const free = s.bavail * s.bsize;
    // Used as `df` counts it: blocks not free, including those reserved for root.
    const used = (s.blocks - s.bfree) * s.bsize;
    return {
      name,
      path: dir,
      used: Math.round(used / MIB),
      total: Math.round(total / MIB),
      free: Math.round(free / MIB),
      percent: total > 0 ? Math.round((used / (used + free)) * 1000) / 10 : 0,
    };
  } catch {
    return null;
  }
}

export interface HostMetrics {
  cpu_percent: number;
  memory_percent: number;
  /** MiB */
  memory_used: number;
  memory_total: number;
  uptime_seconds: number;
}

type CpuSample = { idle: number; total: number };

function sampleCpu(): CpuSample {
  let idle = 0;
  let total = 0;
  for (const cpu of os.cpus()) {
    const t = cpu.times;
    idle += t.idle;
    total += t.user + t.nice + t.sys + t.idle + t.irq;
  }
  return { idle, total };
}

/**
 * CPU busy share since the previous call (the first call compares against process start-up), system memory and the
 * process uptime. Real samples, not a fabricated "resource usage".
 */
export class HostProbe {
  private last: CpuSample = sampleCpu();

  metrics(): HostMetrics {
    const now = sampleCpu();
    const dTotal = now.total - this.last.total;
    const dIdle = now.idle - this.last.idle;
    // Too short an interval has no information: keep the previous baseline and use the load average instead.
    let cpu: number;
    if (dTotal > 0) {
      cpu = (1 - dIdle / dTotal) * 100;
      this.last = now;
    } else {
      cpu = (os.loadavg()[0] / Math.max(1, os.cpus().length)) * 100;
    }
    const total = os.totalmem();
    const used = total - os.freemem();
    return {
      cpu_percent: Math.round(Math.min(100, Math.max(0, cpu)) * 10) / 10,
      memory_percent: Math.round((used / total) * 1000) / 10,
      memory_used: Math.round(used / MIB),
      memory_total: Math.round(total / MIB),
      uptime_seconds: Math.round(process.uptime()),
    };
  }
}
