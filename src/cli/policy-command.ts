// `gatehouse policy test|explain`: decide SQL against a config's policies without a running gateway,
// so teams can test a policy in CI. Exit codes: 0 ok, 1 an expectation failed, 2 usage or config error.

import { readFile } from 'node:fs/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Identity } from '../core/identity.js';
import type { ShellClassification } from '../core/shell-command.js';
import type { SqlClassifier } from '../core/sql-statement.js';
import type { PolicyConfig, PolicyDefaultsConfig } from '../config/policy-schema.js';
import { createPolicyDecider, type ExplainingPolicyDecider } from '../policy/policy-decider.js';
import { formatDecision, formatTrace } from '../policy/format-trace.js';
import {
  checkExpectations,
  checkText,
  statementsOf,
  type CheckReport,
  type PolicyExpectation,
} from '../policy/policy-check.js';
import { processIo, type CliIo } from './cli-io.js';
import { sqlAction } from '../core/action.js';

/** The parts of a loaded gatehouse.yaml these commands read (GatehouseConfig satisfies it). */
export interface PolicyCommandConfig {
  readonly policies: readonly PolicyConfig[];
  readonly policyDefaults?: PolicyDefaultsConfig;
  readonly connections?: Readonly<Record<string, unknown>>;
}

export interface PolicyCommandDeps {
  loadConfig(path: string): Promise<PolicyCommandConfig>;
  createClassifier(): Promise<SqlClassifier> | SqlClassifier;
  /** The shell-command classifier for Kubernetes exec commands (`--kube`); commands are `unknown` without it. */
  createCommandClassifier?(): Promise<(argv: readonly string[]) => readonly string[]>;
  /** The shell-command classifier for SSH command lines (`--ssh`); required for `--ssh`. */
  createShellClassifier?(): Promise<(line: string) => ShellClassification>;
  readonly io?: CliIo;
}

const EXIT = { mismatch: 1, usage: 2 } as const;
const MAX_INPUT_BYTES = 32 * 1024 * 1024;

/**
 * Commander reports its own usage errors (unknown option, missing argument) with exit code 1, which
 * here means "an expectation failed"; this subclass turns them into 2 so CI can tell the two apart.
 */
class PolicyCliCommand extends Command {
  override createCommand(name?: string): Command {
    return new PolicyCliCommand(name);
  }
  override error(message: string, errorOptions?: { code?: string; exitCode?: number }): never {
    const code = errorOptions?.code;
    const exitCode =
      code === undefined || code.startsWith('commander.')
        ? EXIT.usage
        : (errorOptions?.exitCode ?? EXIT.usage);
    return super.error(message, { ...(code === undefined ? {} : { code }), exitCode });
  }
}

/** The `--expect` file's schema; zod is loaded only when a command reads one (fast CLI start). */
async function expectationsSchema() {
  const { z } = await import('zod');
  const expectationSchema = z.strictObject({
    sql: z.string().min(1),
    decision: z.enum(['allow', 'deny', 'review']),
    rule: z.string().min(1).optional(),
    as: z
      .strictObject({
        subject: z.string().min(1).optional(),
        groups: z.array(z.string()).optional(),
        agent: z.boolean().optional(),
        tokenKind: z.enum(['oidc', 'service']).optional(),
      })
      .optional(),
    connection: z.string().min(1).optional(),
  });
  return { z, schema: z.array(expectationSchema) };
}

interface PrincipalOptions {
  as?: string;
  groups?: string[];
  agent?: boolean;
  tokenKind?: Identity['tokenKind'];
  connection?: string;
  json?: boolean;
}

interface TestOptions extends PrincipalOptions {
  file?: string;
  expect?: string;
  kube?: boolean;
  ssh?: boolean;
}

function parseGroups(v: string): string[] {
  return v
    .split(',')
    .map((g) => g.trim())
    .filter((g) => g !== '');
}

