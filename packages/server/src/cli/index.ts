import { Command } from 'commander';
import { ConfigError, loadConfig, type Config } from '../config.ts';
import { createContainer, type Container } from '../container.ts';
import { registerAdapterCommands } from './commands/adapters.command.ts';
import { registerLibraryCommands } from './commands/library.command.ts';
import { registerArchiveCommands } from './commands/archive.command.ts';
import { registerServeCommand } from './commands/serve.command.ts';
import { registerWorkerCommand } from './commands/worker.command.ts';

/** Load the configuration or exit with a message naming the bad variables. */
export function configOrExit(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
}

/** Build a container for a one-shot command, run `fn`, and always close it. Logs stay quiet unless LOG_LEVEL asks. */
export async function withContainer<T>(fn: (container: Container) => Promise<T>): Promise<T> {
  const config = configOrExit();
  const container = await createContainer({ ...config, logLevel: process.env.LOG_LEVEL ? config.logLevel : 'warn' });
  try {
    return await fn(container);
  } finally {
    await container.close();
  }
}

export async function runCli(argv: string[]): Promise<void> {
  const program = new Command('lora-manager').description('Self-hosted LoRA manager').showHelpAfterError();
  registerServeCommand(program);
  registerWorkerCommand(program);
  program
    .command('migrate')
    .description('apply database migrations and exit')
    .action(async () => {
      await withContainer(async () => {
        process.stdout.write('database is up to date\n');
      });
    });
  registerAdapterCommands(program);
  registerLibraryCommands(program);
  registerArchiveCommands(program);
  await program.parseAsync(argv);
}
