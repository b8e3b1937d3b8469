// The `gatehouse` command. Each subcommand lives in its own file; this file only assembles them and
// opens the config/store for the ones that need it.

import { Command } from 'commander';
import path from 'node:path';
import { createLogger } from '../logger.js';
import { accessCommand } from './access-command.js';
import { agentCommand } from './agent-command.js';
import { approvalsCommand } from './approvals-command.js';
import { configCommand } from './config-command.js';
import { gatehouseVersion } from '../version.js';
import { loadCliConfig } from './config-file.js';
import { demoCommand } from './demo-command.js';
import { kubeCommand, kubeconfigCommand } from './kube-command.js';
import { sshCommand } from './ssh-command.js';
import { mcpCommand } from './mcp-command.js';
import { policyCommand } from './policy-command.js';
import { secretCommand } from './secret-command.js';
import { sessionsCommand } from './sessions-command.js';
import { claudeCodeCommand } from './claude-code-command.js';
import { exitQuietlyOnClosedPipe } from './cli-io.js';
import type { RecordingAccess } from './recordings-command.js';
import { recordingsCommand } from './recordings-command.js';
import { startCommand } from './start-command.js';
import { tokenCommand } from './token-command.js';

// Heavy modules (the store with kysely and drivers, identity with jose, the recording blob stores)
// are imported when a command needs them, so `--help` and light commands start quickly.
async function openStoreFor(explicit?: string) {
  const loaded = await loadCliConfig(explicit);
  const { config, baseDir } = loaded;
  const { openStore } = await import('../store/index.js');
  const { resolveSecret } = await import('../secrets/secret-ref.js');
  const store = await openStore(config.store, config.dataDir, async (ref) =>
    (await resolveSecret('file' in ref ? { file: path.resolve(baseDir, ref.file) } : ref)).reveal(),
  );
  return { loaded, store };
}

export function buildCli(): Command {
  const program = new Command('gatehouse')
    .description('Gatehouse: an identity-aware gateway between AI agents and production resources')
    .version(gatehouseVersion(), '-V, --version', 'print the Gatehouse version')
    .option('-c, --config <file>', 'gatehouse.yaml (default: $GATEHOUSE_CONFIG or ./gatehouse.yaml)')
    .showHelpAfterError();

  program.addCommand(demoCommand());
  program.addCommand(startCommand());
  program.addCommand(configCommand());
  program.addCommand(
    tokenCommand({
      async open(explicit) {
        const { loaded, store } = await openStoreFor(explicit);
        const { createAuthenticator } = await import('../identity/index.js');
        const built = await createAuthenticator(loaded.config.identity, {
          dataDir: loaded.config.dataDir,
          tokenStore: store,
          logger: createLogger('warn'),
        });
        if (!built.issuer) {
          await store.close();
          throw new Error(
            'service tokens are disabled in this configuration (identity.serviceTokens.enabled)',
          );
        }
        return { issuer: built.issuer, tokenStore: store, close: () => store.close() };
      },
    }),
  );
  program.addCommand(
    agentCommand({
      async openAdmin(explicit) {
        const { loaded, store } = await openStoreFor(explicit);
        const agents = loaded.config.agents;
        if (!agents) {
          await store.close();
          throw new Error('this configuration has no agents: section (docs/agent.md)');
        }
        const { AgentRegistry, listenerCredentials } = await import('../tunnel/gateway/index.js');
        const { toMs } = await import('../config/duration.js');
        return {
          registry: new AgentRegistry(store.getKysely()),
          pin: async () => (await listenerCredentials(agents, loaded.config.dataDir, loaded.baseDir)).pin,
          joinTokenTtlMs: toMs(agents.joinTokenTtl),
          heartbeatTimeoutMs: toMs(agents.heartbeatTimeout),
          close: () => store.close(),
        };
      },
    }),
  );
  program.addCommand(secretCommand());
  program.addCommand(approvalsCommand());
  program.addCommand(accessCommand());
  program.addCommand(mcpCommand());
  program.addCommand(kubeconfigCommand({ loadConfig: (explicit) => loadCliConfig(explicit) }));
  program.addCommand(kubeCommand());
  program.addCommand(
    sshCommand({
      loadConfig: (explicit) => loadCliConfig(explicit),
      async openKeys(explicit) {
        const { store } = await openStoreFor(explicit);
        const { SshKeyRegistry } = await import('../engines/ssh/key-registry.js');
        return { registry: new SshKeyRegistry(store.getKysely()), tokens: store, close: () => store.close() };
      },
    }),
  );
  program.addCommand(
    sessionsCommand({
      async openStore(explicit) {
        return (await openStoreFor(explicit)).store;
      },
      openReplay: async (explicit) => (await import('./recording-access.js')).openRecordingAccess(explicit),
    }),
  );
  program.addCommand(
    recordingsCommand({
      open: async (explicit): Promise<RecordingAccess> =>
        (await import('./recording-access.js')).openRecordingAccess(explicit),
      purge: async (...args) => (await import('./recording-access.js')).purgeWith(...args),
    }),
  );
  program.addCommand(
    claudeCodeCommand({
      // Defaults come from the gateway's config when there is one; the command works without it.
      loadConfig: async (explicit) => {
        try {
          return (await loadCliConfig(explicit)).config;
        } catch (e) {
          if (explicit) throw e;
          return undefined;
        }
      },
    }),
  );
  program.addCommand(
    policyCommand({
      loadConfig: async (file: string) => (await loadCliConfig(file)).config,
      createClassifier: async () => (await import('../sql/postgres/index.js')).createPostgresClassifier(),
      createCommandClassifier: async () => {
        const { classifyShellCommand } = await import('../shell/index.js');
        return (argv) => classifyShellCommand({ argv }).categories;
      },
      createShellClassifier: async () => {
        const { classifyShellCommand } = await import('../shell/index.js');
        return (line) => classifyShellCommand({ line });
      },
    }),
  );
  return program;
}

export async function runCli(argv: readonly string[]): Promise<void> {
  exitQuietlyOnClosedPipe(process.stdout);
  await buildCli().parseAsync([...argv], { from: 'user' });
}
