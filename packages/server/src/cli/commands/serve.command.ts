import type { Command } from 'commander';
import { buildApp } from '../../app.ts';
import { createContainer } from '../../container.ts';
import { configOrExit } from '../cli-support.ts';

export function registerServeCommand(program: Command): void {
  program
    .command('serve', { isDefault: true })
    .description('run the API, the WebSocket and the web app')
    .action(async () => {
      const config = configOrExit();
      const container = await createContainer(config);
      const app = await buildApp(container);
      let closing = false;
      // The WebSocket's system_status event: one snapshot per interval (probes are cached, so this stays cheap).
      const statusTimer = setInterval(() => {
        container.services.systemStatus
          .status()
          .then((status) => container.events.publish('system', status))
          .catch((error: unknown) => container.logger.warn({ err: error }, 'system status snapshot failed'));
      }, config.polling.systemStatusMs);
      statusTimer.unref();
      const shutdown = async (signal: string) => {
        if (closing) return;
        closing = true;
        clearInterval(statusTimer);
        container.logger.info({ signal }, 'shutting down');
        await app.close();
        await container.close();
        process.exit(0);
      };
      process.on('SIGINT', () => void shutdown('SIGINT'));
      process.on('SIGTERM', () => void shutdown('SIGTERM'));
      await app.listen({ host: config.host, port: config.port });
      if (!config.apiKey && !isLoopback(config.host)) {
        container.logger.warn({ host: config.host }, 'listening beyond this machine without API_KEY: anyone who can reach it can use and change everything');
      }
      // With Redis, `lora-manager worker` processes run the jobs unless RUN_WORKERS=true.
      if (config.runWorkers) await container.queue.start();
      await container.libraryWatcher.begin();
      if (config.library.scanOnStart) {
        await container.services.library.scanAtStart().catch((error: unknown) => container.logger.warn({ err: error }, 'could not queue the start-up library scan'));
      }
      container.services.backupScheduler.start();
      container.resourceSampler.start();
      // Load the recommendation index now, in the background, so the first "similar" a user asks for does not wait
      // for it (and features a catalogue from before recommendations lacks are computed).
      container.services.recommendationIndex.engine().catch((error: unknown) => container.logger.warn({ err: error }, 'recommendation index not loaded'));
    });
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}
