import { describe, expect, it } from 'vitest';
import { canonicalPath } from '../http/canonical-path.js';
import {
  exactMetadataName,
  fieldSelectorString,
  parseFieldSelector,
  parseQuery,
  queryEscape,
  requestInfo,
  resourceLabel,
} from './request-info.js';

function info(method: string, target: string) {
  const q = target.indexOf('?');
  const raw = q < 0 ? target : target.slice(0, q);
  const p = canonicalPath(raw);
  if (!p.ok) throw new Error(p.reason);
  return requestInfo(method, p, parseQuery(q < 0 ? '' : target.slice(q + 1)));
}

describe('requestInfo (as the API server derives it)', () => {
  it('classifies core and group resources', () => {
    expect(info('GET', '/api/v1/namespaces/default/pods')).toMatchObject({
      isResourceRequest: true,
      verb: 'list',
      apiGroup: '',
      apiVersion: 'v1',
      namespace: 'default',
      resource: 'pods',
      name: '',
    });
    expect(info('GET', '/apis/apps/v1/namespaces/prod/deployments/web')).toMatchObject({
      verb: 'get',
      apiGroup: 'apps',
      resource: 'deployments',
      name: 'web',
      namespace: 'prod',
    });
    expect(info('PATCH', '/apis/apps/v1/namespaces/prod/deployments/web/scale')).toMatchObject({
      verb: 'patch',
      subresource: 'scale',
    });
    expect(info('POST', '/api/v1/namespaces/default/pods').verb).toBe('create');
    expect(info('PUT', '/api/v1/namespaces/default/pods/x').verb).toBe('update');
    expect(info('HEAD', '/api/v1/nodes/n1').verb).toBe('get');
  });

  it('gives namespaces themselves their own namespace, and keeps status/finalize as subresources', () => {
    expect(info('DELETE', '/api/v1/namespaces/prod')).toMatchObject({
      verb: 'delete',
      resource: 'namespaces',
      name: 'prod',
      namespace: 'prod',
    });
    expect(info('PUT', '/api/v1/namespaces/prod/finalize')).toMatchObject({
      resource: 'namespaces',
      name: 'prod',
      subresource: 'finalize',
    });
    expect(info('GET', '/api/v1/namespaces')).toMatchObject({ verb: 'list', namespace: '' });
  });

  it('derives list, watch, deletecollection and fieldSelector names', () => {
    expect(info('GET', '/api/v1/namespaces/d/pods?watch=true').verb).toBe('watch');
    expect(info('GET', '/api/v1/namespaces/d/pods?watch=1').verb).toBe('watch');
    expect(info('GET', '/api/v1/namespaces/d/pods?watch=').verb).toBe('watch');
    expect(info('GET', '/api/v1/namespaces/d/pods?watch=false').verb).toBe('list');
    expect(info('GET', '/api/v1/namespaces/d/pods?watch=FALSE').verb).toBe('list');
    expect(info('GET', '/api/v1/namespaces/d/pods?watch=0').verb).toBe('list');
    // The API server reads only "0" and "false" as false: "f", "no" and "" are true.
    for (const v of ['F', 'f', 'no', 'off', ''])
      expect(info('GET', `/api/v1/namespaces/d/pods?watch=${v}`).verb).toBe('watch');
    expect(info('GET', '/api/v1/watch/namespaces/d/pods')).toMatchObject({ verb: 'watch', resource: 'pods' });
    expect(
      info('GET', '/api/v1/namespaces/d/secrets?fieldSelector=metadata.name%3Dtoken&watch=true'),
    ).toMatchObject({ verb: 'watch', name: 'token' });
    expect(info('GET', '/api/v1/namespaces/d/pods?fieldSelector=metadata.name!%3Dx').name).toBe('');
    expect(info('DELETE', '/api/v1/namespaces/d/pods')).toMatchObject({ verb: 'deletecollection' });
  });

  it('authorises WebSocket exec, attach and port-forward upgrades as create (KEP-4006)', () => {
    const e = info(
      'GET',
      '/api/v1/namespaces/d/pods/web/exec?command=rm&command=-rf&command=%2Fdata&container=app&stdin=true&stdout=true&tty=false',
    );
    expect(e).toMatchObject({ verb: 'create', resource: 'pods', subresource: 'exec', name: 'web' });
    expect(e.exec).toEqual({
      command: ['rm', '-rf', '/data'],
      container: 'app',
      stdin: true,
      stdout: true,
      stderr: false,
      tty: false,
    });
    expect(info('POST', '/api/v1/namespaces/d/pods/web/attach?stdin=1&tty=1').exec).toMatchObject({
      command: [],
      tty: true,
    });
    expect(info('GET', '/api/v1/namespaces/d/pods/web/portforward?ports=8080,80&ports=9090')).toMatchObject({
      verb: 'create',
      subresource: 'portforward',
      ports: [8080, 80, 9090],
    });
    expect(resourceLabel(e)).toBe('pods/exec');
  });

  it('treats discovery as non-resource requests', () => {
    expect(info('GET', '/api')).toMatchObject({ isResourceRequest: false, verb: 'get', path: '/api' });
    expect(info('GET', '/apis/apps/v1')).toMatchObject({ isResourceRequest: false });
    expect(info('GET', '/api/v1')).toMatchObject({ isResourceRequest: false });
    expect(info('GET', '/version')).toMatchObject({ isResourceRequest: false });
  });

  it('refuses what it cannot classify', () => {
    expect(() => info('OPTIONS', '/api/v1/pods')).toThrow(/not a Kubernetes verb/);
    expect(() => info('GET', '/api/v1/watch')).toThrow();
    expect(() => info('GET', '/api/v1/namespaces/d/pods/a/b/c')).toThrow(/more segments/);
    expect(() => info('POST', '/api/v1/watch/pods')).toThrow(/GET/);
    expect(() => parseQuery('a=1;b=2')).toThrow(/;/);
    // A log read that would turn off the API server's check of the kubelet's certificate.
    expect(() => info('GET', '/api/v1/namespaces/d/pods/p/log?insecureSkipTLSVerifyBackend=true')).toThrow(
      /insecureSkipTLSVerifyBackend/,
    );
    expect(info('GET', '/api/v1/namespaces/d/pods/p/log?tailLines=10').subresource).toBe('log');
    expect(() => parseQuery('a=%zz')).toThrow(/percent/);
    expect(() => info('GET', '/api/v1/namespaces/d/pods/web/portforward?ports=x')).toThrow(/port/);
  });

  it('pins a name from the fieldSelector only where RequestInfo does (GET without a name, not /watch/ paths)', () => {
    expect(info('GET', '/api/v1/watch/namespaces/d/pods?fieldSelector=metadata.name%3Dx')).toMatchObject({
      verb: 'watch',
      name: '',
    });
    expect(info('DELETE', '/api/v1/namespaces/d/pods?fieldSelector=metadata.name%3Dx')).toMatchObject({
      verb: 'deletecollection',
      name: '',
    });
  });

  it('refuses a parameter it decides on given twice', () => {
    expect(() =>
      info(
        'GET',
        '/api/v1/namespaces/d/pods?fieldSelector=metadata.name%3Da&fieldSelector=metadata.name%3Db',
      ),
    ).toThrow(/fieldSelector more than once/);
    expect(() => info('GET', '/api/v1/namespaces/d/pods?watch=false&watch=true')).toThrow(
      /watch more than once/,
    );
    expect(() =>
      info('GET', '/api/v1/namespaces/d/pods/web/exec?command=ls&container=a&container=b'),
    ).toThrow(/container more than once/);
    for (const key of ['stdin', 'stdout', 'stderr', 'tty'])
      expect(() => info('GET', `/api/v1/namespaces/d/pods/web/attach?${key}=false&${key}=true`)).toThrow(
        new RegExp(`${key} more than once`),
      );
    // Not read by Gatehouse here: left to the API server (a GET by name reads no fieldSelector).
    expect(info('GET', '/api/v1/namespaces/d/pods/web?watch=1&watch=0').verb).toBe('get');
  });

  it('forwards list and watch queries rebuilt from what was read', () => {
    expect(
      info(
        'GET',
        '/api/v1/namespaces/d/pods?watch=f&fieldSelector=metadata.name%3D%3Dweb&limit=5&labelSelector=app+in+(a,b)',
      ),
    ).toMatchObject({
      verb: 'watch',
      name: 'web',
      query: 'fieldSelector=metadata.name%3Dweb&labelSelector=app+in+%28a%2Cb%29&limit=5&watch=true',
    });
    expect(info('GET', '/api/v1/namespaces/d/pods?watch=0&fieldSelector=').query).toBe('');
    expect(info('GET', '/api/v1/namespaces/d/pods?fieldSelector=,status.phase!%3DRunning,').query).toBe(
      'fieldSelector=status.phase%21%3DRunning',
    );
    // Only what Gatehouse reads is rebuilt: other requests' queries go as received.
    expect(info('GET', '/api/v1/namespaces/d/pods/web?pretty=1').query).toBeUndefined();
    expect(info('DELETE', '/api/v1/namespaces/d/pods?fieldSelector=a%3Db').query).toBeUndefined();
  });

  it('forwards exec, attach and port-forward with the decided options only', () => {
    expect(
      info(
        'GET',
        '/api/v1/namespaces/d/pods/web/exec?tty=0&command=sh&command=-c&command=echo+hi%2Fthere&stdin=f&container=app&extra=1&stdout=true',
      ).query,
    ).toBe('command=sh&command=-c&command=echo+hi%2Fthere&container=app&stdin=true&stdout=true');
    expect(info('GET', '/api/v1/namespaces/d/pods/web/attach?command=rm&stdin=1&tty=yes').query).toBe(
      'stdin=true&tty=true',
    );
    expect(info('GET', '/api/v1/namespaces/d/pods/web/portforward?ports=8080,080&x=1&ports=9090').query).toBe(
      'ports=8080&ports=80&ports=9090',
    );
    expect(info('GET', '/api/v1/namespaces/d/pods/web/portforward?x=1').query).toBe('');
  });

  it('escapes query values as Go url.QueryEscape does', () => {
    expect(queryEscape('a b/c~é*!')).toBe('a+b%2Fc~%C3%A9%2A%21');
    expect(queryEscape('A-z_0.9')).toBe('A-z_0.9');
  });

  it('reads field selectors as fields.ParseSelector does', () => {
    expect(parseFieldSelector('metadata.name==a')).toEqual([{ field: 'metadata.name', op: '=', value: 'a' }]);
    // Terms are sorted (byte order), empty ones skipped, escapes undone.
    expect(parseFieldSelector(',status.phase!=Running,,metadata.name=a\\\\\\,b\\=c,')).toEqual([
      { field: 'metadata.name', op: '=', value: 'a\\,b=c' },
      { field: 'status.phase', op: '!=', value: 'Running' },
    ]);
    expect(parseFieldSelector('status.phase!=Running,status.phase!=Succeeded')).toHaveLength(2);
    expect(parseFieldSelector('metadata.name!=a,metadata.name!=b')).toHaveLength(2);
    expect(parseFieldSelector('')).toEqual([]);
    expect(parseFieldSelector('spec.nodeName=n1,involvedObject.fieldPath=spec.containers{app}')).toHaveLength(
      2,
    );
    expect(
      fieldSelectorString(parseFieldSelector('status.phase!=Running,metadata.name==a\\\\\\,b\\=c')),
    ).toBe('metadata.name=a\\\\\\,b\\=c,status.phase!=Running');
    expect(fieldSelectorString(parseFieldSelector('metadata.name=a\\\\\\\\'))).toBe(
      'metadata.name=a\\\\\\\\',
    );
  });

  it.each([
    [' metadata.name=a', /not a plain field name/],
    ['metadata.name =a', /not a plain field name/],
    ['metadata.name\t=a', /not a plain field name/],
    ['metadata.name= a', /whitespace/],
    ['metadata.name=a ', /whitespace/],
    ['metadata.name=a\n', /whitespace/],
    ['metadata.name=a, ', /no =, == or !=/],
    ['metadata.name', /no =, == or !=/],
    ['metadata.name=a=b', /unescaped "="/],
    ['metadata.name===a', /unescaped "="/],
    ['metadata.name!==a', /unescaped "="/],
    ['metadata.name=a\\x', /invalid escape/],
    ['metadata.name=a\\', /invalid escape/],
    ['=a', /not a plain field name/],
    ['metadata.name=a,metadata.name=b', /metadata.name more than once/],
    ['metadata.name=b,metadata.name==a', /metadata.name more than once/],
    ['metadata.name=a,metadata.name!=b', /metadata.name more than once/],
  ])('refuses the field selector %j', (selector, why) => {
    expect(() => parseFieldSelector(selector)).toThrow(why);
  });

  it('reads exact metadata.name field selectors with escapes', () => {
    expect(exactMetadataName('metadata.name=a')).toBe('a');
    expect(exactMetadataName('status.phase=Running,metadata.name==b')).toBe('b');
    expect(exactMetadataName('metadata.name=a\\,b')).toBe('a,b');
    expect(exactMetadataName('metadata.namespace=a')).toBeUndefined();
    expect(() => exactMetadataName('metadata.name')).toThrow();
  });
});
