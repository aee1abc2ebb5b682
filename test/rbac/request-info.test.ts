import { describe, expect, it } from 'vitest';
import { requestInfoOf } from '../../src/adapters/sim/kube-emulator/index.js';
import { startCluster } from '../emulator/support.js';

const info = (method: string, pathAndQuery: string) => requestInfoOf(method, new URL(pathAndQuery, 'http://x'));

describe('request classification as the API server RequestInfo', () => {
  it.each([
    ['GET', '/api/v1/namespaces/t1/secrets/s1', { verb: 'get', apiGroup: '', resource: 'secrets', namespace: 't1', name: 's1' }],
    ['GET', '/api/v1/namespaces/t1/secrets', { verb: 'list', resource: 'secrets', namespace: 't1' }],
    ['GET', '/api/v1/secrets?labelSelector=a%3Db', { verb: 'list', resource: 'secrets' }],
    ['GET', '/api/v1/secrets?watch=true&resourceVersion=5', { verb: 'watch', resource: 'secrets' }],
    ['GET', '/api/v1/secrets?watch=0', { verb: 'list', resource: 'secrets' }],
    ['GET', '/api/v1/watch/namespaces/t1/secrets', { verb: 'watch', resource: 'secrets', namespace: 't1' }],
    ['GET', '/api/v1/namespaces/t1/pods?watch=1&fieldSelector=metadata.name%3Dp1', { verb: 'watch', resource: 'pods', namespace: 't1', name: 'p1' }],
    ['POST', '/api/v1/namespaces/t1/secrets', { verb: 'create', resource: 'secrets', namespace: 't1' }],
    [
      'PUT',
      '/apis/labplane.io/v1alpha1/namespaces/t1/labs/l1/status',
      { verb: 'update', apiGroup: 'labplane.io', resource: 'labs', subresource: 'status', name: 'l1' },
    ],
    ['PATCH', '/api/v1/nodes/n1', { verb: 'patch', resource: 'nodes', name: 'n1' }],
    ['DELETE', '/api/v1/namespaces/t1/secrets/s1', { verb: 'delete', resource: 'secrets', name: 's1' }],
    ['DELETE', '/api/v1/namespaces/t1/secrets', { verb: 'deletecollection', resource: 'secrets', namespace: 't1' }],
    ['GET', '/api/v1/namespaces/t1', { verb: 'get', resource: 'namespaces', namespace: 't1', name: 't1' }],
    ['GET', '/api/v1/namespaces', { verb: 'list', resource: 'namespaces' }],
    ['PUT', '/api/v1/namespaces/t1/finalize', { verb: 'update', resource: 'namespaces', name: 't1', subresource: 'finalize' }],
    [
      'PUT',
      '/apis/subresources.kubevirt.io/v1/namespaces/t1/virtualmachines/vm1/start',
      { verb: 'update', apiGroup: 'subresources.kubevirt.io', resource: 'virtualmachines', subresource: 'start', name: 'vm1' },
    ],
    [
      'GET',
      '/apis/subresources.kubevirt.io/v1/namespaces/t1/virtualmachineinstances/vm1/userlist',
      {
        verb: 'get',
        apiGroup: 'subresources.kubevirt.io',
        resource: 'virtualmachineinstances',
        subresource: 'userlist',
        namespace: 't1',
        name: 'vm1',
      },
    ],
  ])('%s %s', (method, path, expected) => {
    expect(info(method, path)).toMatchObject({ kind: 'resource', ...expected });
  });

  it('keeps the namespace off cluster-wide requests and the subresource off plain ones', () => {
    const r = info('GET', '/api/v1/secrets');
    expect(r).not.toHaveProperty('namespace');
    expect(info('GET', '/api/v1/namespaces/t1/secrets/s1')).not.toHaveProperty('subresource');
  });

  it.each(['/api', '/apis', '/api/v1', '/apis/kubevirt.io', '/apis/kubevirt.io/v1', '/version', '/healthz', '/openapi/v2'])(
    '%s is a non-resource URL',
    (path) => {
      expect(info('GET', path)).toEqual({ kind: 'nonResource', verb: 'get', path });
    },
  );

  it('an emulator started with recordRequests records what a client sends, and one without records nothing', async () => {
    const on = await startCluster({ recordRequests: true });
    const off = await startCluster();
    try {
      for (const c of [on, off]) {
        await c.core.listNamespacedSecret({ namespace: 'default', watch: false });
        await c.core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 'rec' } } });
        await fetch(`${c.emu.url}/apis`);
      }
      const got = on.emu.recordedRequests();
      expect(got.resource).toEqual([
        { kind: 'resource', verb: 'list', apiGroup: '', apiVersion: 'v1', resource: 'secrets', namespace: 'default' },
        { kind: 'resource', verb: 'create', apiGroup: '', apiVersion: 'v1', resource: 'secrets', namespace: 'default' },
      ]);
      expect(got.nonResource).toEqual([{ kind: 'nonResource', verb: 'get', path: '/apis' }]);
      expect(off.emu.recordedRequests()).toEqual({ resource: [], nonResource: [] });
    } finally {
      await on.emu.close();
      await off.emu.close();
    }
  });
});
