/**
 * A separate process that queues one generation and runs it until the test kills it with SIGKILL, to show that a
 * crash mid-job never leaves the job stuck in `running`. Configured through the environment like the real server.
 */
import { loadConfig } from '../../src/config.ts';
import { createContainer } from '../../src/container.ts';

const container = await createContainer(loadConfig(process.env, process.cwd()));
await container.queue.start();
const { id } = await container.services.generation.enqueue(
  { prompt: 'crash me', steps: 50, width: 16, height: 16 },
  { backend: 'sdnext', mode: 'deferred', saveImages: true, returnFormat: 'url' },
);
process.stdout.write(`${id}\n`);
setInterval(() => undefined, 60_000);
