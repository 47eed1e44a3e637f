import type { Command } from 'commander';
import { createContainer } from '../../container.ts';
import { configOrExit } from '../cli-support.ts';

/**
 * `lora-manager worker`: runs job handlers and nothing else (no HTTP). Start as many as the machines allow; they share
 * the database and Redis with `serve`. Handlers are the same set `serve` registers: both come from the container.
 */
export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('run background jobs (generation, scans, hashing…) from Redis; needs REDIS_URL')
    .action(async () => {
      const config = configOrExit();
      if (!config.redisUrl) {
        process.stderr.write('lora-manager worker needs REDIS_URL: without Redis, `lora-manager serve` runs the jobs itself.\n');
        process.exit(2);
      }
      const container = await createContainer({ ...config, runWorkers: true }).catch((error: Error) => {
        process.stderr.write(`${error.message}\n`);
        process.exit(1);
      });
      let closing = false;
      const shutdown = async (signal: string) => {
        if (closing) return;
        closing = true;
        container.logger.info({ signal }, 'worker stopping: running jobs go back to the queue');
        await container.close();
        process.exit(0);
      };
      process.on('SIGINT', () => void shutdown('SIGINT'));
      process.on('SIGTERM', () => void shutdown('SIGTERM'));
      await container.queue.start();
      container.resourceSampler.start();
      container.logger.info({ redis_prefix: config.redisPrefix }, 'worker ready');
    });
}
