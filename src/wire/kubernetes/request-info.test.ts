import { describe, expect, it } from 'vitest';
import { canonicalPath } from '../http/canonical-path.js';
import { exactMetadataName, parseQuery, requestInfo, resourceLabel } from './request-info.js';

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
    expect(() => parseQuery('a=%zz')).toThrow(/percent/);
    expect(() => info('GET', '/api/v1/namespaces/d/pods/web/portforward?ports=x')).toThrow(/port/);
  });

  it('reads exact metadata.name field selectors with escapes', () => {
    expect(exactMetadataName('metadata.name=a')).toBe('a');
    expect(exactMetadataName('status.phase=Running,metadata.name==b')).toBe('b');
    expect(exactMetadataName('metadata.name=a\\,b')).toBe('a,b');
    expect(exactMetadataName('metadata.namespace=a')).toBeUndefined();
    expect(() => exactMetadataName('metadata.name')).toThrow();
  });
});
