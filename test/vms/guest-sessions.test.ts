import { afterEach, describe, expect, it } from 'vitest';
import { createKubeGuestSessions } from '../../src/adapters/kubernetes/vm-guest.js';
import { virtualMachineObject } from '../../src/adapters/kubernetes/vm-objects.js';
import { AGENT_CONNECTED, createVmLifecycleController, schemaValidatorFor, type KubeObject } from '../../src/adapters/sim/kube-emulator/index.js';
import { UpstreamUnavailableError } from '../../src/domain/shared/errors.js';
import type { GuestSessionSource } from '../../src/domain/vms/guest-sessions.js';
import type { VmSpec } from '../../src/domain/vms/vm.js';
import { createNamespace, startCluster, type Cluster } from '../emulator/support.js';
import { emulatorClient } from '../kubernetes/support/kube-fixture.js';
import { manualScheduler, type ManualScheduler } from '../support/manual-scheduler.js';
import { VM, VMI } from './support.js';

// The VM lifecycle controller runs on a manual scheduler: a VM is Starting for START_MS and Stopping
// for STOP_MS of simulated time, so "not running yet" and "stopping" are asserted without sleeping.
const NS = 'guests';
const OTHER = 'guests-b';
const START_MS = 100;
const STOP_MS = 100;
const USERLIST = (ns: string, name: string) => `/apis/subresources.kubevirt.io/v1/namespaces/${ns}/virtualmachineinstances/${name}/userlist`;

let c: Cluster | undefined;
let time: ManualScheduler;
let source: GuestSessionSource;
afterEach(async () => {
  await c?.emu.close();
  c = undefined;
});

type Json = Record<string, any>;
const spec = (name: string, tenant = NS): VmSpec => ({
  tenant,
  name,
  id: `id-${name}`,
  ownerId: 'olga',
  image: { scope: 'platform', name: 'img' },
  source: { namespace: 'images', pvcName: 'img' },
  cpu: 1,
  memoryGi: 2,
  diskGi: 10,
  storageClass: 'kv-standard',
  arc: false,
  running: true,
  labels: {},
});

