import { randomUUID } from 'node:crypto';
import { createFaultGate } from './fault-gate.js';
import { ConflictError, NotFoundError } from '../../domain/shared/errors.js';
import { systemClock, type Clock, type IdGenerator } from '../../domain/shared/ids.js';
import type { NodeRecord, VmChange, VmMigration, VmRecord, VmSpec } from '../../domain/vms/vm.js';
import type { VmEvent, VmPowerAction, VmRepository } from '../../domain/vms/vm-repository.js';
import type { VmObservation } from '../../domain/vms/vm-state.js';

/**
 * How the fake plays the cluster's controllers.
 * - `instant` (default): every write settles at once, as a virt-controller with no delays would:
 *   a VM whose run strategy asks for it is Running with an instance on a node, else Stopped;
 *   a migration of a running VM succeeds and moves it to another node, of a stopped one fails.
 * - `manual`: nothing happens by itself; a new VM reports no status (Provisioning) and a new
 *   migration is Pending until the test calls {@link MemoryVmRepository.settle},
 *   {@link MemoryVmRepository.observe} or {@link MemoryVmRepository.setMigration}.
 */
export type MemoryVmLifecycle = 'instant' | 'manual';

/** Options of {@link createMemoryVmRepository}; all optional. */
export interface MemoryVmRepositoryOptions {
  readonly clock?: Clock;
  /** Makes instance uids (random UUIDs by default). */
  readonly ids?: IdGenerator;
  readonly lifecycle?: MemoryVmLifecycle;
  /** Nodes that run VMs (default: three ready nodes `node-0`..`node-2`, 16 cores and 64 GiB each). */
  readonly nodes?: readonly NodeRecord[];
  /** VMs present from the start (created as `create` would). */
  readonly vms?: readonly VmSpec[];
  /**
   * Tenants that exist (their namespace does): a VM of any other tenant is NotFoundError
   * `TENANT_NOT_FOUND`, as in the Kubernetes adapter. Absent: every tenant exists.
   */
  readonly tenants?: readonly string[];
}

/** What the cluster reports about a VM beyond its spec (a test sets it in `manual` lifecycle). */
export interface VmObserved {
  readonly observation?: VmObservation;
  /** `null` removes it. */
  readonly nodeName?: string | null;
  /** `null` removes it (no running instance). */
  readonly instance?: VmRecord['instance'] | null;
}

/**
 * In-memory `VmRepository` with the semantics of the Kubernetes adapter (the contract suite
 * `test/contracts/vm-repository.contract.ts` runs against both), without any Kubernetes object:
 * one version counter for all VMs, idempotent writes, KubeVirt's refusals of power actions that
 * make no sense for the run strategy, cloud-init staged apart and placed next to its VM, disks
 * released on a delete that retains them. Listeners are called synchronously, after the change is
 * visible to reads. Adds seeding, controller stand-ins and fault injection for tests.
 */
export interface MemoryVmRepository extends VmRepository {
  /** The next call (any port method) rejects with `err` and changes nothing. */
  failNext(err: Error): void;
  /** Applies the `instant` lifecycle once to one VM, or to every VM (for `manual` tests). */
  settle(tenant?: string, name?: string): void;
  /** Sets what the cluster reports about a VM; throws NotFoundError when absent. */
  observe(tenant: string, name: string, observed: VmObserved): VmRecord;
  /** Moves a migration to a phase (the migration controller's part). */
  setMigration(tenant: string, migrationName: string, migration: Pick<VmMigration, 'phase'> & Partial<VmMigration>): void;
  /** Marks a VM as being deleted (a finalizer holds it): `deleting` becomes true, it stays readable. */
  markDeleting(tenant: string, name: string): VmRecord;
  setNodes(nodes: readonly NodeRecord[]): void;
  /** The user-data placed next to a VM (its cloud-init Secret), if any. */
  placedCloudInit(tenant: string, name: string): string | undefined;
  /** Names of the VMs whose disks were kept by a delete with `retainDisks`, per tenant. */
  retainedDisks(tenant: string): readonly string[];
  /** Every power action received, oldest first (refused ones included). */
  readonly actions: ReadonlyArray<{ readonly tenant: string; readonly name: string; readonly action: VmPowerAction }>;
  /** For symmetry with the Kubernetes adapter; nothing to start. */
  start(): Promise<boolean>;
  close(): Promise<void>;
}

