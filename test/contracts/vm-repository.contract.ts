import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { uuidV5 } from '../../src/domain/shared/ids.js';
import type { VmRecord, VmSpec } from '../../src/domain/vms/vm.js';
import type { VmEvent, VmRepository } from '../../src/domain/vms/vm-repository.js';
import { deriveVmState } from '../../src/domain/vms/vm-state.js';

/** What the suite reads around the port (what the cluster holds beside the VM). */
export interface VmContractInspect {
  /** The user-data placed next to the VM (its cloud-init Secret), or undefined. */
  placedCloudInit(tenant: string, vm: string): Promise<string | undefined>;
  /** How many disks a delete with `retainDisks` kept for the VM. */
  retainedDisks(tenant: string, vm: string): Promise<number>;
}

export interface VmContractFixture {
  readonly repo: VmRepository;
  /** Two tenants that exist (sorted). */
  readonly tenants: readonly [string, string];
  /** An imported image VMs clone their root disk from. */
  readonly source: VmSpec['source'];
  readonly inspect: VmContractInspect;
  /** Makes the next write fail as an API server outage would. */
  unavailableNext(): void;
  cleanup(): Promise<void>;
}

/** How long the suite waits for the cluster's controllers (the fake settles at once). */
const settle = { timeout: 10_000, interval: 20 };

export function vmSpec(tenant: string, source: VmSpec['source'], overrides: Partial<VmSpec> = {}): VmSpec {
  const name = overrides.name ?? `vm-${randomBytes(3).toString('hex')}`;
  return {
    tenant,
    name,
    id: uuidV5(`${tenant}/${name}`),
    ownerId: 'olga-0001',
    lab: 'cs101',
    image: { scope: 'platform', name: 'golden' },
    source,
    instanceType: 'small',
    cpu: 1,
    memoryGi: 2,
    diskGi: 10,
    storageClass: 'kv-standard',
    arc: false,
    running: false,
    labels: { team: 'red' },
    ...overrides,
  };
}

const stateOf = (vm: VmRecord | undefined) => (vm === undefined ? undefined : deriveVmState(vm.observation).state);

