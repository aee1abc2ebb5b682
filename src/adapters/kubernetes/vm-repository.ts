import type { InformerHealth } from './informed-store.js';
import type { KubeConfig } from '@kubernetes/client-node';
import { ConflictError, NotFoundError } from '../../domain/shared/errors.js';
import type { VmRecord } from '../../domain/vms/vm.js';
import type { VmEvent, VmRepository } from '../../domain/vms/vm-repository.js';
import { isConflict, isNotFound } from './errors.js';
import { createKubeClient, type KubeLogger, type ThrottleRetryOptions } from './kube-client.js';
import { createCloudInitSecrets, type CloudInitOwner } from './cloud-init-secrets.js';
import type { RateLimiter, RateLimitOptions } from './rate-limiter.js';
import { createVmCache } from './vm-cache.js';
import { migrationOf, nodeRecordOf, vmRecordOf } from './vm-mapping.js';
import {
  ANN_OPERATION_ID,
  KUBEVIRT_GROUP,
  KUBEVIRT_VERSION,
  migrationObject,
  VMIMS,
  virtualMachineObject,
  type VirtualMachine,
  type VirtualMachineInstanceMigration,
  ANN_ARC_EXTENSION,
  ANN_ARC_RESOURCE_ID,
  ANN_ARC_STATUS,
  ANN_IDENTITY_READY,
} from './vm-objects.js';
import { putVmSubresource } from './vm-subresources.js';
import { changedVm, kubeMessage, modify, retainDisks, vmApi } from './vm-writes.js';

export interface KubeVmRepositoryDeps {
  readonly kubeConfig: KubeConfig;
  /** The control plane's own namespace (CONTROL_NAMESPACE), where cloud-init is staged until its VM exists. */
  readonly controlNamespace: string;
  readonly logger: KubeLogger;
  /** Budget for writes (default 20 qps, burst 40), unless a shared `limiter` is given. */
  readonly rateLimit?: RateLimitOptions;
  readonly limiter?: RateLimiter;
  readonly timeoutMs?: number;
  readonly throttleRetry?: ThrottleRetryOptions;
  /** How long `start` waits for the informers before falling back to direct reads (default 10 000 ms). */
  readonly syncTimeoutMs?: number;
  readonly watchRestartDelayMs?: { readonly min: number; readonly max: number };
}

export interface KubeVmRepository extends VmRepository {
  start(): Promise<boolean>;
  close(): Promise<void>;
  cacheSynced(): boolean;
  /** Each informer's state, for readiness. */
  informers(): readonly InformerHealth[];
}

const byTenantAndName = (a: VmRecord, b: VmRecord): number => (a.tenant === b.tenant ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.tenant < b.tenant ? -1 : 1);

