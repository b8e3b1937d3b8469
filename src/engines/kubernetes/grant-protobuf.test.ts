// The protobuf reading of what a write grants (class 118): kubectl's own encodings are read in
// test/kubernetes-granted-powers.test.ts; here, forms Go would read otherwise than one pass does.

import { describe, expect, it } from 'vitest';
import { grantObjectFromProtobuf } from './grant-protobuf.js';

/** A length-delimited field (lengths under 128 only: enough here). */
const field = (n: number, v: Buffer | string): Buffer => {
  const b = typeof v === 'string' ? Buffer.from(v) : v;
  return Buffer.concat([Buffer.from([(n << 3) | 2, b.length]), b]);
};
const envelope = (raw: Buffer): Buffer =>
  Buffer.concat([
    Buffer.from('k8s\0', 'latin1'),
    field(2, raw),
    field(4, 'application/vnd.kubernetes.protobuf'),
  ]);
const label = (k: string, v: string): Buffer => field(11, Buffer.concat([field(1, k), field(2, v)]));

describe('grantObjectFromProtobuf', () => {
  it('reads a ClusterRole with an aggregation label and its rules', () => {
    const meta = field(
      1,
      Buffer.concat([field(1, 'sneak'), label('rbac.authorization.k8s.io/aggregate-to-admin', 'true')]),
    );
    const rule = field(2, Buffer.concat([field(1, 'get'), field(3, 'configmaps')]));
    expect(grantObjectFromProtobuf('clusterroles', envelope(Buffer.concat([meta, rule])))).toEqual({
      metadata: {
        name: 'sneak',
        labels: { 'rbac.authorization.k8s.io/aggregate-to-admin': 'true' },
        annotations: {},
      },
      rules: [{ verbs: ['get'], apiGroups: [], resources: ['configmaps'], nonResourceURLs: [] }],
    });
  });

  it('reads nothing it would read otherwise than Go: metadata given twice (Go merges), bad framing', () => {
    const a = field(
      1,
      Buffer.concat([field(1, 'x'), label('rbac.authorization.k8s.io/aggregate-to-admin', 'true')]),
    );
    const b = field(1, field(1, 'x'));
    expect(grantObjectFromProtobuf('clusterroles', envelope(Buffer.concat([a, b])))).toBeUndefined();
    expect(grantObjectFromProtobuf('clusterroles', Buffer.from('k8s\0\x12\x7f', 'latin1'))).toBeUndefined();
    expect(grantObjectFromProtobuf('clusterroles', Buffer.from('{"kind":"ClusterRole"}'))).toBeUndefined();
    expect(grantObjectFromProtobuf('configmaps', envelope(b))).toBeUndefined();
  });
});
