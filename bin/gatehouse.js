#!/usr/bin/env node
// Entry point: runs the TypeScript sources through tsx's loader, so `npm ci` needs no build step.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../src/cli/main.ts');
try {
  await runCli(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`gatehouse: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = process.exitCode || 2;
}
