// SSH rule matchers (docs/ssh.md): the request (exec, shell, line, sftp, subsystem, port-forward), the
// command and its shell risk categories (shared with Kubernetes exec: command-match.ts), the terminal,
// subsystem names and port-forward destinations. Compiled once per policy snapshot; pure matching.

import type { SshAction } from '../core/action.js';
import type { RuleMatchConfig } from '../config/policy-schema.js';
import {
  commandMismatch,
  compileCommandMatch,
  compilePorts,
  portsMismatch,
  type CommandMatch,
  type PortRanges,
} from './command-match.js';
import { compileGlob, type Glob } from './glob.js';

export interface SshMatch extends CommandMatch {
  readonly requests: ReadonlySet<string> | undefined;
  readonly hosts: readonly Glob[] | undefined;
  readonly subsystems: readonly Glob[] | undefined;
  readonly tty: boolean | undefined;
  readonly ports: PortRanges | undefined;
}

/** Fields only SSH requests have (a rule naming one matches SSH requests only). */
export function hasSshOnlyFields(m: RuleMatchConfig): boolean {
  return m.sshRequests !== undefined || m.hosts !== undefined || m.subsystems !== undefined;
}

export function compileSshMatch(m: RuleMatchConfig): SshMatch {
  return {
    ...compileCommandMatch(m),
    requests: m.sshRequests === undefined ? undefined : new Set(m.sshRequests),
    hosts: m.hosts?.map((h) => compileGlob(h.toLowerCase())),
    subsystems: m.subsystems?.map(compileGlob),
    tty: m.tty,
    ports: compilePorts(m.ports),
  };
}

const RUNS_COMMAND = new Set(['exec', 'line']);

/** Why a rule does not match the SSH request, or undefined when it does (`grant`: an allow rule). */
export function sshMismatch(k: SshMatch, a: SshAction, grant: boolean): string | undefined {
  if (k.requests !== undefined && !k.requests.has(a.request)) return `request ${a.request} is not listed`;
  if (k.commands !== undefined || k.commandCategories !== undefined) {
    // An sftp request decided inside the subsystem (`open-write ~/x`) has a text and categories too;
    // the subsystem itself has neither.
    const text = RUNS_COMMAND.has(a.request)
      ? (a.command ?? '')
      : a.request === 'sftp'
        ? a.command
        : undefined;
    const why = commandMismatch(k, text, a.commandCategories, grant);
    if (why !== undefined) return why;
  }
  if (k.tty !== undefined) {
    if (a.request !== 'exec' && a.request !== 'shell') return 'the request has no terminal setting';
    if (Boolean(a.tty) !== k.tty) return k.tty ? 'the session has no terminal' : 'the session has a terminal';
  }
  if (k.subsystems !== undefined) {
    if (a.subsystem === undefined) return 'the request names no subsystem';
    if (!k.subsystems.some((g) => g(a.subsystem!.toLowerCase())))
      return `subsystem ${a.subsystem} is not listed`;
  }
  if (k.hosts !== undefined) {
    if (a.destination === undefined) return 'the request names no destination host';
    const h = a.destination.host.toLowerCase();
    if (!k.hosts.some((g) => g(h))) return `host ${a.destination.host} is not listed`;
  }
  if (k.ports !== undefined) {
    const why = portsMismatch(k.ports, a.destination ? [a.destination.port] : [], grant);
    if (why !== undefined) return why;
  }
  return undefined;
}

/** The request in words for messages: `exec: rm -rf /srv/data`, `port-forward to db:5432`. */
export function sshWhat(a: SshAction): string {
  switch (a.request) {
    case 'exec':
      return `exec: ${a.command ?? ''}`;
    case 'line':
      return `shell line: ${a.command ?? ''}`;
    case 'shell':
      return a.tty ? 'an interactive shell' : 'a shell without a terminal';
    case 'sftp':
      return 'sftp';
    case 'subsystem':
      return `subsystem ${a.subsystem ?? ''}`;
    case 'port-forward':
      return `port-forward to ${a.destination?.host ?? ''}:${a.destination?.port ?? 0}`;
  }
}
