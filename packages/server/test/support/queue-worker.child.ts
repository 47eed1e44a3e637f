// A worker process for the queue contract suite: built from the real container on the environment it is given,
// running one job kind that hangs, so the suite can kill -9 it mid-job.
import { loadConfig } from '../../src/config.ts';
import { createContainer } from '../../src/container.ts';
import { registerCrashHandler } from './queue-contract.ts';

const container = await createContainer(loadConfig(process.env));
registerCrashHandler(container.queue, 'hang');
await container.queue.start();
process.stdout.write('ready\n');
