import { describe, expect, it } from 'vitest';
import type { SettingChange, SqlStatement } from '../../core/sql-statement.js';
import { ProtocolState, newPendingObjects, notePending, runsHiddenCode } from './protocol-state.js';

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

describe('ProtocolState settings whose value upstream is not known (docs/security.md, class 31)', () => {
  const MEANING = new Set(['lc_time', 'datestyle']);
  const kind = (k: string): SqlStatement => ({ ...setting(), kind: k, settings: undefined });

  it('a change that commits is known; one rolled back, aborted or unreadable is not, until set again', () => {
    const state = new ProtocolState(limits as never);
    state.baseline('DateStyle', 'ISO, MDY'); // reported by the server: its own word corrects it
    state.applyCompleted(setting({ name: 'lc_time', via: 'set', value: 'C' }), true);
    state.transactionEnded(true);
    expect(state.uncertainSettings((n) => MEANING.has(n))).toEqual([]);

    state.applyCompleted(setting({ name: 'lc_time', via: 'set', value: 'POSIX' }), true);
    state.applyCompleted(setting({ name: 'datestyle', via: 'set', value: 'SQL' }), true);
    state.applyCompleted(kind('rollback'), true);
    state.transactionEnded(true);
    expect(state.uncertainSettings((n) => MEANING.has(n))).toEqual(['lc_time']);
    state.applyCompleted(setting({ name: 'lc_time', via: 'set', value: 'C' }), false);
    state.transactionEnded(true);
    expect(state.uncertainSettings((n) => MEANING.has(n))).toEqual([]);

    // An error in the (implicit) transaction: the same.
    state.applyCompleted(setting({ name: 'lc_time', via: 'set', value: 'POSIX' }), true);
    state.upstreamError();
    state.transactionEnded(true);
    expect(state.uncertainSettings((n) => MEANING.has(n))).toEqual(['lc_time']);
    state.applyCompleted(setting({ name: '*', via: 'reset' }), false);
    state.transactionEnded(true);
    expect(state.uncertainSettings((n) => MEANING.has(n))).toEqual([]);

    // A savepoint rolled back, a value that could not be read, a name that could not be read.
    state.applyCompleted(setting({ name: 'lc_time', via: 'set', value: 'POSIX' }), true);
    state.applyCompleted(kind('rollback to savepoint'), true);
    expect(state.uncertainSettings((n) => MEANING.has(n))).toEqual(['lc_time']);
    state.applyCompleted(setting({ name: 'lc_time', via: 'reset' }), false);
    state.transactionEnded(true);
    expect(state.uncertainSettings((n) => MEANING.has(n))).toEqual([]);
    state.applyCompleted(setting({ name: 'lc_time', via: 'set_config' }), false);
    state.transactionEnded(true);
    expect(state.uncertainSettings((n) => MEANING.has(n))).toEqual(['lc_time']);
    state.applyCompleted(setting({ name: '?', via: 'set_config' }), false);
    expect(state.uncertainSettings((n) => MEANING.has(n))).toEqual(['*']);
  });

  it('settingsAfter: what later statements of one query string run under', () => {
    const state = new ProtocolState(limits as never, new Map([['lc_time', 'C']]));
    const set = (value: string) => setting({ name: 'lc_time', via: 'set', value });
    expect(state.settingsAfter([set('POSIX')])).toEqual({ settings: { lc_time: 'POSIX' }, unknown: [] });
    expect(state.settingsAfter([set('POSIX'), setting({ name: 'lc_time', via: 'reset' })])).toEqual({
      settings: { lc_time: 'C' },
      unknown: [],
    });
    expect(state.settingsAfter([set('POSIX'), kind('commit')]).unknown).toEqual(['lc_time']);
    expect(state.settingsAfter([setting({ name: 'lc_time', via: 'set_config' })]).unknown).toEqual([
      'lc_time',
    ]);
  });
});

