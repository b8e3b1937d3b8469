import { describe, expect, it } from 'vitest';
import type { SettingChange, SqlStatement } from '../../core/sql-statement.js';
import { ProtocolState } from './protocol-state.js';

const limits = () => ({ maxPreparedStatements: 100, maxPortals: 100, maxStatementBytes: 1 << 20 });

function setting(...settings: SettingChange[]): SqlStatement {
  return {
    text: 'SET …',
    kind: 'set',
    categories: ['session'],
    tables: [],
    functions: [],
    settings,
  } as never;
}

describe('ProtocolState.effectiveSettings', () => {
  it('is rebuilt after every kind of change and kept between them', () => {
    const state = new ProtocolState(limits as never, new Map([['application_name', 'app']]));
    const first = state.effectiveSettings();
    expect(first).toEqual({ application_name: 'app' });
    expect(Object.isFrozen(first)).toBe(true);
    expect(state.effectiveSettings()).toBe(first);

    state.applyCompleted(setting({ name: 'search_path', via: 'set', value: 'x' }), false);
    expect(state.effectiveSettings()).toEqual({ application_name: 'app', search_path: 'x' });

    state.applyCompleted(setting({ name: 'work_mem', via: 'set', value: '8MB', local: true }), true);
    expect(state.effectiveSettings()).toEqual({ application_name: 'app', search_path: 'x', work_mem: '8MB' });
    state.transactionEnded(true);
    expect(state.effectiveSettings()).toEqual({ application_name: 'app', search_path: 'x' });

    state.reported('TimeZone', 'UTC');
    expect(state.effectiveSettings()).toEqual({ application_name: 'app', search_path: 'x', timezone: 'UTC' });

    state.applyCompleted(setting({ name: 'application_name', via: 'reset', local: true }), true);
    expect(state.effectiveSettings()).toEqual({ application_name: 'app', search_path: 'x', timezone: 'UTC' });
    state.applyCompleted(setting({ name: '*', via: 'reset' }), false);
    expect(state.effectiveSettings()).toEqual({ application_name: 'app' });
  });
});
