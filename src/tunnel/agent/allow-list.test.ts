import { describe, expect, it } from 'vitest';
import { AllowList } from './allow-list.js';
import { backoffDelay } from './backoff.js';

describe('the agent operator allow list', () => {
  const allow = AllowList.parse([
    'db.internal:5432',
    '*.rds.amazonaws.com:5432',
    '10.1.0.0/16:*',
    '192.0.2.7:443',
  ]);

  it('matches names exactly or by suffix, on the port', () => {
    expect(allow.allowsName({ host: 'DB.internal', port: 5432 })).toBe(true);
    expect(allow.allowsName({ host: 'db.internal', port: 5433 })).toBe(false);
    expect(allow.allowsName({ host: 'x.abc.rds.amazonaws.com', port: 5432 })).toBe(true);
    expect(allow.allowsName({ host: 'rds.amazonaws.com.evil', port: 5432 })).toBe(false);
  });

  it('matches addresses by CIDR block and port', () => {
    expect(allow.allowsAddress('10.1.2.3', 22)).toBe(true);
    expect(allow.allowsAddress('10.2.0.1', 22)).toBe(false);
    expect(allow.allowsAddress('192.0.2.7', 443)).toBe(true);
    expect(allow.allowsAddress('192.0.2.7', 80)).toBe(false);
  });

  it('refuses rules it cannot read', () => {
    expect(() => AllowList.parse(['db.internal'])).toThrow(/HOST:PORT/);
    expect(() => AllowList.parse(['10.0.0.0/x:1'])).toThrow(/CIDR/);
  });
});

describe('reconnect backoff', () => {
  it('grows, is capped, and is jittered between half and all of the ceiling', () => {
    const s = { initialMs: 500, maxMs: 30_000 };
    expect(backoffDelay(0, s, () => 0)).toBe(250);
    expect(backoffDelay(0, s, () => 1)).toBe(500);
    expect(backoffDelay(3, s, () => 1)).toBe(4000);
    expect(backoffDelay(50, s, () => 0.5)).toBe(22_500);
  });
});
