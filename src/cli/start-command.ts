// `gatehouse start`: runs the gateway from a config file until SIGINT/SIGTERM; SIGHUP reloads.

import { Command } from 'commander';
import { loadCliConfig } from './config-file.js';

export function startCommand(): Command {
  return new Command('start')
    .description('run the gateway (SIGHUP or a change to the config file reloads it)')
    .option('--no-watch', 'do not reload when the config file changes')
    .action(async (opts: { watch: boolean }, cmd: Command) => {
      const { config } = cmd.optsWithGlobals<{ config?: string }>();
      const loaded = await loadCliConfig(config);
      // Loaded on use: the whole gateway (every engine) is not needed by the other commands.
      const { startGateway } = await import('../main.js');
      const gw = await startGateway(loaded, { watchConfig: opts.watch });
      process.on('SIGHUP', () => void gw.reload());
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await gw.stop();
    });
}
