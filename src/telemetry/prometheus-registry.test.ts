import { describe, expect, it } from 'vitest';
import { parsePrometheusText } from '../../test/testkit/prometheus-text.js';
import { PrometheusRegistry } from './prometheus-registry.js';

describe('PrometheusRegistry', () => {
  it('renders counters, gauges, histograms and scrape-time readings in the text format', async () => {
    const r = new PrometheusRegistry();
    const c = r.counter({ name: 'x_total', help: 'X things', labels: ['rule'] });
    c.inc({ rule: 'a "quoted"\\rule\nx' });
    c.inc({ rule: 'b' }, 2);
    c.inc({ rule: 'b' });
    // One series per label set, whatever order its names are written in.
    const two = r.counter({ name: 'y_total', help: 'Y', labels: ['a', 'b'] });
    two.inc({ a: '1', b: '2' });
    two.inc({ b: '2', a: '1' });
    two.inc({ a: '2', b: '1' });
    const g = r.gauge({ name: 'x_open', help: 'open' });
    g.inc();
    g.inc();
    g.dec();
    const h = r.histogram({ name: 'x_seconds', help: 'latency', labels: ['op'], buckets: [0.1, 1] });
    h.observe({ op: 'w' }, 0.05);
    h.observe({ op: 'w' }, 0.5);
    h.observe({ op: 'w' }, 5);
    r.gaugeFrom({ name: 'x_depth', help: 'depth' }, () => [{ value: 7 }]);
    r.gaugeFrom({ name: 'x_broken', help: 'left out' }, () => {
      throw new Error('unreadable');
    });
    const text = await r.render();
    const e = parsePrometheusText(text);
    expect(e.value('x_total', { rule: 'b' })).toBe(3);
    expect(e.value('x_total', { rule: 'a "quoted"\\rule\nx' })).toBe(1);
    expect(e.value('x_open')).toBe(1);
    expect(e.value('y_total', { a: '1', b: '2' })).toBe(2);
    expect(e.value('y_total', { a: '2', b: '1' })).toBe(1);
    expect(text.match(/^y_total\{/gm)).toHaveLength(2);
    expect(e.value('x_seconds_bucket', { op: 'w', le: '0.1' })).toBe(1);
    expect(e.value('x_seconds_bucket', { op: 'w', le: '1' })).toBe(2);
    expect(e.value('x_seconds_bucket', { op: 'w', le: '+Inf' })).toBe(3);
    expect(e.value('x_seconds_count', { op: 'w' })).toBe(3);
    expect(e.value('x_seconds_sum', { op: 'w' })).toBeCloseTo(5.55);
    expect(e.value('x_depth')).toBe(7);
    expect(e.types.get('x_seconds')).toBe('histogram');
    expect(text).toContain('# HELP x_total X things\n# TYPE x_total counter\n');
  });

  it('refuses a name that is not a metric name, and one name as two kinds', () => {
    const r = new PrometheusRegistry();
    expect(() => r.counter({ name: 'bad-name', help: '' })).toThrow();
    r.counter({ name: 'dup', help: '' });
    expect(() => r.gauge({ name: 'dup', help: '' })).toThrow(/already a counter/);
  });
  it('counts a frozen label set (keyed once) in the same series as an equal plain one', async () => {
    const r = new PrometheusRegistry();
    const c = r.counter({ name: 'z_total', help: 'Z', labels: ['a', 'b'] });
    const frozen = Object.freeze({ b: '2', a: '1' });
    c.inc(frozen);
    c.inc(frozen, 2);
    c.inc({ a: '1', b: '2' });
    c.inc(Object.freeze({ a: '1', b: '3' }));
    const e = parsePrometheusText(await r.render());
    expect(e.value('z_total', { a: '1', b: '2' })).toBe(4);
    expect(e.value('z_total', { a: '1', b: '3' })).toBe(1);
  });
});
