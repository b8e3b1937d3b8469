// `gatehouse mcp --gateway URL`: an MCP server on stdio that relays to a gateway's /mcp endpoint, for
// clients that only speak stdio. The token comes from the environment, never from the command line
// (where `ps` would show it); nothing but MCP messages is written to stdout.

import { Command } from 'commander';
import { TOKEN_ENV } from '../mcp/resource-metadata.js';
import { processIo, type CliIo } from './cli-io.js';

export interface McpCommandDeps {
  readonly io?: CliIo;
}

export function mcpCommand(deps: McpCommandDeps = {}): Command {
  return new Command('mcp')
    .description(`serve MCP on stdio, relaying to a gateway's /mcp endpoint with the token in $${TOKEN_ENV}`)
    .requiredOption(
      '--gateway <url>',
      "the gateway's HTTP URL, e.g. https://gatehouse.example.com (or its /mcp URL)",
    )
    .addHelpText(
      'after',
      `\nEnvironment:\n  ${TOKEN_ENV}  your Gatehouse token (OIDC access token or service token), sent as a bearer token\n\n` +
        'Example (Claude Code):\n  claude mcp add gatehouse --env GATEHOUSE_TOKEN=$TOKEN -- gatehouse mcp --gateway https://gatehouse.example.com\n',
    )
    .action(async (opts: { gateway: string }) => {
      const io = deps.io ?? processIo();
      const token = io.env[TOKEN_ENV]?.trim();
      if (!token)
        throw new Error(`set ${TOKEN_ENV} to your Gatehouse token (it is not accepted on the command line)`);
      // Loaded on use: the MCP SDK is not needed to start the other commands.
      const { runStdioRelay } = await import('../mcp/stdio-relay.js');
      await runStdioRelay({ gateway: opts.gateway, token, log: (line) => io.stderr.write(`${line}\n`) });
    });
}
