// `gatehouse access request|list`: time-bound access grants (JIT access) for the caller, through the
// gateway's HTTP API. The subject is the caller's own token's; the CLI cannot ask for someone else.

import { Command, InvalidArgumentError } from 'commander';
import { toMs } from '../config/duration.js';
import {
  GatewayHttpError,
  formatList,
  gatewayClient,
  withGatewayOptions,
  type GatewayOptions,
} from './approvals-command.js';
import { processIo, type CliIo } from './cli-io.js';
import { printable } from './sessions-command.js';

export interface AccessCommandDeps {
  readonly io?: CliIo;
  readonly fetch?: typeof fetch;
  /** How often `--wait` polls (default 2 s). */
  readonly pollMs?: number;
}

function parseFor(v: string): string {
  if (!/^\d+(m|h|d)$/.test(v)) throw new InvalidArgumentError('expected a duration such as 30m, 1h or 8h');
  toMs(v);
  return v;
}

interface RequestJson {
  id: string;
  status: string;
  connection: string;
  grantName?: string;
  validUntil?: string;
  decidedBy?: string;
  decisionComment?: string;
}

export function accessCommand(deps: AccessCommandDeps = {}): Command {
  const io = deps.io ?? processIo();
  const cmd = withGatewayOptions(
    new Command('access').description('time-bound access grants (JIT access) for yourself'),
  );

  const run = async (sub: Command, fn: (client: ReturnType<typeof gatewayClient>) => Promise<void>) => {
    try {
      await fn(gatewayClient(sub.optsWithGlobals<GatewayOptions>(), io, deps.fetch));
    } catch (e) {
      const code = e instanceof GatewayHttpError && e.status >= 400 && e.status < 500 ? 1 : 2;
      sub.error(`error: ${e instanceof Error ? e.message : String(e)}`, {
        exitCode: code,
        code: 'gatehouse.access',
      });
    }
  };

  cmd
    .command('request')
    .description('ask for the elevated policy of an access grant on a connection, for a while')
    .requiredOption('--connection <name>', 'the connection')
    .requiredOption('--for <duration>', "how long, e.g. 1h (at most the grant's maxDuration)", parseFor)
    .requiredOption('--reason <text>', 'why: shown to the approvers and recorded')
    .option('--grant <name>', 'which grant (default: the first that covers the connection)')
    .option('--wait', 'wait for the decision and exit 0 only when approved')
    .option('--json', 'print JSON')
    .action(
      async (
        opts: {
          connection: string;
          for: string;
          reason: string;
          grant?: string;
          wait?: boolean;
          json?: boolean;
        },
        sub: Command,
      ) =>
        run(sub, async (client) => {
          const created = await client.call<{ request: RequestJson; approvalUrl: string }>(
            'POST',
            '/api/access-requests',
            {
              connection: opts.connection,
              for: opts.for,
              reason: opts.reason,
              ...(opts.grant ? { grant: opts.grant } : {}),
            },
          );
          let r = created.request;
          if (!opts.json) {
            io.stdout.write(
              `access request ${printable(r.id)} is pending\n  approve at: ${printable(created.approvalUrl)}\n`,
            );
          }
          if (opts.wait) {
            while (r.status === 'pending') {
              await new Promise((res) => setTimeout(res, deps.pollMs ?? 2_000));
              r = (
                await client.call<{ request: RequestJson }>(
                  'GET',
                  `/api/approvals/${encodeURIComponent(r.id)}`,
                )
              ).request;
            }
          }
          if (opts.json)
            io.stdout.write(`${JSON.stringify({ request: r, approvalUrl: created.approvalUrl }, null, 2)}\n`);
          else if (opts.wait) {
            io.stdout.write(
              r.status === 'approved'
                ? `approved by ${printable(r.decidedBy ?? '?')}: grant ${printable(r.grantName ?? '')} on ${printable(r.connection)} until ${r.validUntil ?? '?'}\n`
                : `${printable(r.status)}${r.decidedBy ? ` by ${printable(r.decidedBy)}` : ''}${r.decisionComment ? `: ${printable(r.decisionComment)}` : ''}\n`,
            );
          }
          if (opts.wait && r.status !== 'approved')
            throw new GatewayHttpError(409, `access request ${r.id} was ${r.status}, not approved`);
        }),
    );

  cmd
    .command('list')
    .description('your access requests and grants')
    .option('--active', 'only grants in force now')
    .option('--json', 'print JSON')
    .action(async (opts: { active?: boolean; json?: boolean }, sub: Command) =>
      run(sub, async (client) => {
        const out = opts.active
          ? (await client.call<{ grants: never[] }>('GET', '/api/access-grants')).grants
          : (await client.call<{ requests: never[] }>('GET', '/api/approvals?status=all&kind=access&mine=1'))
              .requests;
        io.stdout.write(opts.json ? `${JSON.stringify(out, null, 2)}\n` : formatList(out));
      }),
    );
  return cmd;
}
