import { conflict, notFound } from './errors.js';
import type { ObjectStore } from './store.js';
import { timestamp } from './store.js';
import type { KubeObject } from './types.js';
import { clone, isObject } from './types.js';

/** `PUT /apis/subresources.kubevirt.io/v1/namespaces/{ns}/virtualmachines/{name}/{action}`. */
export type VmAction = 'start' | 'stop' | 'restart' | 'migrate';

/** One received action request. */
export interface VmActionCall {
  action: VmAction;
  namespace: string;
  name: string;
  /** Parsed JSON body (StartOptions, StopOptions, RestartOptions, MigrateOptions) or undefined. */
  body: unknown;
  /** RFC 3339 time the request arrived. */
  at: string;
}

/**
 * Handles an action for an existing VM (`vm` is a copy). Throw a KubeStatusError to answer an
 * error; returning means 202 Accepted.
 */
export type VmActionHandler = (call: VmActionCall, vm: KubeObject, store: ObjectStore) => void;

/** Where controllers plug in simulated behaviour for VM actions. */
export interface VmActionRegistry {
  /** Replaces the handler of an action and returns the previous one (so it can be wrapped). */
  set(action: VmAction, handler: VmActionHandler): VmActionHandler;
  /** Every action request received, oldest first (including rejected ones). */
  readonly calls: readonly VmActionCall[];
}

const VM = 'virtualmachines.kubevirt.io';
const VMI = 'virtualmachineinstances.kubevirt.io';
const VMIM = 'virtualmachineinstancemigrations.kubevirt.io';
/** KubeVirt's virt-api names the resource in the singular in its errors. */
const VM_TARGET = { plural: 'virtualmachine', group: 'kubevirt.io' };

const spec = (vm: KubeObject): Record<string, unknown> => (isObject(vm.spec) ? vm.spec : {});
const runStrategy = (vm: KubeObject): string => {
  const s = spec(vm);
  if (typeof s.runStrategy === 'string') return s.runStrategy;
  return s.running === true ? 'Always' : 'Halted';
};

function setRunStrategy(store: ObjectStore, vm: KubeObject, strategy: string): void {
  const next = clone(vm);
  const s: Record<string, unknown> = { ...spec(next), runStrategy: strategy };
  delete s.running;
  next.spec = s;
  delete next.metadata.resourceVersion;
  store.update(VM, next);
}

function requestStateChange(store: ObjectStore, vm: KubeObject, action: 'Start' | 'Stop'): void {
  const next = clone(vm);
  const status = isObject(next.status) ? next.status : {};
  const requests = Array.isArray(status.stateChangeRequests) ? status.stateChangeRequests : [];
  next.status = { ...status, stateChangeRequests: [...requests, { action }] };
  delete next.metadata.resourceVersion;
  store.update(VM, next);
}

const start: VmActionHandler = (call, vm, store) => {
  const strategy = runStrategy(vm);
  if (strategy === 'Always' || strategy === 'Once') throw conflict(VM_TARGET, call.name, `${strategy} does not support manual start requests`);
  if (strategy === 'Halted') setRunStrategy(store, vm, 'Always');
  else if (strategy === 'Manual') requestStateChange(store, vm, 'Start');
};

const stop: VmActionHandler = (call, vm, store) => {
  const strategy = runStrategy(vm);
  if (strategy === 'Halted') throw conflict(VM_TARGET, call.name, 'VM is not running');
  if (strategy === 'Manual') requestStateChange(store, vm, 'Stop');
  else setRunStrategy(store, vm, 'Halted');
};

const restart: VmActionHandler = (call, vm, store) => {
  if (runStrategy(vm) === 'Halted') throw conflict(VM_TARGET, call.name, 'Halted does not support manual restart requests');
  store.delete(VMI, call.namespace, call.name);
};

const migrate: VmActionHandler = (call, vm, store) => {
  if (runStrategy(vm) === 'Halted') throw conflict(VM_TARGET, call.name, 'VM is not running');
  const options = isObject(call.body) ? call.body : {};
  const migrationSpec: Record<string, unknown> = { vmiName: call.name };
  if (isObject(options.addedNodeSelector)) migrationSpec.addedNodeSelector = options.addedNodeSelector;
  store.create(VMIM, {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstanceMigration',
    metadata: { generateName: 'kubevirt-migrate-vm-', namespace: call.namespace, labels: { 'kubevirt.io/vmi-name': call.name } },
    spec: migrationSpec,
  });
};

/** Default handlers: start → runStrategy Always, stop → Halted, restart → VMI deleted, migrate → a VirtualMachineInstanceMigration. */
export class VmActions implements VmActionRegistry {
  private readonly handlers = new Map<VmAction, VmActionHandler>([
    ['start', start],
    ['stop', stop],
    ['restart', restart],
    ['migrate', migrate],
  ]);
  private readonly log: VmActionCall[] = [];

  constructor(private readonly store: ObjectStore) {}

  get calls(): readonly VmActionCall[] {
    return this.log;
  }

  set(action: VmAction, handler: VmActionHandler): VmActionHandler {
    const previous = this.handlers.get(action) ?? (() => undefined);
    this.handlers.set(action, handler);
    return previous;
  }

  /** Records and dispatches a call; throws Status errors (404 when the VM does not exist). */
  handle(action: VmAction, namespace: string, name: string, body: unknown): void {
    const call: VmActionCall = { action, namespace, name, body, at: timestamp() };
    this.log.push(call);
    const vm = this.store.get(VM, namespace, name);
    if (!vm) throw notFound(VM_TARGET, name);
    this.handlers.get(action)?.(call, vm, this.store);
  }
}
