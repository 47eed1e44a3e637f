import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';

/**
 * No container engine runs here, so this checks what can be checked of the Dockerfile and compose.yaml: they parse,
 * and they name only files, npm scripts, commands and environment variables the app really has. A renamed variable
 * or command breaks this test instead of a user's deployment.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const read = (relative: string) => fs.readFileSync(path.join(ROOT, relative), 'utf8');

/** Every variable config.ts reads (`read.int('PORT', …)` and friends). */
function configVariables(): Set<string> {
  const names = [...read('packages/server/src/config.ts').matchAll(/read\.\w+\('([A-Z][A-Z0-9_]*)'/g)].map((m) => m[1]);
  return new Set(names);
}

/** The CLI's sub-commands (`.command('worker')`). */
function cliCommands(): Set<string> {
  const dir = path.join(ROOT, 'packages/server/src/cli');
  const files = [path.join(dir, 'index.ts'), ...fs.readdirSync(path.join(dir, 'commands')).map((f) => path.join(dir, 'commands', f))];
  return new Set(files.flatMap((f) => [...fs.readFileSync(f, 'utf8').matchAll(/\.command\('([a-z-]+)/g)].map((m) => m[1])));
}

interface Instruction {
  op: string;
  args: string;
}

/** Dockerfile instructions, continuation lines joined, comments dropped. */
function dockerfile(): Instruction[] {
  const joined = read('Dockerfile')
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('\n')
    .replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [op, ...rest] = line.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(' ') };
    });
}

describe('Dockerfile', () => {
  const steps = dockerfile();
  const stages = steps.map((s, i) => (s.op === 'FROM' ? i : -1)).filter((i) => i >= 0);
  const finalStage = steps.slice(stages.at(-1));

  it('is multi-stage and runs as a user other than root', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const user = finalStage.filter((s) => s.op === 'USER').at(-1)?.args;
    expect(user).toBeDefined();
    expect(['root', '0', '0:0']).not.toContain(user);
  });

  it('copies only files that exist and runs only npm scripts and files that exist', () => {
    const scripts = JSON.parse(read('package.json')).scripts as Record<string, string>;
    for (const step of steps) {
      if (step.op === 'COPY' && !step.args.includes('--from=')) {
        const parts = step.args.split(/\s+/).filter((p) => !p.startsWith('--'));
        for (const source of parts.slice(0, -1)) if (source !== '.') expect(fs.existsSync(path.join(ROOT, source)), `COPY ${source}`).toBe(true);
      }
      if (step.op === 'RUN') {
        for (const [, script] of step.args.matchAll(/npm run ([\w:-]+)/g)) expect(scripts, `npm run ${script}`).toHaveProperty(script);
        for (const [, file] of step.args.matchAll(/node ([\w./-]+\.m?[jt]s)/g)) expect(fs.existsSync(path.join(ROOT, file)), `node ${file}`).toBe(true);
        // Each step is valid shell.
        expect(spawnSync('sh', ['-n', '-c', step.args]).status, `RUN ${step.args}`).toBe(0);
      }
    }
  });

  it('builds the web app and compiles the native reader, and starts the real CLI', () => {
    const runs = steps.filter((s) => s.op === 'RUN').map((s) => s.args);
    expect(runs.some((r) => /npm ci/.test(r))).toBe(true);
    expect(runs.some((r) => r.includes('npm run build'))).toBe(true);
    expect(runs.some((r) => r.includes('packages/server/native/build.mjs'))).toBe(true);
    const entrypoint = JSON.parse(finalStage.find((s) => s.op === 'ENTRYPOINT')!.args) as string[];
    expect(fs.existsSync(path.join(ROOT, entrypoint[1]))).toBe(true);
    const cmd = JSON.parse(finalStage.find((s) => s.op === 'CMD')!.args) as string[];
    expect(cliCommands()).toContain(cmd[0]);
  });

  it('sets only variables the app reads', () => {
    const known = configVariables();
    const env = finalStage.filter((s) => s.op === 'ENV').flatMap((s) => [...s.args.matchAll(/([A-Z][A-Z0-9_]*)=/g)].map((m) => m[1]));
    expect(env.length).toBeGreaterThan(0);
    expect(env.filter((name) => name !== 'NODE_ENV' && !known.has(name))).toEqual([]);
  });
});

describe('compose.yaml', () => {
  interface Service {
    image?: string;
    build?: unknown;
    command?: string[];
    environment?: Record<string, string>;
    volumes?: string[];
    healthcheck?: { test: string[] };
    ports?: string[];
    container_name?: string;
  }
  const compose = load(read('compose.yaml')) as { services: Record<string, Service>; volumes: Record<string, unknown> };
  const { services } = compose;
  const appServices = Object.entries(services).filter(([, s]) => s.image?.startsWith('lora-manager') || s.build);

  it('has serve, a scalable worker, PostgreSQL and Redis, with health checks', () => {
    expect(Object.keys(services).sort()).toEqual(['postgres', 'redis', 'serve', 'worker']);
    for (const name of ['serve', 'postgres', 'redis']) expect(services[name].healthcheck?.test, name).toBeDefined();
    // Scalable: no fixed container name, no host port.
    expect(services.worker.container_name).toBeUndefined();
    expect(services.worker.ports).toBeUndefined();
  });

  it('runs only commands the CLI has, with only variables the app reads', () => {
    const commands = cliCommands();
    const known = configVariables();
    expect(appServices.map(([name]) => name).sort()).toEqual(['serve', 'worker']);
    for (const [name, service] of appServices) {
      expect(commands, `${name}: ${service.command?.join(' ')}`).toContain(service.command?.[0]);
      expect(Object.keys(service.environment ?? {}).filter((v) => !known.has(v)), name).toEqual([]);
      expect(service.environment).toMatchObject({ DATABASE_URL: expect.stringMatching(/^postgres:\/\//), REDIS_URL: expect.stringMatching(/^redis:\/\//) });
    }
    expect(services.serve.environment?.RUN_WORKERS).toBe('false');
  });

  it('keeps DATA_DIR and OUTPUT_DIR on volumes shared by serve and the workers', () => {
    for (const [name, service] of appServices) {
      const targets = (service.volumes ?? []).map((v) => ({ source: v.split(':')[0], target: v.split(':')[1] }));
      for (const variable of ['DATA_DIR', 'OUTPUT_DIR']) {
        const dir = service.environment?.[variable];
        const mount = targets.find((t) => t.target === dir);
        expect(mount, `${name} ${variable}=${dir}`).toBeDefined();
        expect(compose.volumes, `${name} ${variable}`).toHaveProperty(mount!.source);
      }
    }
  });
});
