// `gatehouse config check [FILE]` and `gatehouse config schema`: validate a config the way the
// gateway would, with file/line errors, and print the JSON Schema for editors.

import { Command } from 'commander';
import { loadCliConfig } from './config-file.js';

export function configCommand(): Command {
  const cmd = new Command('config').description('check a gatehouse.yaml, or print its JSON Schema');
  cmd
    .command('check')
    .description('validate a config file; exits 1 with file, line and field on error')
    .argument('[file]', 'gatehouse.yaml to check (default: --config, $GATEHOUSE_CONFIG or ./gatehouse.yaml)')
    .action(async (file: string | undefined, _opts: unknown, sub: Command) => {
      try {
        const { config: global } = sub.optsWithGlobals<{ config?: string }>();
        const { config, path } = await loadCliConfig(file ?? global);
        const connections = Object.keys(config.connections);
        process.stdout.write(
          `${path}: OK (${connections.length} connection(s): ${connections.join(', ') || 'none'}; ${config.policies.length} polic${config.policies.length === 1 ? 'y' : 'ies'})\n`,
        );
      } catch (e) {
        process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
        process.exitCode = 1;
      }
    });
  cmd
    .command('schema')
    .description('print the JSON Schema of gatehouse.yaml (for editor validation)')
    .action(async () => {
      // Loaded on use: zod and the schema are not needed to start the other commands.
      const { z } = await import('zod');
      const { configSchema } = await import('../config/schema.js');
      process.stdout.write(
        `${JSON.stringify(z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }), null, 2)}\n`,
      );
    });
  return cmd;
}
