import { execFile } from 'node:child_process';
import { NVIDIA_SMI_ARGS, ROCM_SMI_ARGS, parseNvidiaSmi, parseRocmSmi, type GpuInfo } from '../lib/gpu-smi.ts';

export interface GpuReport {
  available: boolean;
  /** The tool that answered, or null when neither is installed. */
  source: 'nvidia-smi' | 'rocm-smi' | null;
  gpus: GpuInfo[];
  /** Why no GPU figures are shown (tool missing, tool failed), null when they are. */
  error: string | null;
}

export type RunTool = (file: string, args: readonly string[]) => Promise<string>;

/** execFile with an argument list (never a shell), a timeout and a bounded output. */
export const runTool: RunTool = (file, args) =>
  new Promise((resolve, reject) => {
    execFile(file, [...args], { timeout: 5000, maxBuffer: 1024 * 1024, windowsHide: true }, (error, stdout) => {
      if (error) reject(error);
      else resolve(stdout);
    });
  });

function describeFailure(tool: string, error: unknown): string {
  const e = error as NodeJS.ErrnoException & { killed?: boolean; stderr?: string };
  if (e.killed) return `${tool} did not answer within 5 s`;
  return `${tool} failed: ${String(e.message ?? e).split('\n')[0]}`;
}

/**
 * Real GPU figures from the vendor tools: nvidia-smi first, then rocm-smi. No tool means no GPU we can see, said
 * plainly (the original fell back to system RAM and called it GPU memory).
 */
export async function probeGpus(run: RunTool = runTool): Promise<GpuReport> {
  const problems: string[] = [];
  for (const [tool, args, parse] of [
    ['nvidia-smi', NVIDIA_SMI_ARGS, parseNvidiaSmi],
    ['rocm-smi', ROCM_SMI_ARGS, parseRocmSmi],
  ] as const) {
    try {
      const gpus = parse(await run(tool, args));
      if (gpus.length > 0) return { available: true, source: tool, gpus, error: null };
      problems.push(`${tool} reported no GPU`);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      problems.push(describeFailure(tool, error));
    }
  }
  return {
    available: false,
    source: null,
    gpus: [],
    error: problems.length > 0 ? problems.join('; ') : 'No GPU found: neither nvidia-smi nor rocm-smi is installed',
  };
}
