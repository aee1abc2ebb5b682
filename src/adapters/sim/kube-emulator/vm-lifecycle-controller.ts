import type { Controller, KubeEmulator } from './emulator-types.js';
import { KubeStatusError } from './errors.js';
import { timestamp } from './store.js';
import type { KubeObject } from './types.js';
import { clone, isObject } from './types.js';

const VM = 'virtualmachines.kubevirt.io';
const VMI = 'virtualmachineinstances.kubevirt.io';

/** Options of {@link createVmLifecycleController}. */
export interface VmLifecycleOptions {
  /** Delay before a change is reconciled, in ms (default 0: next macrotask). */
  reconcileDelayMs?: number;
}

const record = (v: unknown): Record<string, unknown> => (isObject(v) ? v : {});

/** Whether the VM should have a running VMI, from runStrategy (and Manual start/stop requests). */
function wantsRunning(vm: KubeObject, hasVmi: boolean): boolean {
  const spec = record(vm.spec);
  const strategy = typeof spec.runStrategy === 'string' ? spec.runStrategy : spec.running === true ? 'Always' : 'Halted';
  if (strategy === 'Manual') {
    const requests = record(vm.status).stateChangeRequests;
    const last = Array.isArray(requests) ? record(requests[requests.length - 1]).action : undefined;
    return last === 'Start' ? true : last === 'Stop' ? false : hasVmi;
  }
  return strategy !== 'Halted';
}

/**
 * A minimal virt-controller: for each VirtualMachine, creates a Running VMI (owned by the VM, placed
 * on the first seeded node) when runStrategy asks for it, deletes it when not, and keeps
 * `status.printableStatus` / `ready` / `created` in step. A VMI the namespace quota cannot admit is
 * not created: the VM gets a `Failure` condition (reason `FailedCreate`) with the quota message.
 */
export function createVmLifecycleController(opts: VmLifecycleOptions = {}): Controller {
  let emulator: KubeEmulator | undefined;
  const unsubscribers: (() => void)[] = [];
  const pending = new Map<string, NodeJS.Timeout>();

  const schedule = (ns: string | undefined, name: string | undefined): void => {
    if (!ns || !name) return;
    const key = `${ns}/${name}`;
    if (pending.has(key)) return;
    pending.set(key, setTimeout(() => {
      pending.delete(key);
      reconcile(ns, name);
    }, opts.reconcileDelayMs ?? 0));
  };

  const summary = (s: Record<string, unknown>): string => {
    const conditions = Array.isArray(s.conditions) ? s.conditions.map((c) => [record(c).type, record(c).status, record(c).reason, record(c).message]) : [];
    return JSON.stringify([s.printableStatus, s.ready, s.created, conditions]);
  };

  /** Writes the VM status unless it already says the same (timestamps aside); consumes state change requests. */
  const writeStatus = (vm: KubeObject, status: Record<string, unknown>): void => {
    const current = record(vm.status);
    if (current.stateChangeRequests === undefined && summary(current) === summary(status)) return;
    const next = clone(vm);
    const { stateChangeRequests: _done, ...kept } = record(next.status);
    next.status = { ...kept, ...status };
    delete next.metadata.resourceVersion;
    emulator?.store.update(VM, next);
  };

  const reconcile = (ns: string, name: string): void => {
    const store = emulator?.store;
    const vm = store?.get(VM, ns, name);
    if (!store || !emulator || !vm || vm.metadata.deletionTimestamp) return;
    const vmi = store.peek(VMI, ns, name);
    if (!wantsRunning(vm, vmi !== undefined)) {
      if (vmi) store.delete(VMI, ns, name);
      writeStatus(vm, { printableStatus: 'Stopped', ready: false, created: false, conditions: [] });
      return;
    }
    if (!vmi) {
      const template = record(vm.spec).template;
      const node = store.list('nodes')[0]?.metadata.name ?? 'node-0';
      const now = timestamp();
      const created: KubeObject = {
        apiVersion: 'kubevirt.io/v1',
        kind: 'VirtualMachineInstance',
        metadata: {
          name,
          namespace: ns,
          labels: { ...(record(record(template).metadata).labels as Record<string, string> | undefined), 'kubevirt.io/nodeName': node },
          ownerReferences: [{ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', name, uid: vm.metadata.uid ?? '', controller: true, blockOwnerDeletion: true }],
        },
        spec: clone(record(record(template).spec)),
        status: {
          phase: 'Running',
          nodeName: node,
          conditions: [
            { type: 'Ready', status: 'True', lastProbeTime: null, lastTransitionTime: now },
            { type: 'LiveMigratable', status: 'True', lastProbeTime: null, lastTransitionTime: now },
          ],
        },
      };
      try {
        emulator.checkQuota(VMI, created);
      } catch (err) {
        if (!(err instanceof KubeStatusError)) throw err;
        const failure = { type: 'Failure', status: 'True', reason: 'FailedCreate', message: err.message, lastProbeTime: null, lastTransitionTime: now };
        writeStatus(vm, { printableStatus: 'Stopped', ready: false, created: false, conditions: [failure] });
        return;
      }
      store.create(VMI, created);
    }
    writeStatus(vm, { printableStatus: 'Running', ready: true, created: true, conditions: [{ type: 'Ready', status: 'True', lastProbeTime: null, lastTransitionTime: timestamp() }] });
  };

  return {
    start(e) {
      emulator = e;
      unsubscribers.push(e.store.subscribe(VM, (ev) => {
        if (ev.type !== 'DELETED') schedule(ev.object.metadata.namespace, ev.object.metadata.name);
      }));
      unsubscribers.push(e.store.subscribe(VMI, (ev) => {
        if (ev.type === 'DELETED') schedule(ev.object.metadata.namespace, ev.object.metadata.name);
      }));
      for (const vm of e.store.list(VM)) schedule(vm.metadata.namespace, vm.metadata.name);
    },
    stop() {
      unsubscribers.splice(0).forEach((u) => u());
      for (const t of pending.values()) clearTimeout(t);
      pending.clear();
      emulator = undefined;
    },
  };
}
