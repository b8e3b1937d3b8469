#!/bin/sh
//bin/true; case " $NODE_OPTIONS " in *semi?space*) exec node "$0" "$@" ;; esac; exec node --max-semi-space-size=32 "$0" "$@"
// The two lines above are a shell script and, to Node, a comment: run as a command (`gatehouse`,
// `npx gatehouse`), the entry point starts Node with V8's young generation allowed to grow to 2 × 32
// MiB (Node 20's default is 2 × 16). A gateway under load keeps each statement's objects alive across
// a few event-loop turns (the record's group commit), and with the smaller young generation more of
// them were copied and promoted by each scavenge: 8–10 % of the gateway's CPU per statement at
// `pgbench -c 8` (docs/performance.md, "A larger young generation"). It grows only as the process
// allocates, so an idle gateway or a CLI command is no larger. A --max-semi-space-size in NODE_OPTIONS
// is left as given. `node bin/gatehouse.js …` runs without it (Node reads no flags from this file).
// Entry point. Runs the compiled JavaScript in dist/ when `npm run build` made it (start-up is about
// twice as fast: no TypeScript to transpile, docs/performance.md); otherwise the TypeScript sources
// through tsx's loader, so `npm ci` alone is enough to run it. In a git checkout, a dist/ older than
// any source file is never run (GATEHOUSE_FROM_SOURCE=1 also forces the sources).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { URL } from 'node:url';

const root = new URL('../', import.meta.url);

/** The build's start time (dist/.built, written before tsc runs), or undefined when there is none. */
function builtAt() {
  try {
    return statSync(new URL('dist/.built', root)).mtimeMs;
  } catch {
    return undefined;
  }
}

/** True when some file under src/ was changed after `since` (a stale dist/ is never run). */
function changedSince(dir, since) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = new URL(e.isDirectory() ? `${e.name}/` : e.name, dir);
    if (e.isDirectory() ? changedSince(p, since) : statSync(p).mtimeMs > since) return true;
  }
  return false;
}

const built = process.env.GATEHOUSE_FROM_SOURCE ? undefined : builtAt();
let runCli;
const current =
  built !== undefined && (!existsSync(new URL('.git', root)) || !changedSince(new URL('src/', root), built));
if (current) {
  ({ runCli } = await import('../dist/cli/main.js'));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ runCli } = await import('../src/cli/main.ts'));
}
try {
  await runCli(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`gatehouse: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = process.exitCode || 2;
}
