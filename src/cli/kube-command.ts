// `gatehouse kubeconfig --connection X`: a kubeconfig whose cluster is Gatehouse's TLS listener and
// whose user is the exec credential plugin `gatehouse kube credentials`, which hands kubectl the caller's
// own Gatehouse token (GATEHOUSE_TOKEN or a token file) as an ExecCredential (client.authentication.
// k8s.io/v1). No cluster credential is ever in either output.

import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { stringify } from 'yaml';
import type { GatehouseConfig } from '../config/schema.js';
import { processIo, type CliIo } from './cli-io.js';

export const EXEC_CREDENTIAL_API = 'client.authentication.k8s.io/v1';

export interface KubeconfigInput {
  readonly connection: string;
  /** https URL of the listener. */
  readonly server: string;
  /** PEM the client trusts for the listener. */
  readonly caPem: string;
  /** The exec plugin: command and its leading arguments (`gatehouse`, or `node …/bin/gatehouse.js`). */
  readonly execCommand: readonly string[];
  readonly tokenFile?: string;
  readonly namespace?: string;
}

export function buildKubeconfig(i: KubeconfigInput): string {
  const [command, ...lead] = i.execCommand;
  const name = i.connection;
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name,
        cluster: {
          server: i.server,
          'certificate-authority-data': Buffer.from(i.caPem, 'utf8').toString('base64'),
        },
      },
    ],
    users: [
      {
        name: `gatehouse-${name}`,
        user: {
          exec: {
            apiVersion: EXEC_CREDENTIAL_API,
            command,
            args: [...lead, 'kube', 'credentials', ...(i.tokenFile ? ['--token-file', i.tokenFile] : [])],
            interactiveMode: 'Never',
            provideClusterInfo: false,
            installHint:
              'Install Gatehouse (npm i -g gatehouse) and set GATEHOUSE_TOKEN to your Gatehouse token.',
          },
        },
      },
    ],
    contexts: [
      {
        name,
        context: {
          cluster: name,
          user: `gatehouse-${name}`,
          ...(i.namespace ? { namespace: i.namespace } : {}),
        },
      },
    ],
    'current-context': name,
  };
  return stringify(config);
}

/** The default token file: $XDG_CONFIG_HOME/gatehouse/token (or ~/.config/gatehouse/token). */
export function defaultTokenFile(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_CONFIG_HOME ?? path.join(os.homedir(), '.config');
  return path.join(base, 'gatehouse', 'token');
}

/** The ExecCredential kubectl reads from the plugin's stdout. */
export function execCredential(token: string): string {
  return `${JSON.stringify({ apiVersion: EXEC_CREDENTIAL_API, kind: 'ExecCredential', status: { token } })}\n`;
}

function listenUrl(listen: string): string {
  const i = listen.lastIndexOf(':');
  let host = listen.slice(0, i);
  if (host === '0.0.0.0' || host === '[::]' || host === '::') host = '127.0.0.1';
  return `https://${host}:${listen.slice(i + 1)}`;
}

export interface KubeCommandDeps {
  loadConfig(explicit?: string): Promise<{ config: GatehouseConfig; baseDir: string }>;
  readonly io?: CliIo;
  /** How this CLI is run, for the exec plugin (default: `gatehouse`). */
  readonly selfCommand?: readonly string[];
}

export function kubeconfigCommand(deps: KubeCommandDeps): Command {
  const io = deps.io ?? processIo();
  return new Command('kubeconfig')
    .description("print a kubeconfig for a kubernetes connection: Gatehouse's listener, your Gatehouse token")
    .requiredOption('--connection <name>', 'the kubernetes connection')
    .option('-c, --config <file>', 'gatehouse.yaml (default: $GATEHOUSE_CONFIG or ./gatehouse.yaml)')
    .option('--server <url>', 'https URL clients reach the listener at (default: publicUrl, else listen)')
    .option('--ca <file>', "PEM to trust for the listener (default: the listener's certificate)")
    .option('--token-file <file>', 'token file the plugin reads when GATEHOUSE_TOKEN is unset')
    .option('--namespace <ns>', 'default namespace of the context')
    .option('--exec-command <cmd...>', 'how kubectl runs Gatehouse (default: gatehouse)')
    .action(
      async (o: {
        connection: string;
        config?: string;
        server?: string;
        ca?: string;
        tokenFile?: string;
        namespace?: string;
        execCommand?: string[];
      }) => {
        const { config, baseDir } = await deps.loadConfig(o.config);
        const conn = config.connections[o.connection];
        if (!conn || conn.protocol !== 'kubernetes') {
          const names = Object.entries(config.connections)
            .filter(([, c]) => c.protocol === 'kubernetes')
            .map(([n]) => n);
          throw new Error(
            `no kubernetes connection ${o.connection} (kubernetes connections: ${names.join(', ') || 'none'})`,
          );
        }
        const caPem = readFileSync(o.ca ?? path.resolve(baseDir, conn.listenTls.cert), 'utf8');
        io.stdout.write(
          buildKubeconfig({
            connection: o.connection,
            server: o.server ?? conn.publicUrl ?? listenUrl(conn.listen),
            caPem,
            execCommand: o.execCommand ?? deps.selfCommand ?? ['gatehouse'],
            ...(o.tokenFile ? { tokenFile: o.tokenFile } : {}),
            ...(o.namespace ? { namespace: o.namespace } : {}),
          }),
        );
      },
    );
}

export function kubeCommand(deps: { readonly io?: CliIo } = {}): Command {
  const io = deps.io ?? processIo();
  const kube = new Command('kube').description('Kubernetes helpers (docs/kubernetes.md)');
  kube
    .command('credentials')
    .description(
      'exec credential plugin for kubectl: prints an ExecCredential with your Gatehouse token (GATEHOUSE_TOKEN, else the token file)',
    )
    .option('--token-file <file>', 'read the token from this file when GATEHOUSE_TOKEN is unset')
    .action((o: { tokenFile?: string }, cmd: Command) => {
      let token = io.env.GATEHOUSE_TOKEN?.trim();
      const file = o.tokenFile ?? defaultTokenFile(io.env);
      if (!token) {
        try {
          token = readFileSync(file, 'utf8').trim();
        } catch {
          token = undefined;
        }
      }
      if (!token) {
        cmd.error(
          `gatehouse kube credentials: no Gatehouse token: set GATEHOUSE_TOKEN or write it to ${file}`,
          { exitCode: 1, code: 'gatehouse.kube.token' },
        );
      }
      io.stdout.write(execCredential(token));
    });
  return kube;
}