function parseTokenKind(v: string): Identity['tokenKind'] {
  if (v !== 'oidc' && v !== 'service') throw new InvalidArgumentError('expected oidc or service');
  return v;
}

function addPrincipalOptions(cmd: Command): Command {
  return cmd
    .option('--as <subject>', 'subject (token `sub`) to decide for', 'policy-test')
    .option('--groups <a,b>', 'groups of the principal, comma-separated', parseGroups)
    .option('--agent', 'the principal is an AI agent')
    .addOption(new Option('--token-kind <kind>', 'token kind: oidc or service').argParser(parseTokenKind))
    .option('--connection <name>', 'connection to decide on (default: the first in the config)')
    .option('--json', 'print JSON');
}

function identityOf(o: PrincipalOptions): Identity {
  return {
    subject: o.as ?? 'policy-test',
    groups: o.groups ?? [],
    tokenKind: o.tokenKind ?? (o.agent === true ? 'service' : 'oidc'),
    agent: o.agent === true,
    issuer: 'gatehouse-policy-test',
  };
}

async function readAll(stdin: CliIo['stdin']): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of stdin) {
    const b = typeof c === 'string' ? Buffer.from(c, 'utf8') : Buffer.from(c);
    size += b.length;
    if (size > MAX_INPUT_BYTES) throw new Error(`input is larger than ${MAX_INPUT_BYTES} bytes`);
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export function policyCommand(deps: PolicyCommandDeps): Command {
  const io = deps.io ?? processIo();
  const cmd: Command = new PolicyCliCommand('policy')
    .description('test and explain policy decisions for SQL without a running gateway')
    .option(
      '-c, --config <file>',
      'gatehouse.yaml to read policies from (default: $GATEHOUSE_CONFIG or ./gatehouse.yaml)',
    );

  /** Loads config, decider and classifier; any failure is a usage/config error (exit 2). */
  async function prepare(sub: Command, o: PrincipalOptions) {
    const { config: explicit } = sub.optsWithGlobals<{ config?: string }>();
    const file = explicit ?? io.env.GATEHOUSE_CONFIG ?? 'gatehouse.yaml';
    let config: PolicyCommandConfig;
    let decider: ExplainingPolicyDecider;
    let classifier: SqlClassifier;
    try {
      config = await deps.loadConfig(file);
      decider = createPolicyDecider({
        policies: config.policies,
        ...(config.policyDefaults === undefined ? {} : { defaults: config.policyDefaults }),
      });
    } catch (e) {
      return sub.error(`error: ${messageOf(e)}`, { code: 'gatehouse.policy.config', exitCode: EXIT.usage });
    }
    try {
      classifier = await deps.createClassifier();
    } catch (e) {
      return sub.error(`error: cannot load the SQL classifier: ${messageOf(e)}`, {
        code: 'gatehouse.policy.classifier',
        exitCode: EXIT.usage,
      });
    }
    const configured = Object.keys(config.connections ?? {});
    const fromPolicies = config.policies.flatMap((p) => p.connections).filter((c) => c !== '*');
    const connection = o.connection ?? configured[0] ?? fromPolicies[0];
    if (connection === undefined) {
      return sub.error(`error: ${file} names no connection; pass --connection <name>`, {
        code: 'gatehouse.policy.connection',
        exitCode: EXIT.usage,
      });
    }
    if (configured.length > 0 && !configured.includes(connection)) {
      return sub.error(
        `error: no connection ${connection} in ${file} (configured: ${configured.join(', ')})`,
        {
          code: 'gatehouse.policy.connection',
          exitCode: EXIT.usage,
        },
      );
    }
    return { decider, classifier, connection, identity: identityOf(o) };
  }

  /** The text to decide: `file`, or stdin when it is absent or `-`. */
  async function readInput(file: string | undefined, sub: Command, what: string): Promise<string> {
    try {
      if (file !== undefined && file !== '-') return await readFile(file, 'utf8');
      if (io.stdin.isTTY === true) io.stderr.write(`Reading ${what} from stdin; end with Ctrl-D.\n`);
      return await readAll(io.stdin);
    } catch (e) {
      return sub.error(`error: ${messageOf(e)}`, { code: 'gatehouse.policy.input', exitCode: EXIT.usage });
    }
  }

  addPrincipalOptions(
    cmd
      .command('test')
      .description(
        'decide every statement of a file (or stdin) and print its categories, decision, rule and message; ' +
          'with --expect, exit 1 when a decision differs from the expectation file',
      ),
  )
    .option(
      '--file <file>',
      'SQL to decide ("-" for stdin); default: the expectation file\'s sql, else stdin',
    )
    .option(
      '--expect <file>',
      'YAML or JSON list of {sql, decision: allow|deny|review, rule?, as?, connection?}',
    )
    .option(
      '--kube',
      'the input is kubectl-shaped requests, one per line ("delete namespace prod", "exec web -- ls /", "GET /api/v1/pods")',
    )
    .option(
      '--ssh',
      'the input is shell command lines, one per line, decided as ssh exec requests ("df -h", "rm -rf /srv/data")',
    )
    .action(async (o: TestOptions, sub: Command) => {
      const ctx = await prepare(sub, o);
      if (o.ssh === true) {
        if (o.kube === true || o.expect !== undefined)
          return sub.error('error: --ssh reads command lines; it does not combine with --kube or --expect', {
            code: 'gatehouse.policy.usage',
            exitCode: EXIT.usage,
          });
        const text = await readInput(o.file, sub, 'command lines');
        if (!deps.createShellClassifier)
          return sub.error('error: no shell classifier is available', {
            code: 'gatehouse.policy.classifier',
            exitCode: EXIT.usage,
          });
        const { decideSshLines, formatSshResults } = await import('./policy-ssh.js');
        const results = decideSshLines(
          ctx.decider,
          ctx.identity,
          ctx.connection,
          text,
          await deps.createShellClassifier(),
        );
        io.stdout.write(
          o.json === true
            ? `${JSON.stringify(results, null, 2)}\n`
            : formatSshResults(results, ctx.identity.subject, ctx.connection),
        );
        return;
      }
      if (o.kube === true) {
        const text = await readInput(o.file, sub, 'requests');
        const { decideKubeLines, formatKubeResults } = await import('./policy-kube.js');
        const results = decideKubeLines(
          ctx.decider,
          ctx.identity,
          ctx.connection,
          text,
          await deps.createCommandClassifier?.(),
        );
        io.stdout.write(
          o.json === true
            ? `${JSON.stringify(results, null, 2)}\n`
            : formatKubeResults(results, ctx.identity.subject, ctx.connection),
        );
        return;
      }
      let expectations: PolicyExpectation[] = [];
      if (o.expect !== undefined) {
        const { z, schema } = await expectationsSchema();
        const { parse: parseYaml } = await import('yaml');
        try {
          expectations = schema.parse(parseYaml(await readFile(o.expect, 'utf8')));
        } catch (e) {
          const detail = e instanceof z.ZodError ? z.prettifyError(e) : messageOf(e);
          return sub.error(`error: ${o.expect}: not a list of expectations: ${detail}`, {
            code: 'gatehouse.policy.expect',
            exitCode: EXIT.usage,
          });
        }
      }
      let report: CheckReport;
      if (o.file === undefined && o.expect !== undefined) {
        report = checkExpectations(ctx.decider, ctx.classifier, expectations, ctx.identity, ctx.connection);
      } else {
        if (expectations.some((e) => e.as !== undefined || e.connection !== undefined)) {
          return sub.error(
            'error: `as` and `connection` in expectations apply only when the SQL comes from the expectation file (omit --file)',
            {
              code: 'gatehouse.policy.expect',
              exitCode: EXIT.usage,
            },
          );
        }
        const text = await readInput(o.file, sub, 'SQL');
        report = checkText(ctx.decider, ctx.classifier, text, ctx.identity, ctx.connection, expectations);
      }
      io.stdout.write(
        o.json === true
          ? `${JSON.stringify(reportJson(report, ctx.decider.version), null, 2)}\n`
          : formatReport(report),
      );
      if (report.failed > 0) {
        sub.error(`${report.failed} expectation(s) not met`, {
          code: 'gatehouse.policy.mismatch',
          exitCode: EXIT.mismatch,
        });
      }
    });

  addPrincipalOptions(
    cmd
      .command('explain')
      .description(
        'show the rule trace for each statement of <sql>: every policy, every rule, and why it matched or not',
      )
      .argument('<sql>', 'the SQL text (quote it)'),
  ).action(async (sql: string, o: PrincipalOptions, sub: Command) => {
    const ctx = await prepare(sub, o);
    const traces = statementsOf(ctx.classifier, sql).map((statement) =>
      ctx.decider.explain(
        ctx.identity,
        sqlAction({
          connection: ctx.connection,
          via: 'simple-query',
          statement,
        }),
      ),
    );
    if (o.json === true) io.stdout.write(`${JSON.stringify(traces, null, 2)}\n`);
    else
      io.stdout.write(
        traces.length === 0 ? 'no statements\n' : `${traces.map(formatTrace).join('\n\n----\n\n')}\n`,
      );
  });

  return cmd;
}

function formatReport(report: CheckReport): string {
  const lines: string[] = [];
  report.results.forEach((r, i) => {
    lines.push(`[${i + 1}] ${r.sql.replace(/\s+/g, ' ').trim()}`);
    lines.push(`    as:         ${r.subject} on ${r.connection}`);
    lines.push(`    kind:       ${r.kind}`);
    lines.push(`    categories: ${r.categories.join(', ') || '-'}`);
    lines.push(`    decision:   ${formatDecision(r.decision)}`);
    if (r.decision.effect !== 'allow') lines.push(`    message:    ${r.decision.message}`);
    if (r.expected !== undefined) {
      const want = `${r.expected.decision}${r.expected.rule === undefined ? '' : ` (rule ${r.expected.rule})`}`;
      lines.push(`    expected:   ${want}  ${r.ok === true ? 'ok' : 'MISMATCH'}`);
    }
    lines.push('');
  });
  for (const e of report.unmatched) {
    lines.push(
      `MISSING: no statement in the input matches the expectation "${e.sql.replace(/\s+/g, ' ').trim()}"`,
    );
  }
  const count = (effect: string) => report.results.filter((r) => r.decision.effect === effect).length;
  const checkedCount =
    report.results.filter((r) => r.expected !== undefined).length + report.unmatched.length;
  lines.push(
    `${report.results.length} statement(s): ${count('allow')} allow, ${count('review')} review, ${count('deny')} deny` +
      (checkedCount > 0 ? `; ${checkedCount} expectation(s), ${report.failed} not met` : ''),
  );
  return `${lines.join('\n')}\n`;
}

function reportJson(report: CheckReport, version: string): unknown {
  return {
    policyVersion: version,
    results: report.results.map((r) => ({
      sql: r.sql,
      subject: r.subject,
      connection: r.connection,
      kind: r.kind,
      categories: r.categories,
      decision: r.decision.effect,
      rule: r.decision.ruleId,
      ...(r.decision.effect === 'allow' ? {} : { message: r.decision.message }),
      ...(r.decision.effect === 'deny' ? {} : { obligations: r.decision.obligations }),
      ...(r.decision.effect === 'review'
        ? { mode: r.decision.mode, approvalRule: r.decision.approvalRule }
        : {}),
      ...(r.expected === undefined ? {} : { expected: r.expected, ok: r.ok }),
    })),
    unmatched: report.unmatched.map((e) => e.sql),
    failed: report.failed,
  };
}