async function cluster(opts: { guestAgent?: boolean } = {}): Promise<Cluster> {
  time = manualScheduler();
  c = await startCluster({
    recordRequests: true,
    controllers: [createVmLifecycleController({ startMs: START_MS, stopMs: STOP_MS, scheduler: time, ...opts })],
  });
  for (const ns of [NS, OTHER, 'images']) await createNamespace(c, ns);
  await c.core.createNamespacedPersistentVolumeClaim({
    namespace: 'images',
    body: { metadata: { name: 'img' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Gi' } } } },
  });
  source = createKubeGuestSessions({ client: emulatorClient(c.emu.url) });
  return c;
}

/** Creates a VM and moves time until it runs. */
async function runningVm(cl: Cluster, name: string, tenant = NS): Promise<void> {
  await cl.custom.createNamespacedCustomObject({
    group: 'kubevirt.io',
    version: 'v1',
    plural: 'virtualmachines',
    namespace: tenant,
    body: virtualMachineObject(spec(name, tenant)),
  });
  time.advance(START_MS);
  expect((cl.emu.store.get(VMI, tenant, name)?.status as Json | undefined)?.phase).toBe('Running');
}

function setRunStrategy(cl: Cluster, name: string, runStrategy: string): void {
  const vm = cl.emu.store.get(VM, NS, name) as KubeObject;
  vm.spec = { ...(vm.spec as Json), runStrategy };
  delete vm.metadata.resourceVersion;
  cl.emu.store.update(VM, vm);
}

const agentCondition = (cl: Cluster, name: string): Json | undefined =>
  ((cl.emu.store.get(VMI, NS, name)?.status as Json | undefined)?.conditions as Json[] | undefined)?.find((x) => x.type === AGENT_CONNECTED);

async function rawUserList(cl: Cluster, ns: string, name: string): Promise<{ status: number; type: string | null; text: string }> {
  const res = await fetch(`${cl.emu.url}${USERLIST(ns, name)}`, { headers: { accept: 'application/json' } });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

describe('guest sessions from the userlist subresource (real adapter over the emulator)', () => {
  it('lists the users logged into a running guest, each once with its earliest login, and sees logins open and close', async () => {
    const cl = await cluster();
    await runningVm(cl, 'vm1');
    expect(agentCondition(cl, 'vm1')).toMatchObject({ status: 'True' });
    expect(await source.guestSessions(NS, 'vm1')).toEqual({ available: true, sessions: [] });

    const first = cl.emu.guestAgents.openSession(NS, 'vm1', { userName: 'student', loginTime: new Date('2026-01-05T08:00:00.250Z') });
    cl.emu.guestAgents.openSession(NS, 'vm1', { userName: 'Administrator', domain: 'LAB', loginTime: new Date('2026-01-05T08:05:00Z') });
    const second = cl.emu.guestAgents.openSession(NS, 'vm1', { userName: 'student', loginTime: new Date('2026-01-05T08:10:00Z') });
    expect(await source.guestSessions(NS, 'vm1')).toEqual({
      available: true,
      sessions: [
        { user: 'student', loginAt: '2026-01-05T08:00:00.250Z' },
        { user: 'Administrator', domain: 'LAB', loginAt: '2026-01-05T08:05:00.000Z' },
      ],
    });

    // The earliest session ends: the user is still in, with the login time of the one left.
    expect(cl.emu.guestAgents.closeSession(first)).toBe(true);
    expect(await source.guestSessions(NS, 'vm1')).toMatchObject({
      sessions: [{ user: 'Administrator' }, { user: 'student', loginAt: '2026-01-05T08:10:00.000Z' }],
    });
    cl.emu.guestAgents.closeSession(second);
    expect(await source.guestSessions(NS, 'vm1')).toEqual({
      available: true,
      sessions: [{ user: 'Administrator', domain: 'LAB', loginAt: '2026-01-05T08:05:00.000Z' }],
    });
    expect(cl.emu.guestAgents.closeSession(second)).toBe(false);

    // The request is the real one: GET of the subresource, which RBAC sees as `get virtualmachineinstances/userlist`.
    const asked = cl.emu.recordedRequests().resource.filter((r) => r.subresource === 'userlist');
    expect(asked.length).toBe(4);
    expect(asked[0]).toEqual({
      kind: 'resource',
      verb: 'get',
      apiGroup: 'subresources.kubevirt.io',
      apiVersion: 'v1',
      resource: 'virtualmachineinstances',
      subresource: 'userlist',
      namespace: NS,
      name: 'vm1',
    });
  });

  it("reads only the tenant's own VM: the same name in another tenant has its own guest", async () => {
    const cl = await cluster();
    await runningVm(cl, 'same');
    await runningVm(cl, 'same', OTHER);
    cl.emu.guestAgents.openSession(OTHER, 'same', { userName: 'intruder' });
    expect(await source.guestSessions(NS, 'same')).toEqual({ available: true, sessions: [] });
    expect(await source.guestSessions(OTHER, 'same')).toMatchObject({ sessions: [{ user: 'intruder' }] });
  });

  it('a guest agent that disconnects makes the sessions unavailable (not "nobody"), and they come back when it reconnects', async () => {
    const cl = await cluster();
    await runningVm(cl, 'vm1');
    cl.emu.guestAgents.openSession(NS, 'vm1', { userName: 'student' });
    cl.emu.guestAgents.disconnectAgent(NS, 'vm1');
    expect(agentCondition(cl, 'vm1')).toBeUndefined();
    expect(await source.guestSessions(NS, 'vm1')).toEqual({ available: false, reason: 'guest-agent-not-connected' });
    cl.emu.guestAgents.connectAgent(NS, 'vm1');
    expect(agentCondition(cl, 'vm1')).toMatchObject({ status: 'True' });
    expect(await source.guestSessions(NS, 'vm1')).toMatchObject({ available: true, sessions: [{ user: 'student' }] });
  });

  it('a guest without an agent is unavailable from the start', async () => {
    const cl = await cluster({ guestAgent: false });
    await runningVm(cl, 'bare');
    expect(agentCondition(cl, 'bare')).toBeUndefined();
    expect(await source.guestSessions(NS, 'bare')).toEqual({ available: false, reason: 'guest-agent-not-connected' });
  });

  it('a VM that is starting, stopping or stopped, and a VM that does not exist, are unavailable as not running', async () => {
    const cl = await cluster();
    await cl.custom.createNamespacedCustomObject({
      group: 'kubevirt.io',
      version: 'v1',
      plural: 'virtualmachines',
      namespace: NS,
      body: virtualMachineObject(spec('vm1')),
    });
    time.advance(0);
    expect((cl.emu.store.get(VMI, NS, 'vm1')?.status as Json | undefined)?.phase).toBe('Scheduling');
    expect(await source.guestSessions(NS, 'vm1')).toEqual({ available: false, reason: 'vm-not-running' });
    time.advance(START_MS);
    const login = cl.emu.guestAgents.openSession(NS, 'vm1', { userName: 'student' });
    expect(await source.guestSessions(NS, 'vm1')).toMatchObject({ available: true });

    setRunStrategy(cl, 'vm1', 'Halted');
    time.advance(STOP_MS);
    expect(cl.emu.store.get(VMI, NS, 'vm1')).toBeUndefined();
    expect(await source.guestSessions(NS, 'vm1')).toEqual({ available: false, reason: 'vm-not-running' });
    expect(cl.emu.guestAgents.closeSession(login)).toBe(false);
    expect(await source.guestSessions(NS, 'never-was')).toEqual({ available: false, reason: 'vm-not-running' });

    // Started again, the guest boots afresh: the logins of the last run are gone.
    setRunStrategy(cl, 'vm1', 'Always');
    time.advance(START_MS);
    expect(await source.guestSessions(NS, 'vm1')).toEqual({ available: true, sessions: [] });
  });

  it('a VMI whose phase is not Running (Succeeded while it is torn down) is unavailable as not running', async () => {
    const cl = await cluster();
    await runningVm(cl, 'vm1');
    const vmi = cl.emu.store.get(VMI, NS, 'vm1') as KubeObject;
    vmi.status = { ...(vmi.status as Json), phase: 'Succeeded' };
    delete vmi.metadata.resourceVersion;
    cl.emu.store.update(VMI, vmi);
    expect(await source.guestSessions(NS, 'vm1')).toEqual({ available: false, reason: 'vm-not-running' });
  });

  it('answers like virt-api: 200 with a v1.VirtualMachineInstanceGuestOSUserList, refusals as 500 with a plain-text reason', async () => {
    const cl = await cluster();
    await runningVm(cl, 'vm1');
    cl.emu.guestAgents.openSession(NS, 'vm1', { userName: 'student', loginTime: new Date('2026-01-05T08:00:00.5Z') });
    cl.emu.guestAgents.openSession(NS, 'vm1', { userName: 'Administrator', domain: 'LAB' });
    const ok = await rawUserList(cl, NS, 'vm1');
    expect(ok.status).toBe(200);
    const list = JSON.parse(ok.text) as Json;
    expect(list.items[0]).toEqual({ userName: 'student', loginTime: 1767600000.5 });
    const validator = schemaValidatorFor();
    expect(validator.validate({ doc: 'kubevirt', definition: 'v1.VirtualMachineInstanceGuestOSUserList' }, structuredClone(list)).causes).toEqual([]);

    cl.emu.guestAgents.disconnectAgent(NS, 'vm1');
    expect(await rawUserList(cl, NS, 'vm1')).toEqual({
      status: 500,
      type: 'text/plain; charset=utf-8',
      text: 'Operation cannot be fulfilled on virtualmachineinstance.kubevirt.io "vm1": VMI does not have guest agent connected',
    });
    expect(await rawUserList(cl, NS, 'nope')).toMatchObject({ status: 500, text: 'virtualmachineinstance.kubevirt.io "nope" not found' });
    setRunStrategy(cl, 'vm1', 'Halted');
    time.advance(0);
    const vmi = cl.emu.store.get(VMI, NS, 'vm1') as KubeObject;
    vmi.status = { ...(vmi.status as Json), phase: 'Failed' };
    delete vmi.metadata.resourceVersion;
    cl.emu.store.update(VMI, vmi);
    expect(await rawUserList(cl, NS, 'vm1')).toMatchObject({
      status: 500,
      text: 'Operation cannot be fulfilled on virtualmachineinstance.kubevirt.io "vm1": VMI is not running',
    });

    const post = await fetch(`${cl.emu.url}${USERLIST(NS, 'vm1')}`, { method: 'POST' });
    expect(post.status).toBe(405);
    const discovery = (await (await fetch(`${cl.emu.url}/apis/subresources.kubevirt.io/v1`)).json()) as Json;
    expect(discovery.resources).toContainEqual(expect.objectContaining({ name: 'virtualmachineinstances/userlist', verbs: ['get'] }));
  });

  it('a failing API server or virt-api is the retryable upstream error, never "no sessions"', async () => {
    const cl = await cluster();
    await runningVm(cl, 'vm1');
    cl.emu.faults.failNext(1, { status: 503, method: 'GET', pathPrefix: USERLIST(NS, 'vm1') });
    await expect(source.guestSessions(NS, 'vm1')).rejects.toBeInstanceOf(UpstreamUnavailableError);
    cl.emu.faults.failNext(1, { status: 500, method: 'GET', pathPrefix: USERLIST(NS, 'vm1') });
    await expect(source.guestSessions(NS, 'vm1')).rejects.toBeInstanceOf(UpstreamUnavailableError);
    expect(await source.guestSessions(NS, 'vm1')).toEqual({ available: true, sessions: [] });
  });
});
