import type { Command } from 'commander';
import { buildApp } from '../../app.ts';
import { createContainer } from '../../container.ts';
import { configOrExit } from '../index.ts';

export function registerServeCommand(program: Command): void {
  program
    .command('serve', { isDefault: true })
    .description('run the API, the WebSocket and the web app')
    .action(async () => {
      const config = configOrExit();
      const container = await createContainer(config);
      const app = await buildApp(container);
      let closing = false;
      const shutdown = async (signal: string) => {
        if (closing) return;
        closing = true;
        container.logger.info({ signal }, 'shutting down');
        await app.close();
        await container.close();
        process.exit(0);
      };
      process.on('SIGINT', () => void shutdown('SIGINT'));
      process.on('SIGTERM', () => void shutdown('SIGTERM'));
      await app.listen({ host: config.host, port: config.port });
      await container.queue.start();
    });
}
