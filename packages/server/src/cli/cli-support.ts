import { ConfigError, loadConfig, type Config } from '../config.ts';
import { createContainer, type Container } from '../container.ts';

/*
 * What every command file shares. It lives apart from index.ts (which registers the commands) so the command files
 * import it without importing index.ts back: no import cycle.
 */

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
  const container = await createContainer({ ...config, logLevel: config.logLevelSet ? config.logLevel : 'warn' });
  try {
    return await fn(container);
  } finally {
    await container.close();
  }
}
