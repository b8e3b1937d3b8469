import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfigText } from './load-config.js';

function problems(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfigText(text, '/etc/gatehouse.yaml', env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return [...(e as ConfigError).problems];
  }
  throw new Error('expected the config to be refused');
}

describe('config loading', () => {
  it('accepts a minimal config and fills defaults', () => {
    const c = parseConfigText('connections: {}\n', 'x.yaml', {});
    expect(c.store).toEqual({ kind: 'sqlite' });
    expect(c.identity.serviceTokens.enabled).toBe(true);
    expect(c.policies).toEqual([]);
  });

  it('names the line and the path of a bad field, and what was expected', () => {
    const text = [
      'listeners:',
      '  postgres:',
      '    address: 127.0.0.1:15432',
      '    authTimeout: soon',
      'connections: {}',
      '',
    ].join('\n');
    const [p] = problems(text);
    expect(p).toMatch(/^line 4, listeners\.postgres\.authTimeout: /);
  });

  it('refuses unknown fields (typos) with their location', () => {
    const text = [
      'connections:',
      '  prod:',
      '    protocol: postgres',
      '    upstream:',
      '      host: db',
      '      database: app',
      '      user: gh',
      '      pasword: { env: X }',
      '',
    ].join('\n');
    const all = problems(text).join('\n');
    expect(all).toMatch(/line \d+, connections\.prod\.upstream/);
    expect(all).toMatch(/pasword/);
  });

  it('interpolates ${ENV} and ${ENV:-default}, and names a missing variable', () => {
    const c = parseConfigText('dataDir: ${DATA}/gh\nlog: { level: "${LEVEL:-warn}" }\n', 'x.yaml', {
      DATA: '/var/lib',
    });
    expect(c.dataDir).toBe('/var/lib/gh');
    expect(c.log.level).toBe('warn');
    expect(problems('dataDir: ${NOPE}\n')).toEqual(['line 1: environment variable NOPE is not set']);
  });

  it('reports YAML syntax errors with a line', () => {
    expect(problems('connections: {\n  broken\n')[0]).toMatch(/^line \d+:/);
  });
});

describe('config errors a person can act on', () => {
  const text = [
    '# a config with mistakes',
    'dataDir: .',
    'listeners:',
    '  postgres:',
    '    address: 127.0.0.1:0',
    '    requireTsl: true',
    'connections:',
    '  db:',
    '    protocol: postgress',
    '  db2:',
    '    protocol: postgres',
    '    upstream:',
    '      host: x',
    '      database: y',
    '      user: z',
    '      password: hunter2',
    '      tls:',
    '        mode: verify_full',
    'policies:',
    '  - id: p',
    '    subjects: { groups: [a] }',
    '    connections: [db2]',
    '    rules:',
    '      - { id: r, effect: alow, match: { categories: [raed] } }',
    'polices: []',
    '',
  ].join('\n');
  const all = problems(text);

  it('reports an unknown top-level key at its own line, with the key it probably meant', () => {
    expect(all).toContain('line 25, polices: unknown key "polices" — did you mean "policies"?');
  });

  it('suggests the right key for a misspelled nested key, at its line', () => {
    expect(all).toContain(
      'line 6, listeners.postgres.requireTsl: unknown key "requireTsl" — did you mean "requireTls"?',
    );
  });

  it('suggests the right value of an enum and of a discriminator', () => {
    expect(all.find((p) => p.startsWith('line 18,'))).toMatch(
      /"verify_full" is not one of .*did you mean "verify-full"\?/,
    );
    expect(all.find((p) => p.startsWith('line 9,'))).toMatch(
      /"postgress" is not one of .*did you mean "postgres"\?/,
    );
    expect(all.filter((p) => p.startsWith('line 24,')).join('\n')).toMatch(/did you mean "allow"\?/);
    expect(all.filter((p) => p.startsWith('line 24,')).join('\n')).toMatch(/did you mean "read"\?/);
  });

  it('explains the three secret reference forms and never echoes the secret', () => {
    const p = all.find((x) => x.startsWith('line 16,'));
    expect(p).toMatch(/\{env: VARIABLE\}.*\{file: path\/to\/file\}.*\{encrypted: "gh1:…"\}/);
    expect(all.join('\n')).not.toContain('hunter2');
  });

  it('lists problems in file order and names a missing field at the object that lacks it', () => {
    const lines = all.map((p) => Number(/^line (\d+)/.exec(p)?.[1]));
    expect(lines).toEqual([...lines].sort((a, b) => a - b));
    const missing = problems('connections:\n  db:\n    protocol: postgres\n    upstream:\n      host: x\n');
    expect(missing).toContain(
      'line 4, connections.db.upstream.database: required field is missing (expected string)',
    );
  });
});
