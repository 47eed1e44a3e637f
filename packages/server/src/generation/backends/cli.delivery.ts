import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { DeliveryError, type DeliveryTarget } from './delivery-target.ts';

export interface CliDeliveryOptions {
  enabled: boolean;
  /** Where prompt files are written (under DATA_DIR). */
  dir: string;
  /** Run after writing the file, as an argument list (never through a shell). */
  command: readonly string[] | null;
  timeoutMs: number;
}

const OUTPUT_TAIL = 4000;

/** `template` with `{prompt}` replaced; `{{` and `}}` are literal braces, as in Python's str.format the original used. */
export function renderTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{|\}\}|\{(\w+)\}/g, (match, name: string | undefined) => {
    if (match === '{{') return '{';
    if (match === '}}') return '}';
    return name !== undefined && name in values ? values[name] : match;
  });
}

/**
 * Writes the prompt (through `template` when given) to `DATA_DIR/deliveries/<id>.txt` and, when DELIVERY_CLI_COMMAND
 * is configured, runs that command with `{file}`, `{prompt}` and `{id}` replaced inside its arguments. Off unless
 * DELIVERY_CLI_ENABLED is set: it writes files and can start programs.
 */
export class CliDeliveryTarget implements DeliveryTarget {
  readonly mode = 'cli';

  constructor(private readonly options: CliDeliveryOptions) {}

  async deliver({ id, prompt, params, signal }: Parameters<DeliveryTarget['deliver']>[0]): Promise<Record<string, unknown>> {
    if (!this.options.enabled) {
      const detail = 'cli deliveries are disabled on this server (set DELIVERY_CLI_ENABLED=true)';
      throw new DeliveryError(detail, false, { status: 'error', detail });
    }
    const text = typeof params.template === 'string' && params.template ? renderTemplate(params.template, { prompt }) : prompt;
    await fs.mkdir(this.options.dir, { recursive: true });
    const file = path.join(this.options.dir, `${id.replace(/[^A-Za-z0-9_-]/g, '_')}.txt`);
    await fs.writeFile(file, text, 'utf8');
    const result: Record<string, unknown> = { status: 'ok', detail: `Prompt written to ${file}`, file_path: file };
    if (!this.options.command) return result;

    const values = { file, prompt: text, id };
    const [program, ...args] = this.options.command.map((arg) => renderTemplate(arg, values));
    const run = await new Promise<{ code: number | null; stdout: string; stderr: string; error: Error | null }>((resolve) => {
      execFile(program, args, { shell: false, timeout: this.options.timeoutMs, maxBuffer: 1024 * 1024, signal, windowsHide: true }, (error, stdout, stderr) => {
        const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? ((error as { code: number }).code) : null) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr), error });
      });
    });
    signal.throwIfAborted();
    Object.assign(result, { command: [program, ...args], exit_code: run.code, stdout: run.stdout.slice(-OUTPUT_TAIL), stderr: run.stderr.slice(-OUTPUT_TAIL) });
    if (run.code === 0) return result;
    const detail = run.code === null ? `Command failed: ${run.error?.message ?? 'killed'}` : `Command exited with code ${run.code}`;
    throw new DeliveryError(detail, false, { ...result, status: 'error', detail });
  }
}
