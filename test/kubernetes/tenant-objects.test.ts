import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tenantSpec, uniqueId } from '../contracts/tenant-repository.contract.js';
import { startKubeFixture, type KubeFixture } from './support/kube-fixture.js';

const RBAC = '/apis/rbac.authorization.k8s.io/v1';
const NET = '/apis/networking.k8s.io/v1';
const bindingName = (principalId: string) => `labplane-member-${createHash('sha256').update(principalId).digest('hex').slice(0, 20)}`;
type Obj = Record<string, any>; // the test reads raw JSON

let fx: KubeFixture;
beforeEach(async () => {
  fx = await startKubeFixture({ clusterPrivateCidrs: ['10.244.0.0/16', 'fd12:3456::/32'] });
});
afterEach(async () => {
  await fx?.close();
});

async function read(path: string): Promise<Obj> {
  const res = await fx.raw.get(path);
  expect(res.status, `GET ${path}`).toBe(200);
  return res.body as Obj;
}

describe('objects the Kubernetes adapter writes for a tenant', () => {
  const spec = () =>
    tenantSpec({
      id: uniqueId('obj'),
      members: [
        { principalId: 'f0e1d2c3-0000-4000-8000-000000000001', principalType: 'User', role: 'owner', displayName: 'Prof. Olga' },
        { principalId: 'a1b2c3d4-0000-4000-8000-0000000000aa', principalType: 'Group', role: 'member' },
      ],
    });

  it('the namespace carries our labels, provisioned last, and the display name, description, caps and quota annotations', async () => {
    const s = spec();
    await fx.repo.create(s);
    const ns = await read(`/api/v1/namespaces/${s.id}`);
    expect(ns.metadata.labels).toEqual({
      'app.kubernetes.io/managed-by': 'labplane',
      'labplane.io/tenant': s.id,
      'labplane.io/profile': 'student',
      'labplane.io/provisioned': 'true',
      'kubernetes.io/metadata.name': s.id,
    });
    expect(ns.metadata.annotations).toEqual({
      'labplane.io/display-name': s.displayName,
      'labplane.io/description': s.description,
      'labplane.io/vm-caps': '{"maxCpu":2,"maxMemoryGi":4}',
      'labplane.io/quota': JSON.stringify(s.quota),
    });
  });

  it('the ResourceQuota holds every quota figure as a Kubernetes quantity', async () => {
    const s = { ...spec(), quota: { ...spec().quota, requestsCpu: 0.5, limitsCpu: 16 } };
    await fx.repo.create(s);
    const rq = await read(`/api/v1/namespaces/${s.id}/resourcequotas/labplane-quota`);
    expect(rq.metadata.labels).toEqual({ 'app.kubernetes.io/managed-by': 'labplane', 'labplane.io/tenant': s.id });
    expect(rq.spec).toEqual({
      hard: {
        'requests.cpu': '500m',
        'requests.memory': '16Gi',
        'limits.cpu': '16',
        'limits.memory': '32Gi',
        'requests.storage': '250Gi',
        persistentvolumeclaims: '5',
        'count/virtualmachines.kubevirt.io': '5',
      },
    });
  });

  it('the LimitRange caps containers at the VM caps (memory +1Gi for virt-launcher) and claims at the storage quota', async () => {
    const s = spec();
    await fx.repo.create(s);
    const lr = await read(`/api/v1/namespaces/${s.id}/limitranges/labplane-limits`);
    expect(lr.spec.limits).toEqual([
      {
        type: 'Container',
        max: { cpu: '2', memory: '5Gi' },
        default: { cpu: '1', memory: '1Gi' },
        defaultRequest: { cpu: '100m', memory: '256Mi' },
      },
      { type: 'PersistentVolumeClaim', max: { storage: '250Gi' } },
    ]);
  });

  it('network policies admit only same-namespace ingress and block metadata, wire server and private ranges on egress', async () => {
    const s = spec();
    await fx.repo.create(s);
    const ingress = await read(`${NET}/namespaces/${s.id}/networkpolicies/labplane-ingress`);
    expect(ingress.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: {} }] }] });
    const egress = await read(`${NET}/namespaces/${s.id}/networkpolicies/labplane-egress`);
    expect(egress.spec.podSelector).toEqual({});
    expect(egress.spec.policyTypes).toEqual(['Egress']);
    expect(egress.spec.egress).toEqual([
      { to: [{ podSelector: {} }] },
      {
        to: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
            podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
          },
        ],
        ports: [
          { protocol: 'UDP', port: 53 },
          { protocol: 'TCP', port: 53 },
        ],
      },
      {
        to: [
          {
            ipBlock: {
              cidr: '0.0.0.0/0',
              except: ['169.254.0.0/16', '168.63.129.16/32', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '10.244.0.0/16'],
            },
          },
          { ipBlock: { cidr: '::/0', except: ['fe80::/10', 'fc00::/7', 'fd12:3456::/32'] } },
        ],
      },
    ]);
  });

  it('roles grant VM use to members and migration and image reads to owners, and nobody Secrets', async () => {
    const s = spec();
    await fx.repo.create(s);
    const member = await read(`${RBAC}/namespaces/${s.id}/roles/labplane-tenant-member`);
    const owner = await read(`${RBAC}/namespaces/${s.id}/roles/labplane-tenant-owner`);
    const memberRules = [
      { apiGroups: ['kubevirt.io'], resources: ['virtualmachines', 'virtualmachineinstances'], verbs: ['get', 'list', 'watch'] },
      {
        apiGroups: ['subresources.kubevirt.io'],
        resources: ['virtualmachines/start', 'virtualmachines/stop', 'virtualmachines/restart'],
        verbs: ['update'],
      },
      { apiGroups: ['subresources.kubevirt.io'], resources: ['virtualmachineinstances/console', 'virtualmachineinstances/vnc'], verbs: ['get'] },
    ];
    expect(member.rules).toEqual(memberRules);
    expect(owner.rules).toEqual([
      ...memberRules,
      { apiGroups: ['subresources.kubevirt.io'], resources: ['virtualmachines/migrate'], verbs: ['update'] },
      { apiGroups: ['kubevirt.io'], resources: ['virtualmachineinstancemigrations'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['cdi.kubevirt.io'], resources: ['datavolumes'], verbs: ['get', 'list', 'watch'] },
    ]);
    const everything = JSON.stringify([member.rules, owner.rules]);
    expect(everything).not.toMatch(/secrets|"\*"/);
  });

  it('each member is a RoleBinding named from a hash of the principal, to a User or a Group', async () => {
    const s = spec();
    await fx.repo.create(s);
    const [olga, group] = s.members;
    const ob = await read(`${RBAC}/namespaces/${s.id}/rolebindings/${bindingName(olga!.principalId)}`);
    expect(ob.metadata.labels).toEqual({
      'app.kubernetes.io/managed-by': 'labplane',
      'labplane.io/tenant': s.id,
      'labplane.io/member': 'true',
      'labplane.io/role': 'owner',
    });
    expect(ob.metadata.annotations).toEqual({
      'labplane.io/principal-id': olga!.principalId,
      'labplane.io/principal-type': 'User',
      'labplane.io/display-name': 'Prof. Olga',
    });
    expect(ob.subjects).toEqual([{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: olga!.principalId }]);
    expect(ob.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'labplane-tenant-owner' });
    const gb = await read(`${RBAC}/namespaces/${s.id}/rolebindings/${bindingName(group!.principalId)}`);
    expect(gb.subjects).toEqual([{ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: group!.principalId }]);
    expect(gb.roleRef.name).toBe('labplane-tenant-member');
  });

  it('changing a member’s role deletes and recreates the binding, since roleRef is immutable', async () => {
    const s = spec();
    await fx.repo.create(s);
    const principal = s.members[1]!.principalId;
    const path = `${RBAC}/namespaces/${s.id}/rolebindings/${bindingName(principal)}`;
    const before = await read(path);
    const deletes = fx.emulator.requestCount({ method: 'DELETE' });
    await fx.repo.putMember(s.id, { principalId: principal, principalType: 'Group', role: 'owner' });
    const after = await read(path);
    expect(after.roleRef.name).toBe('labplane-tenant-owner');
    expect(after.metadata.labels['labplane.io/role']).toBe('owner');
    expect(after.metadata.uid).not.toBe(before.metadata.uid);
    expect(fx.emulator.requestCount({ method: 'DELETE' })).toBe(deletes + 1);
  });

  it('an update rewrites the quota and the limit range', async () => {
    const s = spec();
    await fx.repo.create(s);
    await fx.repo.update(s.id, { quota: { ...s.quota, storageGi: 100, requestsCpu: 1.5 }, vmCaps: { maxCpu: 1, maxMemoryGi: 2 } });
    const rq = await read(`/api/v1/namespaces/${s.id}/resourcequotas/labplane-quota`);
    expect(rq.spec.hard).toMatchObject({ 'requests.cpu': '1500m', 'requests.storage': '100Gi' });
    const lr = await read(`/api/v1/namespaces/${s.id}/limitranges/labplane-limits`);
    expect(lr.spec.limits[0].max).toEqual({ cpu: '1', memory: '3Gi' });
    expect(lr.spec.limits[1].max).toEqual({ storage: '100Gi' });
  });

  it('a create interrupted after the namespace leaves no visible tenant, and retrying it converges', async () => {
    const s = spec();
    fx.emulator.faults.failNext(1, { status: 500, method: 'POST', pathPrefix: `${RBAC}/namespaces/${s.id}/rolebindings` });
    await expect(fx.repo.create(s)).rejects.toMatchObject({ code: 'KUBERNETES_UNAVAILABLE' });
    const half = await read(`/api/v1/namespaces/${s.id}`);
    expect(half.metadata.labels['labplane.io/provisioned']).toBeUndefined();
    expect(await fx.repo.get(s.id)).toBeUndefined();
    const { outcome } = await fx.repo.create(s);
    expect(outcome).toBe('converged');
    const done = await read(`/api/v1/namespaces/${s.id}`);
    expect(done.metadata.labels['labplane.io/provisioned']).toBe('true');
    expect((await fx.repo.listMembers(s.id)).map((m) => m.principalId).sort()).toEqual(s.members.map((m) => m.principalId).sort());
  });
});