/** The behaviour every VmRepository keeps; `makeFixture` gives a fresh repository per test. */
export function vmRepositoryContract(name: string, makeFixture: () => Promise<VmContractFixture>): void {
  describe(`VmRepository contract: ${name}`, () => {
    let fx: VmContractFixture;
    let repo: VmRepository;
    let t1: string;
    let t2: string;
    const spec = (overrides: Partial<VmSpec> = {}, tenant = t1) => vmSpec(tenant, fx.source, overrides);
    const errorOf = (p: Promise<unknown>) =>
      p.then(
        () => undefined,
        (e: unknown) => e,
      );

    beforeEach(async () => {
      fx = await makeFixture();
      repo = fx.repo;
      [t1, t2] = fx.tenants;
    });
    afterEach(async () => {
      await fx?.cleanup();
    });

    describe('create, get, list', () => {
      it('create answers the VM as written, and get and list see it at once', async () => {
        const s = spec({ operationId: 'op-1' });
        const vm = await repo.create(s);
        expect(vm).toMatchObject({
          tenant: t1,
          name: s.name,
          id: s.id,
          ownerId: 'olga-0001',
          lab: 'cs101',
          image: s.image,
          instanceType: 'small',
          cpu: 1,
          memoryGi: 2,
          diskGi: 10,
          storageClass: 'kv-standard',
          arc: false,
          labels: { team: 'red' },
          runStrategy: 'Halted',
          operationId: 'op-1',
          deleting: false,
        });
        expect(Number.isNaN(Date.parse(vm.createdAt))).toBe(false);
        expect(vm.version).not.toBe('');
        expect((await repo.get(t1, s.name))?.id).toBe(s.id);
        expect((await repo.list(t1)).map((v) => v.name)).toContain(s.name);
      });

      it('a VM created running has run strategy Always; optional fields left out stay absent', async () => {
        const { lab: _l, instanceType: _i, ...bare } = spec({ running: true, labels: {} });
        const vm = await repo.create(bare);
        expect(vm.runStrategy).toBe('Always');
        expect(vm.lab).toBeUndefined();
        expect(vm.instanceType).toBeUndefined();
        expect(vm.operationId).toBeUndefined();
        expect(vm.labels).toEqual({});
      });

      it('get of an absent VM is undefined', async () => {
        expect(await repo.get(t1, 'no-such-vm')).toBeUndefined();
      });

      it('list of a tenant is sorted by name; without a tenant, by tenant then name', async () => {
        for (const [tenant, n] of [
          [t2, 'b'],
          [t1, 'c'],
          [t1, 'a'],
          [t2, 'a'],
        ] as const)
          await repo.create(spec({ name: `vm-${n}` }, tenant));
        expect((await repo.list(t1)).map((v) => v.name)).toEqual(['vm-a', 'vm-c']);
        expect((await repo.list()).map((v) => `${v.tenant}/${v.name}`)).toEqual([`${t1}/vm-a`, `${t1}/vm-c`, `${t2}/vm-a`, `${t2}/vm-b`]);
      });

      it('a create retried by the same operation answers the VM; any other create of the name is VM_EXISTS', async () => {
        const s = spec({ operationId: 'op-a' });
        const first = await repo.create(s);
        expect((await repo.create(s)).id).toBe(first.id);
        expect(await errorOf(repo.create({ ...s, operationId: 'op-b' }))).toMatchObject({ kind: 'conflict', code: 'VM_EXISTS' });
        const { operationId: _o, ...anonymous } = s;
        expect(await errorOf(repo.create(anonymous))).toMatchObject({ kind: 'conflict', code: 'VM_EXISTS' });
        expect((await repo.list(t1)).length).toBe(1);
      });

      it('a VM of a tenant that does not exist is TENANT_NOT_FOUND', async () => {
        expect(await errorOf(repo.create(spec({}, 'no-such-tenant')))).toMatchObject({ kind: 'not_found', code: 'TENANT_NOT_FOUND' });
        expect(await repo.list('no-such-tenant')).toEqual([]);
      });

      it('an API server outage is UpstreamUnavailableError, and nothing is created', async () => {
        const s = spec();
        fx.unavailableNext();
        expect(await errorOf(repo.create(s))).toMatchObject({ kind: 'upstream_unavailable' });
        expect(await repo.get(t1, s.name)).toBeUndefined();
        expect((await repo.create(s)).name).toBe(s.name);
      });
    });

    describe('run state', () => {
      it('a VM created running comes to run an instance on a node; one created halted is Stopped without one', async () => {
        const on = await repo.create(spec({ running: true }));
        const off = await repo.create(spec());
        await expect.poll(async () => stateOf(await repo.get(t1, on.name)), settle).toBe('Running');
        const running = await repo.get(t1, on.name);
        expect(running?.instance).toMatchObject({ cpu: 1, memoryGi: 2 });
        expect(running?.instance?.uid).not.toBe('');
        expect((await repo.nodes()).map((n) => n.name)).toContain(running?.nodeName);
        await expect.poll(async () => stateOf(await repo.get(t1, off.name)), settle).toBe('Stopped');
        expect((await repo.get(t1, off.name))?.instance).toBeUndefined();
      });

      it('start and stop change the run strategy and the instance follows; restart gives a new instance', async () => {
        const s = spec();
        await repo.create(s);
        await repo.act(t1, s.name, 'start');
        // A power action answers nothing to remember: the cluster's change reaches reads eventually.
        await expect.poll(async () => (await repo.get(t1, s.name))?.runStrategy, settle).toBe('Always');
        await expect.poll(async () => (await repo.get(t1, s.name))?.instance?.uid, settle).toBeDefined();
        await expect.poll(async () => stateOf(await repo.get(t1, s.name)), settle).toBe('Running');
        const before = (await repo.get(t1, s.name))?.instance?.uid;
        await repo.act(t1, s.name, 'restart');
        await expect.poll(async () => (await repo.get(t1, s.name))?.instance?.uid, settle).not.toBe(before);
        await expect.poll(async () => (await repo.get(t1, s.name))?.instance, settle).toBeDefined();
        await repo.act(t1, s.name, 'stop');
        await expect.poll(async () => (await repo.get(t1, s.name))?.runStrategy, settle).toBe('Halted');
        await expect.poll(async () => (await repo.get(t1, s.name))?.instance, settle).toBeUndefined();
      });

      it('actions that make no sense for the run strategy are refused as VM_ACTION_REFUSED', async () => {
        const off = await repo.create(spec());
        const on = await repo.create(spec({ running: true }));
        for (const action of ['stop', 'restart'] as const) {
          expect(await errorOf(repo.act(t1, off.name, action))).toMatchObject({ kind: 'conflict', code: 'VM_ACTION_REFUSED' });
        }
        expect(await errorOf(repo.act(t1, on.name, 'start'))).toMatchObject({ kind: 'conflict', code: 'VM_ACTION_REFUSED' });
        expect((await repo.get(t1, off.name))?.runStrategy).toBe('Halted');
      });

      it('an action on an absent VM is VM_NOT_FOUND', async () => {
        expect(await errorOf(repo.act(t1, 'no-such-vm', 'start'))).toMatchObject({ kind: 'not_found', code: 'VM_NOT_FOUND' });
      });
    });

    describe('update', () => {
      it('applies each field of a change, moves the version, and the next read sees it', async () => {
        const s = spec();
        const created = await repo.create(s);
        const updated = await repo.update(t1, s.name, { cpu: 2, memoryGi: 4, instanceType: 'medium', droppedAt: '2026-01-02T03:04:05.000Z' });
        expect(updated).toMatchObject({ cpu: 2, memoryGi: 4, instanceType: 'medium', droppedAt: '2026-01-02T03:04:05.000Z' });
        expect(updated.version).not.toBe(created.version);
        expect(await repo.get(t1, s.name)).toMatchObject({ cpu: 2, memoryGi: 4, instanceType: 'medium', droppedAt: '2026-01-02T03:04:05.000Z' });
        const cleared = await repo.update(t1, s.name, { instanceType: null, droppedAt: null });
        expect(cleared.instanceType).toBeUndefined();
        expect(cleared.droppedAt).toBeUndefined();
        expect(cleared.cpu).toBe(2);
        expect((await repo.update(t1, s.name, { running: true })).runStrategy).toBe('Always');
        expect((await repo.update(t1, s.name, { running: false })).runStrategy).toBe('Halted');
      });

      it('a new size reaches a running VM at its next start: the instance keeps the old one until a restart', async () => {
        const s = spec({ running: true });
        await repo.create(s);
        await expect.poll(async () => stateOf(await repo.get(t1, s.name)), settle).toBe('Running');
        await repo.update(t1, s.name, { cpu: 2, memoryGi: 4 });
        expect((await repo.get(t1, s.name))?.instance).toMatchObject({ cpu: 1, memoryGi: 2 });
        await repo.act(t1, s.name, 'restart');
        await expect.poll(async () => (await repo.get(t1, s.name))?.instance, settle).toMatchObject({ cpu: 2, memoryGi: 4 });
      });

      it('an update of an absent VM is VM_NOT_FOUND', async () => {
        expect(await errorOf(repo.update(t1, 'no-such-vm', { cpu: 2 }))).toMatchObject({ kind: 'not_found', code: 'VM_NOT_FOUND' });
      });
    });

    describe('identity', () => {
      it('setIdentity records where the Azure identity stands; an absent VM is VM_NOT_FOUND', async () => {
        const s = spec({ arc: true });
        await repo.create(s);
        const identity = {
          arcStatus: 'Connected',
          machineResourceId: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.HybridCompute/machines/m',
          extensionState: 'Succeeded',
          ready: true,
        };
        await repo.setIdentity(t1, s.name, { ...identity, arcStatus: 'Pending', ready: false });
        await repo.setIdentity(t1, s.name, identity);
        expect((await repo.get(t1, s.name))?.identity).toEqual(identity);
        expect(await errorOf(repo.setIdentity(t1, 'no-such-vm', identity))).toMatchObject({ kind: 'not_found', code: 'VM_NOT_FOUND' });
      });
    });

    describe('cloud-init', () => {
      it('staged cloud-init is placed next to the VM once it exists, and leaves the staging area', async () => {
        const s = spec();
        await repo.putCloudInit(t1, s.name, '#cloud-config\n# first\n');
        await repo.putCloudInit(t1, s.name, '#cloud-config\n# second\n');
        await repo.adoptCloudInit(t1, s.name); // no VM yet: nothing to place it next to
        expect(await fx.inspect.placedCloudInit(t1, s.name)).toBeUndefined();
        const staged = await repo.listStagedCloudInit();
        expect(staged.filter((x) => x.tenant === t1 && x.name === s.name)).toHaveLength(1);
        expect(Number.isNaN(Date.parse(staged[0]?.stagedAt ?? ''))).toBe(false);
        await repo.create(s);
        await repo.adoptCloudInit(t1, s.name);
        expect(await fx.inspect.placedCloudInit(t1, s.name)).toBe('#cloud-config\n# second\n');
        expect(await repo.listStagedCloudInit()).toEqual([]);
        await repo.adoptCloudInit(t1, s.name); // nothing staged any more: a no-op
        expect(await fx.inspect.placedCloudInit(t1, s.name)).toBe('#cloud-config\n# second\n');
      });

      it('with a scrubbed version staged, scrub replaces the placed user-data once, then answers false', async () => {
        const s = spec();
        await repo.create(s);
        await repo.putCloudInit(t1, s.name, 'token=secret', 'token=');
        await repo.adoptCloudInit(t1, s.name);
        expect(await fx.inspect.placedCloudInit(t1, s.name)).toBe('token=secret');
        expect((await repo.listStagedCloudInit()).map((x) => x.name)).toEqual([s.name]);
        expect(await repo.scrubCloudInit(t1, s.name)).toBe(true);
        expect(await fx.inspect.placedCloudInit(t1, s.name)).toBe('token=');
        expect(await repo.listStagedCloudInit()).toEqual([]);
        expect(await repo.scrubCloudInit(t1, s.name)).toBe(false);
        expect(await repo.scrubCloudInit(t1, 'no-such-vm')).toBe(false);
      });

      it('staged copies are listed oldest first; deleteStagedCloudInit removes one, deleteCloudInit both copies; absent ones are fine', async () => {
        const a = spec();
        const b = spec();
        await repo.putCloudInit(t1, a.name, 'a');
        await repo.putCloudInit(t2, b.name, 'b');
        const staged = await repo.listStagedCloudInit();
        expect(staged.map((x) => `${x.tenant}/${x.name}`).sort()).toEqual([`${t1}/${a.name}`, `${t2}/${b.name}`].sort());
        expect([...staged].sort((x, y) => x.stagedAt.localeCompare(y.stagedAt))).toEqual(staged);
        await repo.deleteStagedCloudInit(t2, b.name);
        await repo.deleteStagedCloudInit(t2, b.name);
        expect((await repo.listStagedCloudInit()).map((x) => x.name)).toEqual([a.name]);

        await repo.create(a);
        await repo.putCloudInit(t1, a.name, 'a', 'scrubbed');
        await repo.adoptCloudInit(t1, a.name);
        await repo.deleteCloudInit(t1, a.name);
        expect(await fx.inspect.placedCloudInit(t1, a.name)).toBeUndefined();
        expect(await repo.listStagedCloudInit()).toEqual([]);
        await repo.deleteCloudInit(t1, a.name);
      });
    });

    describe('delete', () => {
      it('delete answers true and the VM is gone from the next read; then it answers false', async () => {
        const s = spec({ running: true });
        await repo.create(s);
        expect(await repo.delete(t1, s.name, { retainDisks: false })).toBe(true);
        expect(await repo.get(t1, s.name)).toBeUndefined();
        expect((await repo.list(t1)).map((v) => v.name)).not.toContain(s.name);
        expect(await repo.delete(t1, s.name, { retainDisks: false })).toBe(false);
      });

      it('with retainDisks the disks stay; without, they go with the VM', async () => {
        const kept = spec();
        const dropped = spec();
        await repo.create(kept);
        await repo.create(dropped);
        await expect.poll(async () => stateOf(await repo.get(t1, kept.name)), settle).toBe('Stopped');
        await expect.poll(async () => stateOf(await repo.get(t1, dropped.name)), settle).toBe('Stopped');
        expect(await repo.delete(t1, kept.name, { retainDisks: true })).toBe(true);
        expect(await repo.delete(t1, dropped.name, { retainDisks: false })).toBe(true);
        await expect.poll(() => fx.inspect.retainedDisks(t1, kept.name), settle).toBe(1);
        expect(await fx.inspect.retainedDisks(t1, dropped.name)).toBe(0);
      });
    });

    describe('migration', () => {
      it('a migration of a running VM succeeds and moves it to another node; the VM shows it as its latest', async () => {
        const s = spec({ running: true });
        await repo.create(s);
        await expect.poll(async () => stateOf(await repo.get(t1, s.name)), settle).toBe('Running');
        const source = (await repo.get(t1, s.name))?.nodeName;
        await repo.migrate(t1, s.name, `${s.name}-mig-1`);
        await repo.migrate(t1, s.name, `${s.name}-mig-1`); // the same name again: a no-op
        await expect.poll(async () => (await repo.migration(t1, `${s.name}-mig-1`))?.phase, settle).toBe('Succeeded');
        const m = await repo.migration(t1, `${s.name}-mig-1`);
        expect(m).toMatchObject({ name: `${s.name}-mig-1`, sourceNode: source });
        expect(m?.targetNode).not.toBe(source);
        await expect.poll(async () => (await repo.get(t1, s.name))?.nodeName, settle).toBe(m?.targetNode);
        expect((await repo.get(t1, s.name))?.migration).toMatchObject({ name: `${s.name}-mig-1`, phase: 'Succeeded' });
      });

      it('a migration of a VM that does not run fails with a reason; an unknown migration is undefined', async () => {
        const s = spec();
        await repo.create(s);
        await expect.poll(async () => stateOf(await repo.get(t1, s.name)), settle).toBe('Stopped');
        await repo.migrate(t1, s.name, `${s.name}-mig-1`);
        await expect.poll(async () => (await repo.migration(t1, `${s.name}-mig-1`))?.phase, settle).toBe('Failed');
        expect((await repo.migration(t1, `${s.name}-mig-1`))?.failureReason).toBeTruthy();
        expect(await repo.migration(t1, 'no-such-migration')).toBeUndefined();
      });
    });

    describe('nodes', () => {
      it('lists the nodes that run VMs, sorted by name, with their allocatable size', async () => {
        const nodes = await repo.nodes();
        expect(nodes.length).toBeGreaterThan(1);
        expect(nodes.map((n) => n.name)).toEqual(nodes.map((n) => n.name).sort());
        for (const n of nodes) {
          expect(n).toMatchObject({ ready: true, schedulable: true });
          expect(n.cpu).toBeGreaterThan(0);
          expect(n.memoryGi).toBeGreaterThan(0);
        }
      });
    });

    describe('watch', () => {
      it('delivers what the cluster does to a VM, not only what the platform writes: its instance appears', async () => {
        const events: VmEvent[] = [];
        repo.watch((e) => events.push(e));
        const s = spec({ running: true });
        await repo.create(s);
        await expect.poll(() => events.some((e) => e.name === s.name && e.vm?.instance !== undefined), settle).toBe(true);
      });

      it('delivers changes and deletions of VMs until unsubscribed', async () => {
        const events: VmEvent[] = [];
        const unsubscribe = repo.watch((e) => events.push(e));
        const s = spec({ running: true });
        await repo.create(s);
        await expect
          .poll(() => events.some((e) => e.type === 'changed' && e.name === s.name && e.tenant === t1 && e.vm?.instance !== undefined), settle)
          .toBe(true);
        await repo.delete(t1, s.name, { retainDisks: false });
        await expect.poll(() => events.some((e) => e.type === 'deleted' && e.name === s.name), settle).toBe(true);
        // A deletion carries the VM's last state, without the instance that went with it.
        const last = events.find((e) => e.type === 'deleted' && e.name === s.name)?.vm;
        expect(last?.id).toBe(s.id);
        expect(last?.instance).toBeUndefined();
        unsubscribe();
        const heard = events.length;
        const witness: VmEvent[] = [];
        repo.watch((e) => witness.push(e));
        const later = spec();
        await repo.create(later);
        // Once a listener still attached heard the create, the detached one would have too.
        await expect.poll(() => witness.some((e) => e.name === later.name), settle).toBe(true);
        expect(events.slice(heard).filter((e) => e.name === later.name)).toEqual([]);
      });
    });
  });
}
