// HTTP path globs for policy rules: `*` is one segment (or part of one), `**` any number of segments.
// Matching only; the HTTP engine is responsible for decoding the request target it passes in.

import { compileGlob, type Glob } from './glob.js';

export type PathPattern = (path: string) => boolean;

type Segment = { readonly any: true } | { readonly any: false; readonly glob: Glob };

/**
 * Splits a path into segments, dropping the query string, empty segments and `.`, and resolving `..`,
 * so `/a//b/../admin` is matched as `/a/admin` and cannot slip past a rule on `/a/admin/**`.
 */
export function pathSegments(path: string): string[] {
  const q = path.search(/[?#]/);
  const bare = q < 0 ? path : path.slice(0, q);
  const out: string[] = [];
  for (const seg of bare.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg.toLowerCase());
  }
  return out;
}

export function compilePathPattern(pattern: string): PathPattern {
  const segs: Segment[] = pathSegments(pattern).map((s) =>
    s === '**' ? { any: true } : { any: false, glob: compileGlob(s) },
  );
  return (path) => matchSegments(segs, 0, pathSegments(path), 0);
}

function matchSegments(
  pattern: readonly Segment[],
  pi: number,
  path: readonly string[],
  si: number,
): boolean {
  if (pi === pattern.length) return si === path.length;
  const seg = pattern[pi]!;
  if (seg.any) {
    for (let k = si; k <= path.length; k++) if (matchSegments(pattern, pi + 1, path, k)) return true;
    return false;
  }
  if (si >= path.length) return false;
  return seg.glob(path[si]!) && matchSegments(pattern, pi + 1, path, si + 1);
}
