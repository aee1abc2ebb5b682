import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { arcMachineName } from '../../src/domain/identity/arc-machine.js';
import { until } from '../support/processes.js';
import { sshKey } from '../vms/support.js';
import { HOOK_HOST, startDeployment, type Deployment } from './support.js';

/**
 * kill -9 of the worker process in the middle of an Arc extension install, of a lab provisioning
 * and of a webhook delivery; then a new worker, and every operation ends and every effect happened
 * exactly once. Real processes and real time on purpose: what is tested is what survives the death
 * of an OS process (state in Redis, the API server and ARM; BullMQ locks expiring; the leader Lease
 * changing hands). The Kubernetes API emulator and redis-server run as processes of their own, the
 * ARM stand-in (with the VMs' Arc agents) and the webhook receiver in this one. BullMQ's job lock is
 * 3 s (30 s by default) so a dead worker's jobs come back in seconds; the bounds are generous
 * because a worker boots in 5 s on an idle machine and several times that on a busy one.
 *
 * "Exactly once" here: one VirtualMachine (and one DataVolume) per VM name or lab student; one
 * extension resource per Arc machine, and one PUT of it when the kill comes after ARM accepted it;
 * one role assignment per (scope, principal); one delivery record per (webhook, event), sent at least
 * once, every attempt with the same `webhook-id` so a receiver dedupes.
 */
const TENANT = 'faults-t';
const OWNER = '0b0b0b0b-0000-4000-8000-00000000000b';
const image = { scope: 'platform', name: 'ubuntu-24-04' };
const FINAL = ['succeeded', 'failed', 'canceled'];
let d: Deployment;

const uuid = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
const vmsOf = async (selector = '') =>
  d.kube.list(`/apis/kubevirt.io/v1/namespaces/${TENANT}/virtualmachines${selector === '' ? '' : `?labelSelector=${encodeURIComponent(selector)}`}`);
const lastWorker = () => {
  const w = d.workers.at(-1);
  if (w === undefined) throw new Error('no worker');
  return w;
};
const assignmentsOn = (scope: string) => [...d.arm.server.state.assignments.values()].filter((a) => a.scope.toLowerCase() === scope.toLowerCase());