interface Staged {
  readonly userData: string;
  readonly scrubbed?: string;
  readonly stagedAt: string;
}

interface Migration extends VmMigration {
  readonly tenant: string;
  readonly vm: string;
  readonly seq: number;
}

const DEFAULT_NODES: readonly NodeRecord[] = [0, 1, 2].map((i) => ({ name: `node-${i}`, ready: true, schedulable: true, cpu: 16, memoryGi: 64 }));
const TERMINAL = new Set(['Succeeded', 'Failed']);
const RUNNING: VmObservation = {
  printableStatus: 'Running',
  conditions: [{ type: 'Ready', status: 'True' }],
  vmi: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }], migrating: false },
};
const STOPPED: VmObservation = { printableStatus: 'Stopped', conditions: [] };

const key = (tenant: string, name: string): string => `${tenant}/${name}`;
const publicMigration = ({ tenant: _t, vm: _v, seq: _s, ...migration }: Migration): VmMigration => migration;
const byTenantAndName = (a: VmRecord, b: VmRecord): number =>
  a.tenant === b.tenant ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.tenant < b.tenant ? -1 : 1;

/** Whether KubeVirt keeps an instance running for this run strategy (Manual: whatever was asked last). */
function wantsInstance(vm: VmRecord, manualWants: boolean | undefined): boolean {
  if (vm.runStrategy === 'Manual') return manualWants ?? vm.instance !== undefined;
  return vm.runStrategy !== 'Halted';
}

