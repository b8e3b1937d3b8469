// `gatehouse approvals list|show|approve|deny`: the approver's command line, a client of the
// gateway's HTTP API (so every replica is woken and the same rules apply). It prints client text
// through `printable`, and never prints the token.

import { Command, InvalidArgumentError } from 'commander';
import { boundText } from '../approvals/approval-types.js';
import { toMs } from '../config/duration.js';
import { processIo, type CliIo } from './cli-io.js';
import { printable } from './sessions-command.js';
import { textTable } from './text-table.js';

export interface GatewayOptions {
  gateway?: string;
  token?: string;
}

export interface ApprovalsCommandDeps {
  readonly io?: CliIo;
  /** Injectable for tests; default: global fetch. */
  readonly fetch?: typeof fetch;
}

export class GatewayHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The gateway's HTTP API as the CLI calls it: `--gateway`/GATEHOUSE_HTTP_URL, `--token`/GATEHOUSE_TOKEN. */
export function gatewayClient(opts: GatewayOptions, io: CliIo, doFetch: typeof fetch = fetch) {
  const base = (opts.gateway ?? io.env.GATEHOUSE_HTTP_URL ?? '').replace(/\/+$/, '');
  const token = opts.token ?? io.env.GATEHOUSE_TOKEN;
  if (!base)
    throw new InvalidArgumentError(
      'the gateway URL is missing: pass --gateway URL or set GATEHOUSE_HTTP_URL',
    );
  if (!token) throw new InvalidArgumentError('your token is missing: pass --token or set GATEHOUSE_TOKEN');
  return {
    base,
    async call<T>(method: string, path: string, body?: unknown): Promise<T> {
      let res: Response;
      try {
        res = await doFetch(`${base}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            'x-gatehouse-client': 'cli',
            ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
          signal: AbortSignal.timeout(30_000),
        });
      } catch (e) {
        throw new GatewayHttpError(
          0,
          `cannot reach the gateway at ${base}: ${e instanceof Error ? e.message : String(e)}`,
        );
      }
      const text = await res.text();
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : {};
      } catch {
        throw new GatewayHttpError(res.status, `unexpected answer from the gateway (HTTP ${res.status})`);
      }
      if (!res.ok) {
        const detail =
          (json as { detail?: string; title?: string }).detail ??
          (json as { title?: string }).title ??
          `HTTP ${res.status}`;
        throw new GatewayHttpError(res.status, detail);
      }
      return json as T;
    },
  };
}

interface Principal {
  subject: string;
  issuer: string;
  agent: boolean;
  groups: string[];
}
export interface RequestJson {
  id: string;
  kind: string;
  mode: string;
  status: string;
  ruleName: string;
  policyRuleId?: string;
  connection: string;
  requester: Principal;
  sessionId?: string;
  statement?: { text: string; kind: string; categories: string[]; params?: (string | null)[]; hash: string };
  reason?: string;
  message?: string;
  preview?: {
    kind: string;
    /** What the approval is bound to besides text and parameters (DateStyle, TimeZone…). */
    settings?: Record<string, string>;
    plan?: string[];
    rowCount?: number;
    objects?: { name: string; type: string; exists: boolean; bytes?: number; estimatedRows?: number }[];
    notes: string[];
  };
  grantName?: string;
  requestedDurationMs?: number;
  createdAt: string;
  expiresAt: string;
  decidedAt?: string;
  decidedBy?: string;
  decisionComment?: string;
  usesAllowed?: number;
  uses: number;
  validUntil?: string;
  /** The approval page (list answers carry it per request). */
  approvalUrl?: string;
}
export interface DetailsJson {
  request: RequestJson;
  votes: { approver: Principal; vote: string; comment?: string; via: string; at: string }[];
  history: { at: string; type: string; actor?: string; data: Record<string, unknown> }[];
  approvalUrl?: string;
}

const p = (s: string | number | undefined) => printable(String(s ?? ''));
const t = (iso: string | undefined) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '');

function what(r: RequestJson): string {
  if (r.kind === 'access')
    return `access ${r.grantName ?? ''} for ${Math.round((r.requestedDurationMs ?? 0) / 60_000)}m`;
  const text = (r.statement?.text ?? '').replace(/\s+/g, ' ');
  return text.length > 70 ? `${text.slice(0, 69)}…` : text;
}

export function formatList(requests: readonly RequestJson[]): string {
  if (requests.length === 0) return 'no approval requests\n';
  const rows = [
    ['ID', 'STATUS', 'MODE', 'REQUESTED', 'BY', 'CONNECTION', 'WHAT'],
    ...requests.map((r) => [
      r.id,
      r.status,
      r.mode,
      t(r.createdAt),
      `${p(r.requester.subject)}${r.requester.agent ? ' (agent)' : ''}`,
      p(r.connection),
      p(what(r)),
    ]),
  ];
  // The page of each request on its own line under the table: a URL is too long for a column.
  const urls = requests.filter((r) => r.approvalUrl).map((r) => `  ${r.id}  ${p(r.approvalUrl)}`);
  return textTable(rows) + (urls.length ? `\napproval pages:\n${urls.join('\n')}\n` : '');
}

export function formatDetails(d: DetailsJson): string {
  const r = d.request;
  const lines: string[] = [`approval request ${p(r.id)}`];
  const row = (k: string, v: string) => lines.push(`  ${k.padEnd(13)} ${v}`);
  row('status', p(r.status));
  row(
    'mode',
    `${p(r.mode)} (rule ${p(r.ruleName)}${r.policyRuleId ? `, policy rule ${p(r.policyRuleId)}` : ''})`,
  );
  row(
    'requested by',
    `${p(r.requester.subject)} (${p(r.requester.issuer)})${r.requester.agent ? ' agent' : ''}`,
  );
  row('connection', p(r.connection));
  row('requested', t(r.createdAt));
  if (r.status === 'pending') row('expires', t(r.expiresAt));
  if (r.decidedAt)
    row(
      'decided',
      `${t(r.decidedAt)}${r.decidedBy ? ` by ${p(r.decidedBy)}` : ''}${r.decisionComment ? `: ${p(r.decisionComment)}` : ''}`,
    );
  if (r.validUntil)
    row(
      'valid until',
      `${t(r.validUntil)}${r.usesAllowed !== undefined ? ` (${r.uses}/${r.usesAllowed} runs used)` : ''}`,
    );
  if (r.kind === 'access')
    row('grant', `${p(r.grantName)} for ${Math.round((r.requestedDurationMs ?? 0) / 60_000)}m`);
  row('reason', r.reason ? p(r.reason) : '(none given)');
  if (d.approvalUrl) row('page', p(d.approvalUrl));
  if (r.statement) {
    // SQL statements carry risk categories; an HTTP/AWS request has its operation instead.
    const cats = r.statement.categories.length ? `; ${r.statement.categories.map(p).join(', ')}` : '';
    const noun = /^[A-Z]+ \//.test(r.statement.text) ? 'request' : 'statement';
    lines.push(`  ${noun} (${p(r.statement.kind)}${cats}), sha256 ${p(r.statement.hash)}`);
    lines.push(
      ...printable(r.statement.text, true)
        .split('\n')
        .map((l) => `      ${l}`),
    );
    if (r.statement.params?.length)
      lines.push(
        noun === 'request'
          ? `      resource: ${p(r.statement.params.join(', '))}`
          : `      params: ${p(JSON.stringify(r.statement.params))}`,
      );
    const bound = boundText(r);
    if (bound) lines.push(`      ${p(bound)}`);
  }
  if (r.preview) {
    lines.push('  impact preview');
    if (r.preview.rowCount !== undefined)
      lines.push(`      rows matched by its WHERE: ${r.preview.rowCount}`);
    for (const l of r.preview.plan ?? []) lines.push(`      ${p(l)}`);
    for (const o of r.preview.objects ?? []) {
      lines.push(
        `      ${p(o.type)} ${p(o.name)}: ${o.exists ? `${o.bytes ?? '?'} bytes${o.estimatedRows !== undefined ? `, ~${o.estimatedRows} rows` : ''}` : 'does not exist'}`,
      );
    }
    for (const n of r.preview.notes) lines.push(`      (${p(n)})`);
  }
  if (d.votes.length) {
    lines.push('  votes');
    for (const v of d.votes)
      lines.push(
        `      ${t(v.at)}  ${p(v.vote)}  ${p(v.approver.subject)} (${p(v.approver.issuer)}, ${p(v.via)})${v.comment ? `: ${p(v.comment)}` : ''}`,
      );
  }
  lines.push('  history');
  for (const e of d.history) lines.push(`      ${t(e.at)}  ${p(e.type)}${e.actor ? `  ${p(e.actor)}` : ''}`);
  return lines.join('\n') + '\n';
}

function parseUses(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 1000)
    throw new InvalidArgumentError('expected a whole number from 1 to 1000');
  return Number(v);
}

function parseFor(v: string): string {
  if (!/^\d+(s|m|h|d)$/.test(v)) throw new InvalidArgumentError('expected a duration such as 30m or 2h');
  toMs(v);
  return v;
}

export function withGatewayOptions(cmd: Command): Command {
  return cmd
    .option('--gateway <url>', 'gateway HTTP URL (default $GATEHOUSE_HTTP_URL)')
    .option('--token <token>', 'your Gatehouse token (default $GATEHOUSE_TOKEN)');
}

export function approvalsCommand(deps: ApprovalsCommandDeps = {}): Command {
  const io = deps.io ?? processIo();
  const cmd = withGatewayOptions(
    new Command('approvals').description(
      'list, show, approve and deny approval requests (through the gateway HTTP API)',
    ),
  );

  const run = async (sub: Command, fn: (client: ReturnType<typeof gatewayClient>) => Promise<void>) => {
    const opts = sub.optsWithGlobals<GatewayOptions>();
    try {
      await fn(gatewayClient(opts, io, deps.fetch));
    } catch (e) {
      const code =
        e instanceof GatewayHttpError && (e.status === 403 || e.status === 404 || e.status === 409) ? 1 : 2;
      sub.error(`error: ${e instanceof Error ? e.message : String(e)}`, {
        exitCode: code,
        code: 'gatehouse.approvals',
      });
    }
  };

  cmd
    .command('list')
    .description('requests you may see (as requester, approver or admin), newest first')
    .option('--status <status>', 'pending (default), approved, denied, expired, withdrawn or all', 'pending')
    .option('--mine', 'only your own requests')
    .option('--json', 'print JSON')
    .action(async (opts: { status: string; mine?: boolean; json?: boolean }, sub: Command) =>
      run(sub, async (client) => {
        const q = new URLSearchParams({ status: opts.status, ...(opts.mine ? { mine: '1' } : {}) });
        const out = await client.call<{ requests: RequestJson[] }>('GET', `/api/approvals?${q.toString()}`);
        io.stdout.write(opts.json ? `${JSON.stringify(out.requests, null, 2)}\n` : formatList(out.requests));
      }),
    );

  cmd
    .command('show <id>')
    .description('one request: statement, principal, reason, impact preview, votes and history')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { json?: boolean }, sub: Command) =>
      run(sub, async (client) => {
        const d = await client.call<DetailsJson>('GET', `/api/approvals/${encodeURIComponent(id)}`);
        io.stdout.write(opts.json ? `${JSON.stringify(d, null, 2)}\n` : formatDetails(d));
      }),
    );

  const decide = (vote: 'approve' | 'deny') => {
    const c = cmd
      .command(`${vote} <id>`)
      .description(
        vote === 'approve' ? 'approve a request (your vote; the rule may need more)' : 'deny a request',
      )
      .option('--comment <text>', 'why (shown to the requester and recorded)');
    if (vote === 'approve') {
      c.option('--uses <n>', 'defer mode: how many runs the approval allows (default 1)', parseUses).option(
        '--for <duration>',
        'defer mode: the approval is usable for this long (e.g. 30m)',
        parseFor,
      );
    }
    c.option('--json', 'print JSON').action(
      async (
        id: string,
        opts: { comment?: string; uses?: number; for?: string; json?: boolean },
        sub: Command,
      ) =>
        run(sub, async (client) => {
          const d = await client.call<DetailsJson>(
            'POST',
            `/api/approvals/${encodeURIComponent(id)}/${vote}`,
            {
              ...(opts.comment !== undefined ? { comment: opts.comment } : {}),
              ...(opts.uses !== undefined ? { uses: opts.uses } : {}),
              ...(opts.for !== undefined ? { for: opts.for } : {}),
            },
          );
          if (opts.json) io.stdout.write(`${JSON.stringify(d, null, 2)}\n`);
          else {
            const r = d.request;
            io.stdout.write(
              r.status === 'pending'
                ? `your ${vote === 'approve' ? 'approval' : 'denial'} of ${p(r.id)} was recorded; the request is still pending (rule ${p(r.ruleName)} needs more approvals)\n`
                : `request ${p(r.id)} is ${p(r.status)}${r.decidedBy ? ` (by ${p(r.decidedBy)})` : ''}\n`,
            );
          }
        }),
    );
  };
  decide('approve');
  decide('deny');
  return cmd;
}