/** Each (scope, principal) holds one role assignment at most. */
function expectAssignmentsOnce(): void {
  const counts = new Map<string, number>();
  for (const a of d.arm.server.state.assignments.values()) {
    const key = `${a.scope.toLowerCase()} ${a.principalId.toLowerCase()}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  expect([...counts.entries()].filter(([, n]) => n > 1)).toEqual([]);
}

async function childrenOf(id: string): Promise<Array<Record<string, any>>> {
  return (await d.call('GET', `/v1/operations?parentId=${id}&limit=200`)).body.items as Array<Record<string, any>>;
}

beforeAll(async () => {
  d = await startDeployment();
  const res = await d.call('POST', '/v1/tenants', {
    id: TENANT,
    displayName: 'Fault tenant',
    profile: 'admin',
    owners: [{ principalId: OWNER }],
    quota: {
      requestsCpu: 64,
      limitsCpu: 128,
      requestsMemoryGi: 256,
      limitsMemoryGi: 512,
      storageGi: 2000,
      persistentVolumeClaims: 100,
      virtualMachines: 50,
    },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}, 300_000);

afterAll(async () => {
  await d?.close();
}, 60_000);

describe('kill -9 of the worker process', () => {
  it('during an Arc extension install: the new worker resumes polling it (no second PUT); one extension, one role assignment', async () => {
    // The install's long-running operation answers InProgress to its first two status reads.
    d.arm.server.state.pollsUntilDone = 2;
    const res = await d.call('POST', `/v1/tenants/${TENANT}/vms`, {
      name: 'arc-vm',
      image,
      instanceType: 'small',
      diskGi: 10,
      storageClass: 'kv-standard',
      arc: true,
      owner: OWNER,
      sshPublicKeys: [sshKey('fault@lab')],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    // ARM accepted the PUT, the worker recorded where to resume (the VM shows the install InProgress,
    // written after the resume state) and polls the install: kill it there. The status poll alone is
    // not enough: the SDK may poll once inside the PUT's call, before the resume state is saved.
    await until(
      async () =>
        d.arm.server.count('GET', 'operationstatus') > 0 &&
        (await d.call('GET', `/v1/tenants/${TENANT}/vms/arc-vm`)).body?.identity?.extension?.state === 'InProgress',
      120_000,
      () => `the extension install to be polled\n${d.diagnose()}`,
    );
    await lastWorker().kill9();
    expect(d.arm.server.count('PUT', '/extensions/')).toBe(1);
    await d.startWorker();

    const created = await d.settle(res.body.id, 120_000);
    const identity = (await childrenOf(res.body.id)).filter((o) => o['kind'] === 'vm.identity');
    expect(identity).toHaveLength(1);
    const done = await d.settle(identity[0]?.['id'], 120_000);
    expect([created['status'], done['status']], JSON.stringify([created, done])).toEqual(['succeeded', 'succeeded']);

    expect(d.arm.server.count('PUT', '/extensions/')).toBe(1);
    expect([...d.arm.server.state.extensions.values()].filter((e) => e.machine.toLowerCase() === arcMachineName(TENANT, 'arc-vm'))).toHaveLength(1);
    const scope = d.arm.server.state.machineId(arcMachineName(TENANT, 'arc-vm'));
    expect(assignmentsOn(scope).map((a) => a.principalId)).toEqual([OWNER]);
    expect((await vmsOf()).map((v) => v.metadata.name)).toEqual(['arc-vm']);
  }, 300_000);

  it('during a lab provisioning of 10 students with Arc: the lab ends; one VM, one extension and one assignment per student', async () => {
    const students = Array.from({ length: 10 }, (_, i) => ({ id: uuid(0x100 + i), email: `s${i}@uni.example`, displayName: `Student ${i}` }));
    const instructor = { id: uuid(0x1ff), displayName: 'Instructor' };
    const res = await d.call('POST', `/v1/tenants/${TENANT}/labs`, {
      name: 'fault-lab',
      template: { image, instanceType: 'small', diskGi: 10, storageClass: 'kv-standard', arc: true },
      instructors: [instructor],
      students,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    // Some students' VMs exist, others not yet: kill it there.
    await until(
      async () => (await vmsOf('labplane.io/lab=fault-lab')).length >= 3,
      120_000,
      () => `the first lab VMs\n${d.diagnose()}`,
    );
    await lastWorker().kill9();
    const atKill = await d.call('GET', `/v1/operations/${res.body.id}`);
    expect(FINAL).not.toContain(atKill.body.status);
    await d.startWorker();

    const lab = await d.settle(res.body.id, 240_000);
    expect(lab['status'], JSON.stringify(lab)).toBe('succeeded');
    const all = (await d.call('GET', `/v1/operations?tenant=${TENANT}&limit=200`)).body.items as Array<Record<string, any>>;
    expect(all.filter((o) => !FINAL.includes(o['status'])).map((o) => `${o['kind']} ${o['status']}`)).toEqual([]);

    const vms = await vmsOf('labplane.io/lab=fault-lab');
    const owners = vms.map((v) => (v as { metadata: { annotations?: Record<string, string> } }).metadata.annotations?.['labplane.io/owner-id']);
    for (const s of students)
      expect(
        owners.filter((o) => o === s.id),
        s.id,
      ).toHaveLength(1);
    const dvs = await d.kube.list(`/apis/cdi.kubevirt.io/v1beta1/namespaces/${TENANT}/datavolumes`);
    expect(dvs.length).toBe((await vmsOf()).length);
    for (const vm of vms) {
      const name = arcMachineName(TENANT, vm.metadata.name).toLowerCase();
      expect(
        [...d.arm.server.state.extensions.values()].filter((e) => e.machine.toLowerCase() === name),
        name,
      ).toHaveLength(1);
    }
    for (const s of students) {
      const vm = vms.find(
        (v) => (v as { metadata: { annotations?: Record<string, string> } }).metadata.annotations?.['labplane.io/owner-id'] === s.id,
      );
      expect(
        assignmentsOn(d.arm.server.state.machineId(arcMachineName(TENANT, vm?.metadata.name ?? ''))).filter((a) => a.principalId === s.id),
        s.id,
      ).toHaveLength(1);
    }
    expectAssignmentsOnce();
  }, 420_000);

  it('during a webhook delivery: the new worker sends it again with the same webhook-id; one delivery record, succeeded', async () => {
    const hook = await d.call('POST', `/v1/tenants/${TENANT}/webhooks`, { url: `https://${HOOK_HOST}/hooks`, events: ['operation.succeeded'] });
    expect(hook.status, JSON.stringify(hook.body)).toBe(201);
    d.receiver.holding = true;
    const res = await d.call('POST', `/v1/tenants/${TENANT}/vms`, {
      name: 'hook-vm',
      image,
      instanceType: 'small',
      diskGi: 10,
      storageClass: 'kv-standard',
      running: false,
      owner: OWNER,
      sshPublicKeys: [sshKey('fault@lab')],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const forOp = () => d.receiver.received.filter((r) => (JSON.parse(r.body) as { data?: { id?: string } }).data?.id === res.body.id);
    // The receiver holds the request open: the worker is in the middle of the delivery.
    await until(
      () => forOp().length > 0,
      120_000,
      () => `the delivery to arrive\n${d.diagnose()}`,
    );
    await lastWorker().kill9();
    d.receiver.holding = false;
    await d.startWorker();

    await until(
      () => forOp().length >= 2,
      120_000,
      () => `the delivery to be sent again\n${d.diagnose()}`,
    );
    const ids = new Set(forOp().map((r) => r.headers['webhook-id']));
    expect(ids.size).toBe(1);
    expect([...ids][0]).toBe(`${res.body.id}.operation.succeeded`);
    const deliveries = await until(
      async () => {
        const items = (await d.call('GET', `/v1/tenants/${TENANT}/webhooks/${hook.body.id}/deliveries`)).body.items as Array<Record<string, any>>;
        return items.some((i) => i['status'] === 'succeeded') ? items : undefined;
      },
      30_000,
      () => 'the delivery record to succeed',
    );
    expect(deliveries.map((i) => `${String(i['eventType'])} ${String(i['status'])}`)).toEqual(['operation.succeeded succeeded']);
  }, 300_000);
});
