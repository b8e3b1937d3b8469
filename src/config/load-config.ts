// Loads gatehouse.yaml: YAML → ${ENV} interpolation → zod validation. Every error names the file,
// the line and the path of the bad field, what was expected and, for a misspelling, the likely fix.
// Never prints secret values (a value is quoted back only where an enum or discriminator was expected).

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { LineCounter, isMap, isNode, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { closest } from './did-you-mean.js';
import { isSecretRefAt, knownKeysAt } from './schema-walk.js';
import { ERROR_CODES, GatewayError } from '../core/errors.js';
import { configSchema, type GatehouseConfig } from './schema.js';

export interface LoadedConfig {
  readonly config: GatehouseConfig;
  readonly path: string;
  /** Directory of the config file: relative paths in the config resolve against it. */
  readonly baseDir: string;
}

export class ConfigError extends GatewayError {
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(
      ERROR_CODES.CONFIG_INVALID,
      `${file}: invalid configuration\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
  }
}

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** Replaces ${NAME} and ${NAME:-default} in every string scalar; a missing variable is an error. */
function interpolate(
  node: unknown,
  env: NodeJS.ProcessEnv,
  problems: string[],
  where: (n: Node) => string,
): void {
  if (isMap(node)) for (const pair of node.items) interpolate(pair.value, env, problems, where);
  else if (isSeq(node)) for (const item of node.items) interpolate(item, env, problems, where);
  else if (isScalar(node) && typeof node.value === 'string' && node.value.includes('${')) {
    node.value = node.value.replace(ENV_REF, (_m, name: string, fallback: string | undefined) => {
      const v = env[name];
      if (v !== undefined && v !== '') return v;
      if (fallback !== undefined) return fallback;
      problems.push(`${where(node)}: environment variable ${name} is not set`);
      return '';
    });
  }
}

/**
 * The line a path points at: the line of its own key (or list item), or of the deepest part of the
 * path that exists. A missing field is reported at the line of the object that lacks it.
 */
function lineOf(doc: Document, lc: LineCounter, p: readonly PropertyKey[]): number | undefined {
  let node: unknown = doc.contents;
  let line: number | undefined =
    node && isNode(node) && node.range ? lc.linePos(node.range[0]).line : undefined;
  for (const key of p) {
    if (isMap(node)) {
      const pair = node.items.find((it) => isScalar(it.key) && String(it.key.value) === String(key));
      if (!pair) break;
      if (isNode(pair.key) && pair.key.range) line = lc.linePos(pair.key.range[0]).line;
      node = pair.value;
    } else if (isSeq(node) && typeof key === 'number') {
      const item: unknown = node.items[key];
      if (!item) break;
      if (isNode(item) && item.range) line = lc.linePos(item.range[0]).line;
      node = item;
    } else break;
  }
  return line;
}

const SECRET_FORMS =
  'expected a secret reference, one of: {env: VARIABLE} (read from the environment), ' +
  '{file: path/to/file} (relative to this config file), or {encrypted: "gh1:…"} (from ' +
  '`gatehouse secret encrypt`, key in GATEHOUSE_MASTER_KEY); a secret is never written inline';

/** One zod issue as lines a person can act on: where, what, and the likely fix. */
function describeIssue(
  issue: z.core.$ZodIssue,
  raw: unknown,
): { path: readonly PropertyKey[]; message: string }[] {
  const path = issue.path;
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(configSchema, raw, path);
    return issue.keys.map((key) => {
      const guess = closest(key, known);
      return {
        path: [...path, key],
        message: `unknown key "${key}"${guess ? ` — did you mean "${guess}"?` : known.length ? ` (known keys: ${known.join(', ')})` : ''}`,
      };
    });
  }
  if (isSecretRefAt(configSchema, raw, path)) return [{ path, message: SECRET_FORMS }];
  if (issue.code === 'invalid_value') {
    const values = issue.values.map(String);
    const got = valueAt(raw, path);
    const guess = typeof got === 'string' ? closest(got, values) : undefined;
    return [
      {
        path,
        message: `${typeof got === 'string' ? `"${got}" is not` : 'expected'} one of ${values.map((v) => `"${v}"`).join(', ')}${guess ? ` — did you mean "${guess}"?` : ''}`,
      },
    ];
  }
  // zod 4 adds the discriminator's allowed values to the issue (`options`), outside its typings.
  const options = (issue as { options?: unknown }).options;
  if (issue.code === 'invalid_union' && 'discriminator' in issue && Array.isArray(options)) {
    const values = options.map(String);
    const got = valueAt(raw, path);
    if (got === undefined)
      return [{ path, message: `required: one of ${values.map((v) => `"${v}"`).join(', ')}` }];
    const guess = typeof got === 'string' ? closest(got, values) : undefined;
    return [
      {
        path,
        message: `${typeof got === 'string' ? `"${got}"` : 'the value'} is not one of ${values.map((v) => `"${v}"`).join(', ')}${guess ? ` — did you mean "${guess}"?` : ''}`,
      },
    ];
  }
  if (issue.code === 'invalid_type' && valueAt(raw, path) === undefined)
    return [{ path, message: `required field is missing (expected ${issue.expected})` }];
  return [{ path, message: issue.message }];
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let v = raw;
  for (const k of path) v = v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

function formatPath(p: readonly PropertyKey[]): string {
  return (
    p.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? String(k) : `.${String(k)}`)).join('') ||
    '(root)'
  );
}

export function parseConfigText(
  text: string,
  file: string,
  env: NodeJS.ProcessEnv = process.env,
): GatehouseConfig {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const problems: string[] = [];
  for (const err of doc.errors) {
    const line = err.linePos?.[0]?.line ?? lc.linePos(err.pos[0]).line;
    problems.push(`line ${line}: ${err.message.split('\n')[0]}`);
  }
  if (problems.length) throw new ConfigError(file, problems);
  interpolate(doc.contents, env, problems, (n) => `line ${n.range ? lc.linePos(n.range[0]).line : '?'}`);
  if (problems.length) throw new ConfigError(file, problems);
  const raw: unknown = doc.toJS() ?? {};
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const found: { line: number; text: string }[] = [];
    for (const issue of result.error.issues) {
      for (const d of describeIssue(issue, raw)) {
        const line = lineOf(doc, lc, d.path);
        found.push({
          line: line ?? 0,
          text: `${line ? `line ${line}, ` : ''}${formatPath(d.path)}: ${d.message}`,
        });
      }
    }
    // In file order, so the list reads top to bottom like the file.
    found.sort((a, b) => a.line - b.line);
    problems.push(...found.map((f) => f.text));
    throw new ConfigError(file, problems);
  }
  return result.data;
}

export async function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadedConfig> {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch (e) {
    throw new ConfigError(abs, [`cannot read file: ${(e as NodeJS.ErrnoException).code ?? String(e)}`]);
  }
  const config = parseConfigText(text, abs, env);
  const baseDir = path.dirname(abs);
  const dataDir = path.resolve(baseDir, config.dataDir);
  // Paths in the file are relative to the file, so a config works from any working directory.
  const st = config.identity.serviceTokens;
  return {
    config: {
      ...config,
      dataDir,
      store:
        config.store.kind === 'sqlite' && config.store.path
          ? { ...config.store, path: path.resolve(baseDir, config.store.path) }
          : config.store,
      identity: {
        ...config.identity,
        serviceTokens: st.keyFile ? { ...st, keyFile: path.resolve(baseDir, st.keyFile) } : st,
      },
    },
    path: abs,
    baseDir,
  };
}