/** VMs as KubeVirt objects (see `vm-objects.ts` for everything written). Nothing is sent before `start` or a call. */
export function createKubeVmRepository(deps: KubeVmRepositoryDeps): KubeVmRepository {
  const client = createKubeClient({
    kubeConfig: deps.kubeConfig,
    logger: deps.logger,
    ...(deps.timeoutMs === undefined ? {} : { timeoutMs: deps.timeoutMs }),
    ...(deps.rateLimit === undefined ? {} : { rateLimit: deps.rateLimit }),
    ...(deps.limiter === undefined ? {} : { limiter: deps.limiter }),
    ...(deps.throttleRetry === undefined ? {} : { throttleRetry: deps.throttleRetry }),
  });
  const cache = createVmCache(client, deps.watchRestartDelayMs === undefined ? {} : { restartDelayMs: deps.watchRestartDelayMs });
  const cloudInit = createCloudInitSecrets(client, deps.controlNamespace);
  const lists = new Map<string, { version: number; records: readonly VmRecord[] }>();
  const vmCtx = (verb: string, ns: string, name: string, write = true) => ({ what: `${verb} VirtualMachine ${ns}/${name}`, write, resource: 'vm', name });

  async function recordOf(vm: VirtualMachine): Promise<VmRecord> {
    const ns = vm.metadata?.namespace ?? '';
    const name = vm.metadata?.name ?? '';
    if (cache.synced()) {
      const now = cache.peek(ns, name);
      return vmRecordOf(vm, now.vmi, now.migrations);
    }
    return vmRecordOf(vm, await cache.vmi(ns, name), await cache.migrationsOf(ns, name));
  }

  async function freshVm(ns: string, name: string): Promise<VirtualMachine | undefined> {
    try {
      const vm = (await client.request(vmCtx('read', ns, name, false), () => client.custom.getNamespacedCustomObject({ ...vmApi(ns), name }))) as VirtualMachine;
      cache.rememberVm(vm);
      return vm;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async function ownerOf(ns: string, name: string): Promise<CloudInitOwner | undefined> {
    const vm = (await cache.vm(ns, name)) ?? (await freshVm(ns, name));
    const uid = vm?.metadata?.uid;
    return uid === undefined ? undefined : { name, uid };
  }

  const replaceVm = async (ns: string, name: string, body: VirtualMachine): Promise<VirtualMachine> => {
    const vm = (await client.request(vmCtx('replace', ns, name), () => client.custom.replaceNamespacedCustomObject({ ...vmApi(ns), name, body }))) as VirtualMachine;
    cache.rememberVm(vm);
    return vm;
  };

  function eventOf(ns: string, name: string, deleted?: VirtualMachine): VmEvent | undefined {
    const now = cache.peek(ns, name);
    const vm = deleted ?? now.vm;
    if (vm === undefined) return undefined;
    return { type: deleted === undefined ? 'changed' : 'deleted', tenant: ns, name, vm: vmRecordOf(vm, deleted === undefined ? now.vmi : undefined, now.migrations) };
  }

  return {
    start: () => cache.start(deps.syncTimeoutMs ?? 10_000),
    close: () => cache.close(),
    cacheSynced: () => cache.synced(),
    informers: () => cache.informers(),

    async list(tenant) {
      if (!cache.synced()) return (await Promise.all((await cache.vms(tenant)).map(recordOf))).sort(byTenantAndName);
      // Served from the stores; the sorted result is kept until any of them changes.
      const key = tenant ?? '';
      const version = cache.version();
      const known = lists.get(key);
      if (known !== undefined && known.version === version) return known.records;
      const records = (await cache.vms(tenant))
        .map((vm) => {
          const now = cache.peek(vm.metadata?.namespace ?? '', vm.metadata?.name ?? '');
          return vmRecordOf(vm, now.vmi, now.migrations);
        })
        .sort(byTenantAndName);
      if (cache.version() === version) lists.set(key, { version, records });
      return records;
    },

    async get(tenant, name) {
      const vm = await cache.vm(tenant, name);
      return vm === undefined ? undefined : recordOf(vm);
    },

    async putCloudInit(tenant, name, userData, scrubbedUserData) {
      await cloudInit.stage(tenant, name, userData, scrubbedUserData);
    },

    async scrubCloudInit(tenant, name) {
      const owner = await ownerOf(tenant, name);
      return owner === undefined ? false : cloudInit.scrub(tenant, owner);
    },

    async setIdentity(tenant, name, identity) {
      const first = await cache.vm(tenant, name);
      const written = await modify(
        `VirtualMachine ${tenant}/${name}`,
        () => freshVm(tenant, name),
        first,
        (vm) => {
          const ann = vm.metadata?.annotations ?? {};
          const want = { [ANN_ARC_STATUS]: identity.arcStatus, [ANN_ARC_RESOURCE_ID]: identity.machineResourceId, [ANN_ARC_EXTENSION]: identity.extensionState, [ANN_IDENTITY_READY]: String(identity.ready) };
          if (Object.entries(want).every(([k, v]) => ann[k] === v)) return undefined;
          return { ...vm, metadata: { ...vm.metadata, annotations: { ...ann, ...want } } };
        },
        (next) => replaceVm(tenant, name, next),
      );
      if (written === undefined) throw new NotFoundError('vm', name);
    },

    async adoptCloudInit(tenant, name) {
      const owner = await ownerOf(tenant, name);
      if (owner !== undefined) await cloudInit.place(tenant, owner);
    },

    deleteCloudInit: (tenant, name) => cloudInit.remove(tenant, name),
    listStagedCloudInit: () => cloudInit.listStaged(),
    deleteStagedCloudInit: (tenant, name) => cloudInit.removeStaged(tenant, name),

    async create(spec) {
      const body = virtualMachineObject(spec);
      try {
        const vm = (await client.request(vmCtx('create', spec.tenant, spec.name), () => client.custom.createNamespacedCustomObject({ ...vmApi(spec.tenant), body }))) as VirtualMachine;
        cache.rememberVm(vm);
        return recordOf(vm);
      } catch (err) {
        if (isNotFound(err)) throw new NotFoundError('tenant', spec.tenant, { cause: err });
        if (!isConflict(err, 'ALREADY_EXISTS')) throw err;
        const existing = await freshVm(spec.tenant, spec.name);
        if (existing !== undefined && spec.operationId !== undefined && existing.metadata?.annotations?.[ANN_OPERATION_ID] === spec.operationId) return recordOf(existing);
        throw new ConflictError('VM_EXISTS', `A VM named '${spec.name}' already exists in tenant '${spec.tenant}'.`, { cause: err });
      }
    },

    async update(tenant, name, change) {
      const first = await cache.vm(tenant, name);
      const written = await modify(`VirtualMachine ${tenant}/${name}`, () => freshVm(tenant, name), first, (vm) => changedVm(vm, change), (next) => replaceVm(tenant, name, next));
      if (written === undefined) throw new NotFoundError('vm', name);
      return recordOf(written);
    },

    async act(tenant, name, action) {
      try {
        await client.request(vmCtx(action, tenant, name), () => putVmSubresource(client, tenant, name, action, {}, deps.timeoutMs));
      } catch (err) {
        if (isConflict(err, 'VERSION_CONFLICT')) {
          throw new ConflictError('VM_ACTION_REFUSED', `KubeVirt refused to ${action} VM '${name}': ${kubeMessage(err) ?? 'conflict'}`, { cause: err });
        }
        throw err;
      }
    },

    async delete(tenant, name, options) {
      const vm = await freshVm(tenant, name);
      if (vm === undefined) return false;
      if (options.retainDisks) await retainDisks(client, vm);
      try {
        const last = (await client.request(vmCtx('delete', tenant, name), () =>
          client.custom.deleteNamespacedCustomObject({ ...vmApi(tenant), name, propagationPolicy: 'Background', body: { preconditions: { uid: vm.metadata?.uid ?? '' } } }),
        )) as VirtualMachine;
        if (last.metadata?.deletionTimestamp !== undefined && last.metadata.deletionTimestamp !== null) cache.rememberVm(last);
        else cache.forgetVm(last);
        return true;
      } catch (err) {
        if (isNotFound(err)) return false;
        throw err;
      }
    },

    async migrate(tenant, name, migrationName) {
      try {
        const m = (await client.request({ what: `create migration ${tenant}/${migrationName}`, write: true }, () =>
          client.custom.createNamespacedCustomObject({ group: KUBEVIRT_GROUP, version: KUBEVIRT_VERSION, plural: VMIMS, namespace: tenant, body: migrationObject(tenant, name, migrationName) }),
        )) as VirtualMachineInstanceMigration;
        cache.rememberMigration(m);
      } catch (err) {
        if (!isConflict(err, 'ALREADY_EXISTS')) throw err;
      }
    },

    async migration(tenant, migrationName) {
      const m = await cache.migration(tenant, migrationName);
      return m === undefined ? undefined : migrationOf(m);
    },

    async nodes() {
      return (await cache.nodes()).map(nodeRecordOf).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    },

    watch(listener) {
      return cache.subscribe((kind, type, obj) => {
        const ns = obj.metadata?.namespace ?? '';
        const name = kind === 'migration' ? ((obj as VirtualMachineInstanceMigration).spec?.vmiName ?? '') : (obj.metadata?.name ?? '');
        const event = kind === 'vm' && type === 'delete' ? eventOf(ns, name, obj as VirtualMachine) : eventOf(ns, name);
        if (event !== undefined) listener(event);
      });
    },
  };
}