describe('ProtocolState epochs (code Gatehouse cannot see into)', () => {
  const stmt = (kind: string, categories: string[], refs: object[] = []): SqlStatement =>
    ({ text: kind, kind, categories, tables: [], functions: [], sessionObjects: refs }) as never;
  const prepare = stmt('prepare', ['session', 'read'], [{ kind: 'prepared', op: 'create', name: 'q' }]);
  const execute = stmt('execute', ['session'], [{ kind: 'prepared', op: 'use', name: 'q' }]);
  const declare = stmt(
    'declare cursor',
    ['read'],
    [{ kind: 'cursor', op: 'create', name: 'c', holdable: true }],
  );
  const fetch = stmt('fetch', ['read'], [{ kind: 'cursor', op: 'use', name: 'c' }]);
  const doBlock = stmt('do', ['procedural']);

  it('only procedural, unknown and admin statements count as hidden code', () => {
    expect(runsHiddenCode([doBlock])).toBe(true);
    expect(runsHiddenCode([stmt('select', ['read'])])).toBe(false);
    expect(runsHiddenCode([stmt('load', ['admin'])])).toBe(true);
    expect(runsHiddenCode([undefined, stmt('x', ['unknown'])])).toBe(true);
    // EXPLAIN EXECUTE is `unknown` for policy; what it runs is asked on its own.
    const explainExecute = stmt('explain', ['read', 'unknown'], [{ kind: 'prepared', op: 'use', name: 'q' }]);
    expect(runsHiddenCode([explainExecute])).toBe(false);
    expect(runsHiddenCode([explainExecute, doBlock])).toBe(true);
  });

  it('refuses SQL uses of objects created before hidden code, and not after', () => {
    const state = new ProtocolState(limits as never);
    state.applyCompleted(prepare, false, state.epoch);
    state.applyCompleted(declare, true, state.epoch);
    expect(state.resolveUses(execute, newPendingObjects()).ok).toBe(true);
    expect(state.resolveUses(fetch, newPendingObjects()).ok).toBe(true);
    state.advanceEpoch();
    expect(state.resolveUses(execute, newPendingObjects())).toMatchObject({
      ok: false,
      ruleId: 'replaced-session-object',
    });
    expect(state.resolveUses(fetch, newPendingObjects())).toMatchObject({
      ok: false,
      ruleId: 'replaced-session-object',
    });
    // Prepared again after it: trusted.
    state.applyCompleted(
      stmt('deallocate', ['session'], [{ kind: 'prepared', op: 'drop', name: 'q' }]),
      false,
    );
    state.applyCompleted(prepare, false, state.epoch);
    expect(state.resolveUses(execute, newPendingObjects()).ok).toBe(true);
  });

  it('within one query string: hidden code between the creation and the use', () => {
    const state = new ProtocolState(limits as never);
    const pending = newPendingObjects();
    notePending(pending, prepare);
    expect(state.resolveUses(execute, pending).ok).toBe(true);
    notePending(pending, doBlock, true);
    expect(state.resolveUses(execute, pending)).toMatchObject({
      ok: false,
      ruleId: 'replaced-session-object',
    });
    notePending(pending, prepare);
    expect(state.resolveUses(execute, pending).ok).toBe(true);
  });

  it('protocol statements and portals: untrusted after hidden code, the unnamed statement never', () => {
    const state = new ProtocolState(limits as never);
    const named = state.addProtocolStatement({
      client: 's',
      text: 'SELECT 1',
      paramTypes: [],
      statement: undefined,
    });
    const unnamed = state.addProtocolStatement({
      client: '',
      text: 'SELECT 1',
      paramTypes: [],
      statement: undefined,
    });
    for (const e of [named, unnamed]) {
      e.materialized = true;
      e.epoch = state.epoch;
    }
    const { portal } = state.addPortal({
      client: 'p',
      statement: named,
      resultFormats: [],
      run: undefined,
      objectSeq: 0,
      hiddenCode: false,
    });
    expect(state.untrusted(named, 0)).toBe(false);
    expect(state.portalUntrusted(portal)).toBe(false);
    state.advanceEpoch();
    expect(state.untrusted(named, 0)).toBe(true);
    expect(state.untrusted(unnamed, 0)).toBe(false);
    expect(state.portalUntrusted(portal)).toBe(true);
    // A re-Parse not yet confirmed is trusted in its own batch, not after a Sync.
    named.epoch = state.epoch;
    named.reparsing = 3;
    expect(state.untrusted(named, 3)).toBe(false);
    expect(state.untrusted(named, 4)).toBe(true);
  });
});
