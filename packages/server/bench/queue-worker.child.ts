// A `lora-manager worker` for bench:queue: the real container and BullMQ queue from the environment it is given,
// plus the bench's no-op job kind (the product's kinds need generation servers and libraries).
import { pino } from 'pino';
import { loadConfig } from '../src/config.ts';
import { createContainer } from '../src/container.ts';
import { anyKind } from '../test/support/any-kind-queue.ts';

const container = await createContainer(loadConfig(process.env), { logger: pino({ level: 'silent' }) });
anyKind(container.queue).register('bench.noop', async (payload: { n: number }) => ({ n: payload.n }), {
  concurrency: Number(process.env.BENCH_CONCURRENCY ?? 4),
  maxAttempts: 5,
});
await container.queue.start();
process.stdout.write('ready\n');
process.once('SIGTERM', () => {
  void container.close().finally(() => process.exit(0));
});
