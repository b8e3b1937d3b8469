import { describe, expect, it } from 'vitest';
import type { PolicyDecider } from '../core/ports.js';
import { noTracer, type Tracer } from '../core/tracing.js';
import { tracedPolicySource } from './instrumented-ports.js';

const policy = (version: string): PolicyDecider =>
  ({
    version,
    connectionAccess: () => ({ effect: 'allow', ruleId: 'r' }),
    decide: () => ({ effect: 'allow', ruleId: 'r', obligations: {} }),
  }) as unknown as PolicyDecider;

describe('tracedPolicySource', () => {
  it('wraps each policy once, and a reloaded policy anew', () => {
    const spans: string[] = [];
    const tracer: Tracer = {
      span: (name, _a, work) => (spans.push(name), work({ set: () => undefined })),
      spanSync: (name, _a, work) => (spans.push(name), work({ set: () => undefined })),
    };
    let current = policy('1');
    const source = tracedPolicySource(() => current, tracer);
    const first = source();
    expect(source()).toBe(first);
    expect(first).not.toBe(current);
    first.decide({} as never, {} as never);
    expect(spans).toEqual(['gatehouse.decide']);
    expect(first.version).toBe('1');
    current = policy('2');
    const second = source();
    expect(second).not.toBe(first);
    expect(second.version).toBe('2');
  });

  it('hands out the policy itself when tracing is off', () => {
    const p = policy('1');
    expect(tracedPolicySource(() => p, noTracer)()).toBe(p);
  });
});
