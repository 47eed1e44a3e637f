import type { JobQueue } from '../../src/jobs/job-queue.ts';
import { anyKind } from './any-kind-queue.ts';
import { PermanentJobError } from '../../src/jobs/job-queue.ts';

/** What the contract handlers observed, shared by every queue (and worker) built in one test process. */
export class HandlerProbe {
  active = 0;
  peak = 0;
  order: string[] = [];
  attemptStarts = new Map<string, number[]>();
  aborted = new Map<string, unknown>();
  started = new Set<string>();
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The handlers the queue contract suite runs, registered the same way on every adapter. */
export function registerContractHandlers(typed: JobQueue, probe: HandlerProbe): void {
  const queue = anyKind(typed);
  queue.register('contract.echo', async (payload: { value: number }, ctx) => {
    await ctx.progress({ progress: 0.5, step: 1, total_steps: 2, message: 'half way' });
    return { doubled: payload.value * 2 };
  });

  queue.register(
    'contract.flaky',
    async (payload: { failTimes: number; name: string }, ctx) => {
      probe.attemptStarts.set(payload.name, [...(probe.attemptStarts.get(payload.name) ?? []), Date.now()]);
      if (ctx.attempt <= payload.failTimes) throw new Error(`flaky failure ${ctx.attempt}`);
      return { tries: ctx.attempt };
    },
    { maxAttempts: 3, backoffMs: 50 },
  );

  queue.register(
    'contract.permanent',
    async () => {
      throw new PermanentJobError('unknown mode: carrier-pigeon', { detail: 'unknown mode: carrier-pigeon' });
    },
    { maxAttempts: 5 },
  );

  queue.register(
    'contract.group',
    async (payload: { name: string }) => {
      probe.active += 1;
      probe.peak = Math.max(probe.peak, probe.active);
      probe.order.push(payload.name);
      await sleep(30);
      probe.active -= 1;
      return { name: payload.name };
    },
    { concurrency: 4 },
  );

  queue.register(
    'contract.block',
    async (payload: { name: string }, ctx) => {
      probe.started.add(payload.name);
      await ctx.progress({ progress: 0.1, message: 'blocking' });
      await new Promise<void>((resolve) => {
        if (ctx.signal.aborted) resolve();
        ctx.signal.addEventListener('abort', () => resolve());
      });
      probe.aborted.set(payload.name, ctx.signal.reason);
      // A late result: it must not overwrite the cancel.
      return { late: true };
    },
    { concurrency: 4 },
  );
}

/** A job that hangs on its first attempt (in the process about to be killed) and succeeds when run again. */
export function registerCrashHandler(queue: JobQueue, mode: 'hang' | 'succeed'): void {
  anyKind(queue).register(
    'contract.crash',
    async (_payload, ctx) => {
      await ctx.progress({ progress: 0.2, message: `attempt ${ctx.attempt} in ${mode} mode` });
      if (mode === 'hang') await new Promise(() => undefined);
      return { recovered: true, attempt: ctx.attempt };
    },
    { maxAttempts: 2, concurrency: 2 },
  );
}