export function createMemoryVmRepository(options: MemoryVmRepositoryOptions = {}): MemoryVmRepository {
  const clock = options.clock ?? systemClock;
  const nextUid = () => options.ids?.next() ?? randomUUID();
  const lifecycle = options.lifecycle ?? 'instant';
  const tenants = options.tenants === undefined ? undefined : new Set(options.tenants);
  const vms = new Map<string, VmRecord>();
  const manualWants = new Map<string, boolean>();
  const migrations = new Map<string, Migration>();
  const staged = new Map<string, Staged>();
  const placed = new Map<string, string>();
  const retained = new Map<string, string[]>();
  const listeners = new Set<(event: VmEvent) => void>();
  const actions: Array<{ tenant: string; name: string; action: VmPowerAction }> = [];
  let nodes = [...(options.nodes ?? DEFAULT_NODES)];
  let version = 0;
  let migrationSeq = 0;
  const gate = createFaultGate();
  const { enter } = gate;

  const nextVersion = () => String(++version);

  function emit(event: VmEvent): void {
    for (const listener of [...listeners]) {
      try {
        listener(structuredClone(event));
      } catch {
        // Listeners must not throw; one that does must not break the write or the other listeners.
      }
    }
  }

  function latestMigration(tenant: string, vm: string): VmMigration | undefined {
    let best: Migration | undefined;
    for (const m of migrations.values()) if (m.tenant === tenant && m.vm === vm && (best === undefined || m.seq > best.seq)) best = m;
    return best === undefined ? undefined : publicMigration(best);
  }

  /** Stores a VM with a new version (its latest migration attached) and tells the listeners. */
  function store(next: VmRecord): VmRecord {
    const { migration: _old, ...rest } = next;
    const migration = latestMigration(next.tenant, next.name);
    const record: VmRecord = { ...rest, ...(migration === undefined ? {} : { migration }), version: nextVersion() };
    vms.set(key(record.tenant, record.name), record);
    emit({ type: 'changed', tenant: record.tenant, name: record.name, vm: record });
    return record;
  }

  function existing(tenant: string, name: string): VmRecord {
    const vm = vms.get(key(tenant, name));
    if (vm === undefined) throw new NotFoundError('vm', name);
    return vm;
  }

  function leastLoadedNode(exclude?: string): string | undefined {
    const load = new Map<string, number>();
    for (const vm of vms.values()) if (vm.nodeName !== undefined) load.set(vm.nodeName, (load.get(vm.nodeName) ?? 0) + 1);
    return nodes
      .filter((n) => n.ready && n.schedulable && n.name !== exclude)
      .map((n) => n.name)
      .sort((a, b) => (load.get(a) ?? 0) - (load.get(b) ?? 0) || a.localeCompare(b))[0];
  }

  /** The `instant` virt-controller: an instance when the run strategy wants one, none otherwise. */
  function settleVm(vm: VmRecord): VmRecord {
    if (vm.deleting) return vm;
    const { nodeName: _n, instance: _i, ...rest } = vm;
    if (!wantsInstance(vm, manualWants.get(key(vm.tenant, vm.name)))) {
      return vm.instance === undefined && vm.observation.printableStatus === 'Stopped' ? vm : store({ ...rest, observation: STOPPED });
    }
    if (vm.instance !== undefined && vm.observation.printableStatus === 'Running') return vm;
    const nodeName = vm.nodeName ?? leastLoadedNode() ?? nodes[0]?.name ?? 'node-0';
    return store({
      ...rest,
      observation: RUNNING,
      nodeName,
      instance: vm.instance ?? { uid: nextUid(), cpu: vm.cpu, memoryGi: vm.memoryGi, startedAt: clock.now().toISOString() },
    });
  }

  const settled = (vm: VmRecord): VmRecord => (lifecycle === 'instant' ? settleVm(vm) : vm);

  function recordOf(spec: VmSpec): VmRecord {
    const { source: _s, running, operationId, access: _a, labels, ...kept } = spec;
    return {
      ...structuredClone(kept),
      labels: { ...labels },
      runStrategy: running ? 'Always' : 'Halted',
      createdAt: clock.now().toISOString(),
      version: '',
      deleting: false,
      observation: { conditions: [] },
      ...(operationId === undefined ? {} : { operationId }),
    };
  }

  function changed(vm: VmRecord, change: VmChange): VmRecord {
    let next: VmRecord = { ...vm };
    if (change.running !== undefined) next = { ...next, runStrategy: change.running ? 'Always' : 'Halted' };
    if (change.cpu !== undefined) next = { ...next, cpu: change.cpu };
    if (change.memoryGi !== undefined) next = { ...next, memoryGi: change.memoryGi };
    if (change.instanceType !== undefined) {
      const { instanceType: _t, ...rest } = next;
      next = change.instanceType === null ? rest : { ...rest, instanceType: change.instanceType };
    }
    if (change.droppedAt !== undefined) {
      const { droppedAt: _d, ...rest } = next;
      next = change.droppedAt === null ? rest : { ...rest, droppedAt: change.droppedAt };
    }
    return next;
  }

  function refuse(name: string, action: VmPowerAction, why: string): never {
    throw new ConflictError('VM_ACTION_REFUSED', `KubeVirt refused to ${action} VM '${name}': ${why}`);
  }

  /** KubeVirt's answer to a power action: the run strategy changes, or the instance goes (restart). */
  function power(vm: VmRecord, action: VmPowerAction): VmRecord {
    const k = key(vm.tenant, vm.name);
    const strategy = vm.runStrategy;
    if (action === 'start') {
      if (strategy === 'Always' || strategy === 'Once') refuse(vm.name, action, `${strategy} does not support manual start requests`);
      if (strategy === 'Manual') manualWants.set(k, true);
      return strategy === 'Halted' ? store({ ...vm, runStrategy: 'Always' }) : vm;
    }
    if (action === 'stop') {
      if (strategy === 'Halted') refuse(vm.name, action, 'VM is not running');
      if (strategy === 'Manual') {
        manualWants.set(k, false);
        return vm;
      }
      return store({ ...vm, runStrategy: 'Halted' });
    }
    if (strategy === 'Halted') refuse(vm.name, action, 'Halted does not support manual restart requests');
    const { instance: _i, nodeName: _n, ...rest } = vm;
    return store({ ...rest, observation: { ...vm.observation, printableStatus: 'Starting' } });
  }

  /** The `instant` migration controller: a running VM moves to another node, anything else fails. */
  function settleMigration(m: Migration): void {
    if (TERMINAL.has(m.phase)) return;
    const vm = vms.get(key(m.tenant, m.vm));
    const target = vm?.nodeName === undefined ? undefined : leastLoadedNode(vm.nodeName);
    if (vm?.instance === undefined || vm.nodeName === undefined || target === undefined) {
      putMigration({
        ...m,
        phase: 'Failed',
        failureReason: vm?.instance === undefined ? 'The VMI is not running.' : 'No other node can take the VMI.',
      });
      return;
    }
    putMigration({ ...m, phase: 'Succeeded', sourceNode: vm.nodeName, targetNode: target });
    const moved = vms.get(key(m.tenant, m.vm));
    if (moved !== undefined) store({ ...moved, nodeName: target });
  }

  function putMigration(m: Migration): void {
    migrations.set(key(m.tenant, m.name), m);
    const vm = vms.get(key(m.tenant, m.vm));
    if (vm !== undefined) store(vm);
  }

  function clearCloudInit(tenant: string, name: string): void {
    placed.delete(key(tenant, name));
    staged.delete(key(tenant, name));
  }

  for (const spec of options.vms ?? []) settled(store(recordOf(spec)));

  const copy = <T>(v: T): T => structuredClone(v);

  return {
    failNext: gate.failNext,
    settle(tenant, name) {
      for (const vm of [...vms.values()])
        if ((tenant === undefined || vm.tenant === tenant) && (name === undefined || vm.name === name)) settleVm(vm);
      for (const m of [...migrations.values()])
        if ((tenant === undefined || m.tenant === tenant) && (name === undefined || m.vm === name)) settleMigration(m);
    },
    observe(tenant, name, observed) {
      const vm = existing(tenant, name);
      const { nodeName: _n, instance: _i, ...rest } = vm;
      const nodeName = observed.nodeName === undefined ? vm.nodeName : (observed.nodeName ?? undefined);
      const instance = observed.instance === undefined ? vm.instance : (observed.instance ?? undefined);
      return copy(
        store({
          ...rest,
          observation: copy(observed.observation ?? vm.observation),
          ...(nodeName === undefined ? {} : { nodeName }),
          ...(instance === undefined ? {} : { instance: { ...instance } }),
        }),
      );
    },
    setMigration(tenant, migrationName, migration) {
      const current = migrations.get(key(tenant, migrationName));
      if (current === undefined) throw new Error(`No migration '${migrationName}' in tenant '${tenant}' (a test set a migration it never created).`);
      putMigration({ ...current, ...migration, name: migrationName, tenant, vm: current.vm, seq: current.seq });
    },
    markDeleting(tenant, name) {
      const vm = existing(tenant, name);
      return copy(vm.deleting ? vm : store({ ...vm, deleting: true }));
    },
    setNodes(next) {
      nodes = [...next];
    },
    placedCloudInit: (tenant, name) => placed.get(key(tenant, name)),
    retainedDisks: (tenant) => [...(retained.get(tenant) ?? [])],
    actions,
    start: async () => true,
    close: async () => {
      listeners.clear();
    },

    async list(tenant) {
      await enter();
      return [...vms.values()]
        .filter((vm) => tenant === undefined || vm.tenant === tenant)
        .sort(byTenantAndName)
        .map(copy);
    },

    async get(tenant, name) {
      await enter();
      const vm = vms.get(key(tenant, name));
      return vm === undefined ? undefined : copy(vm);
    },

    async putCloudInit(tenant, name, userData, scrubbedUserData) {
      await enter();
      // A leftover from an earlier attempt is replaced (the Kubernetes adapter deletes and creates it again).
      staged.set(key(tenant, name), {
        userData,
        ...(scrubbedUserData === undefined ? {} : { scrubbed: scrubbedUserData }),
        stagedAt: clock.now().toISOString(),
      });
    },

    async scrubCloudInit(tenant, name) {
      await enter();
      const s = staged.get(key(tenant, name));
      if (!vms.has(key(tenant, name)) || s?.scrubbed === undefined) return false;
      placed.set(key(tenant, name), s.scrubbed);
      staged.delete(key(tenant, name));
      return true;
    },

    async setIdentity(tenant, name, identity) {
      await enter();
      const vm = existing(tenant, name);
      const same =
        vm.identity !== undefined && (Object.keys(identity) as Array<keyof typeof identity>).every((k) => vm.identity?.[k] === identity[k]);
      if (!same) store({ ...vm, identity: { ...identity } });
    },

    async adoptCloudInit(tenant, name) {
      await enter();
      const s = staged.get(key(tenant, name));
      if (!vms.has(key(tenant, name)) || s === undefined) return;
      placed.set(key(tenant, name), s.userData);
      // Kept while a scrubbed version waits for `scrubCloudInit`.
      if (s.scrubbed === undefined) staged.delete(key(tenant, name));
    },

    async deleteCloudInit(tenant, name) {
      await enter();
      clearCloudInit(tenant, name);
    },

    async listStagedCloudInit() {
      await enter();
      return [...staged.entries()]
        .map(([k, s]) => {
          const slash = k.indexOf('/');
          return { tenant: k.slice(0, slash), name: k.slice(slash + 1), stagedAt: s.stagedAt };
        })
        .sort((a, b) => a.stagedAt.localeCompare(b.stagedAt));
    },

    async deleteStagedCloudInit(tenant, name) {
      await enter();
      staged.delete(key(tenant, name));
    },

    async create(spec) {
      await enter();
      const current = vms.get(key(spec.tenant, spec.name));
      if (current !== undefined) {
        if (spec.operationId !== undefined && current.operationId === spec.operationId) return copy(current);
        throw new ConflictError('VM_EXISTS', `A VM named '${spec.name}' already exists in tenant '${spec.tenant}'.`);
      }
      if (tenants !== undefined && !tenants.has(spec.tenant)) throw new NotFoundError('tenant', spec.tenant);
      manualWants.delete(key(spec.tenant, spec.name));
      const created = store(recordOf(spec));
      // The answer is the object as written: the controllers act after it (a later read shows them).
      settled(created);
      return copy(created);
    },

    async update(tenant, name, change) {
      await enter();
      return copy(settled(store(changed(existing(tenant, name), change))));
    },

    async act(tenant, name, action) {
      await enter();
      actions.push({ tenant, name, action });
      settled(power(existing(tenant, name), action));
    },

    async delete(tenant, name, opts) {
      await enter();
      const vm = vms.get(key(tenant, name));
      if (vm === undefined) return false;
      if (opts.retainDisks) retained.set(tenant, [...new Set([...(retained.get(tenant) ?? []), name])]);
      vms.delete(key(tenant, name));
      manualWants.delete(key(tenant, name));
      // The cloud-init Secret is owned by the VM: it goes with it (a staged copy stays for the janitor).
      placed.delete(key(tenant, name));
      for (const [k, m] of migrations) if (m.tenant === tenant && m.vm === name) migrations.delete(k);
      // As the adapter reports a deletion: the VM's last state without its instance (the VMI goes first).
      const {
        instance: _i,
        nodeName: _n,
        observation: { vmi: _vmi, ...observation },
        ...last
      } = vm;
      emit({ type: 'deleted', tenant, name, vm: { ...last, observation } });
      return true;
    },

    async migrate(tenant, name, migrationName) {
      await enter();
      if (migrations.has(key(tenant, migrationName))) return;
      const m: Migration = { name: migrationName, phase: 'Pending', tenant, vm: name, seq: ++migrationSeq };
      putMigration(m);
      if (lifecycle === 'instant') settleMigration(m);
    },

    async migration(tenant, migrationName) {
      await enter();
      const m = migrations.get(key(tenant, migrationName));
      return m === undefined ? undefined : copy(publicMigration(m));
    },

    async nodes() {
      await enter();
      return nodes.map(copy).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    },

    watch(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  };
}
