// Matching of exec commands and their shell risk categories, shared by Kubernetes exec and SSH (exec and
// reconstructed shell lines), so `commands:` and `commandCategories:` mean the same on both. Pure.

import { compileGlob, type Glob } from './glob.js';

export interface CommandMatch {
  readonly commands: readonly Glob[] | undefined;
  readonly commandCategories: ReadonlySet<string> | undefined;
}

export function compileCommandMatch(m: {
  readonly commands?: readonly string[] | undefined;
  readonly commandCategories?: readonly string[] | undefined;
}): CommandMatch {
  return {
    commands: m.commands?.map(compileGlob),
    commandCategories: m.commandCategories === undefined ? undefined : new Set(m.commandCategories),
  };
}

/**
 * Why the command does not match, or undefined when it does. `text` is the command as rules see it
 * (lower-cased); `categories` from the shell classifier (none is treated as [unknown]). `grant` is the
 * sense of an allow rule: every category must be listed; deny and review rules fire on any one.
 */
export function commandMismatch(
  k: CommandMatch,
  text: string | undefined,
  categories: readonly string[] | undefined,
  grant: boolean,
): string | undefined {
  if (k.commands !== undefined) {
    if (text === undefined) return 'the request runs no command';
    const t = text.toLowerCase();
    if (!k.commands.some((g) => g(t))) return 'the command is not listed';
  }
  if (k.commandCategories !== undefined) {
    if (text === undefined) return 'the request runs no command';
    const cats = categories && categories.length > 0 ? categories : ['unknown'];
    const listed = cats.filter((c) => k.commandCategories!.has(c));
    if (grant ? listed.length !== cats.length : listed.length === 0)
      return `the command's categories [${cats.join(', ')}] are not ${grant ? 'all ' : ''}listed`;
  }
  return undefined;
}

export type PortRanges = readonly (readonly [number, number])[];

export function compilePorts(ports: readonly (number | string)[] | undefined): PortRanges | undefined {
  return ports?.map((p) => {
    if (typeof p === 'number') return [p, p] as const;
    const [lo, hi] = p.split('-').map(Number) as [number, number];
    return [lo, hi] as const;
  });
}

/** Ports: an allow rule must cover them all, deny and review rules fire on any one. */
export function portsMismatch(
  ranges: PortRanges,
  ports: readonly number[],
  grant: boolean,
): string | undefined {
  if (ports.length === 0) return 'the request names no port';
  const inside = ports.filter((p) => ranges.some(([lo, hi]) => p >= lo && p <= hi));
  if (grant ? inside.length !== ports.length : inside.length === 0)
    return `ports [${ports.join(', ')}] are not ${grant ? 'all ' : ''}listed`;
  return undefined;
}
