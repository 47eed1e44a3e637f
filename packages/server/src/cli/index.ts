import { Command } from 'commander';
import { withContainer } from './cli-support.ts';
import { registerAdapterCommands } from './commands/adapters.command.ts';
import { registerLibraryCommands } from './commands/library.command.ts';
import { registerArchiveCommands } from './commands/archive.command.ts';
import { registerServeCommand } from './commands/serve.command.ts';
import { registerWorkerCommand } from './commands/worker.command.ts';

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
