// Loads gatehouse.yaml: YAML → ${ENV} interpolation → zod validation. Every error names the file,
// the line and the path of the bad field, and what was expected. Never prints secret values.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';
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

function lineOf(doc: Document, lc: LineCounter, p: readonly PropertyKey[]): number | undefined {
  for (let n = p.length; n >= 0; n--) {
    const node = doc.getIn(p.slice(0, n) as unknown[], true) as Node | undefined;
    if (node && typeof node === 'object' && 'range' in node && node.range)
      return lc.linePos(node.range[0]).line;
  }
  return undefined;
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
    for (const issue of result.error.issues) {
      const line = lineOf(doc, lc, issue.path);
      problems.push(`${line ? `line ${line}, ` : ''}${formatPath(issue.path)}: ${issue.message}`);
    }
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
