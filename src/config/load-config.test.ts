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
