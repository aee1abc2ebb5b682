import type { V1Node } from '@kubernetes/client-node';
import { ConflictError, NotFoundError } from '../../domain/shared/errors.js';
import type { VmRecord } from '../../domain/vms/vm.js';
import type { VmEvent, VmRepository } from '../../domain/vms/vm-repository.js';
import { isConflict, isNotFound } from './errors.js';
import type { KubeClient } from './kube-client.js';
import { createCloudInitSecrets, type CloudInitOwner } from './cloud-init-secrets.js';
import { listOptions } from './kube-reads.js';
import { cacheGroup, createResourceCache, customResource, lifecycleOf, type CacheOptions, type WatchedLifecycle } from './resource-cache.js';
import { MANAGED_SELECTOR } from './tenant-objects.js';
import { migrationOf, nodeRecordOf, vmRecordOf } from './vm-mapping.js';
import {
  ANN_OPERATION_ID,
  KUBEVIRT_GROUP,
  KUBEVIRT_VERSION,
  LABEL_VM,
  migrationObject,
  NODE_SELECTOR,
  VMIMS,
  VMIS,
  VMS,
  virtualMachineObject,
  type VirtualMachine,
  type VirtualMachineInstance,
  type VirtualMachineInstanceMigration,
  ANN_ARC_EXTENSION,
  ANN_ARC_RESOURCE_ID,
  ANN_ARC_STATUS,
  ANN_IDENTITY_READY,
} from './vm-objects.js';
import { putVmSubresource } from './vm-subresources.js';
import { modify } from './kube-writes.js';
import { changedVm, kubeMessage, retainDisks, vmApi } from './vm-writes.js';

export interface KubeVmRepositoryDeps extends CacheOptions {
  /** Built once by the composition root and shared by every Kubernetes adapter: one request budget, one timeout. */
  readonly client: KubeClient;
  /** The control plane's own namespace (CONTROL_NAMESPACE), where cloud-init is staged until its VM exists. */
  readonly controlNamespace: string;
}

export interface KubeVmRepository extends VmRepository, WatchedLifecycle {}

const byTenantAndName = (a: VmRecord, b: VmRecord): number =>
  a.tenant === b.tenant ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.tenant < b.tenant ? -1 : 1;

/** VMs as KubeVirt objects (see `vm-objects.ts` for everything written). Nothing is sent before `start` or a call. */
export function createKubeVmRepository(deps: KubeVmRepositoryDeps): KubeVmRepository {
  const { client } = deps;
  const restart = deps.watchRestartDelayMs === undefined ? {} : { restartDelayMs: deps.watchRestartDelayMs };
  const kubevirt = (plural: string, kind: string) => ({
    client,
    name: plural,
    kind,
    path: `/apis/${KUBEVIRT_GROUP}/${KUBEVIRT_VERSION}/${plural}`,
    api: customResource(client, KUBEVIRT_GROUP, KUBEVIRT_VERSION, plural),
    labelSelector: MANAGED_SELECTOR,
    ...restart,
  });
  const vms = createResourceCache<VirtualMachine>({ ...kubevirt(VMS, 'VirtualMachine'), resource: 'vm' });
  const vmis = createResourceCache<VirtualMachineInstance>(kubevirt(VMIS, 'VirtualMachineInstance'));
  /** Migrations are found by their VM (`spec.vmiName`). */
  const migrations = createResourceCache<VirtualMachineInstanceMigration>({
    ...kubevirt(VMIMS, 'VirtualMachineInstanceMigration'),
    indexers: { vm: (m) => [m.spec?.vmiName ?? ''] },
  });
  const nodes = createResourceCache<V1Node>({
    client,
    name: 'nodes',
    kind: 'Node',
    path: '/api/v1/nodes',
    labelSelector: NODE_SELECTOR,
    api: { list: (q) => client.core.listNode(listOptions(q)), read: (_, name) => client.core.readNode({ name }) },
    ...restart,
  });
  const caches = cacheGroup(client.logger, [vms, vmis, migrations, nodes]);
  const migrationsHeld = (ns: string, vm: string) => migrations.byIndex('vm', vm).filter((m) => m.metadata?.namespace === ns);
  const migrationsOf = async (ns: string, vm: string) =>
    migrations.synced() ? migrationsHeld(ns, vm) : migrations.listDirect({ namespace: ns, labelSelector: `${LABEL_VM}=${vm}` });
  /** What the caches hold for one VM now, without waiting (for change listeners). */
  const peek = (ns: string, name: string) => ({ vm: vms.peek(ns, name), vmi: vmis.peek(ns, name), migrations: migrationsHeld(ns, name) });
  /** Grows with every change any of the caches took: a cheap "did anything change". */
  const changes = () => vms.version() + vmis.version() + migrations.version();
  const cloudInit = createCloudInitSecrets(client, deps.controlNamespace);
  const lists = new Map<string, { version: number; records: readonly VmRecord[] }>();
  const vmCtx = (verb: string, ns: string, name: string, write = true) => ({
    what: `${verb} VirtualMachine ${ns}/${name}`,
    write,
    resource: 'vm',
    name,
  });

  async function recordOf(vm: VirtualMachine): Promise<VmRecord> {
    const ns = vm.metadata?.namespace ?? '';
    const name = vm.metadata?.name ?? '';
    if (caches.synced()) {
      const now = peek(ns, name);
      return vmRecordOf(vm, now.vmi, now.migrations);
    }
    return vmRecordOf(vm, await vmis.get(ns, name), await migrationsOf(ns, name));
  }

  async function ownerOf(ns: string, name: string): Promise<CloudInitOwner | undefined> {
    const vm = (await vms.get(ns, name)) ?? (await vms.fresh(ns, name));
    const uid = vm?.metadata?.uid;
    return uid === undefined ? undefined : { name, uid };
  }

  const replaceVm = async (ns: string, name: string, body: VirtualMachine): Promise<VirtualMachine> => {
    const vm = (await client.request(vmCtx('replace', ns, name), () =>
      client.custom.replaceNamespacedCustomObject({ ...vmApi(ns), name, body }),
    )) as VirtualMachine;
    vms.remember(vm);
    return vm;
  };

  function eventOf(ns: string, name: string, deleted?: VirtualMachine): VmEvent | undefined {
    const now = peek(ns, name);
    const vm = deleted ?? now.vm;
    if (vm === undefined) return undefined;
    return {
      type: deleted === undefined ? 'changed' : 'deleted',
      tenant: ns,
      name,
      vm: vmRecordOf(vm, deleted === undefined ? now.vmi : undefined, now.migrations),
    };
  }

  return {
    ...lifecycleOf(caches, deps),

    async list(tenant) {
      if (!caches.synced()) return (await Promise.all((await vms.list(tenant)).map(recordOf))).sort(byTenantAndName);
      // Served from the stores; the sorted result is kept until any of them changes.
      const key = tenant ?? '';
      const version = changes();
      const known = lists.get(key);
      if (known !== undefined && known.version === version) return known.records;
      const records = (await vms.list(tenant))
        .map((vm) => {
          const now = peek(vm.metadata?.namespace ?? '', vm.metadata?.name ?? '');
          return vmRecordOf(vm, now.vmi, now.migrations);
        })
        .sort(byTenantAndName);
      if (changes() === version) lists.set(key, { version, records });
      return records;
    },

    async get(tenant, name) {
      const vm = await vms.get(tenant, name);
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
      const first = await vms.get(tenant, name);
      const written = await modify(
        `VirtualMachine ${tenant}/${name}`,
        () => vms.fresh(tenant, name),
        first,
        (vm) => {
          const ann = vm.metadata?.annotations ?? {};
          const want = {
            [ANN_ARC_STATUS]: identity.arcStatus,
            [ANN_ARC_RESOURCE_ID]: identity.machineResourceId,
            [ANN_ARC_EXTENSION]: identity.extensionState,
            [ANN_IDENTITY_READY]: String(identity.ready),
          };
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
        const vm = (await client.request(vmCtx('create', spec.tenant, spec.name), () =>
          client.custom.createNamespacedCustomObject({ ...vmApi(spec.tenant), body }),
        )) as VirtualMachine;
        vms.remember(vm);
        return recordOf(vm);
      } catch (err) {
        if (isNotFound(err)) throw new NotFoundError('tenant', spec.tenant, { cause: err });
        if (!isConflict(err, 'ALREADY_EXISTS')) throw err;
        const existing = await vms.fresh(spec.tenant, spec.name);
        if (existing !== undefined && spec.operationId !== undefined && existing.metadata?.annotations?.[ANN_OPERATION_ID] === spec.operationId)
          return recordOf(existing);
        throw new ConflictError('VM_EXISTS', `A VM named '${spec.name}' already exists in tenant '${spec.tenant}'.`, { cause: err });
      }
    },

    async update(tenant, name, change) {
      const first = await vms.get(tenant, name);
      const written = await modify(
        `VirtualMachine ${tenant}/${name}`,
        () => vms.fresh(tenant, name),
        first,
        (vm) => changedVm(vm, change),
        (next) => replaceVm(tenant, name, next),
      );
      if (written === undefined) throw new NotFoundError('vm', name);
      return recordOf(written);
    },

    async act(tenant, name, action) {
      try {
        await client.request(vmCtx(action, tenant, name), () => putVmSubresource(client, tenant, name, action, {}, client.timeoutMs));
      } catch (err) {
        if (isConflict(err, 'VERSION_CONFLICT')) {
          throw new ConflictError('VM_ACTION_REFUSED', `KubeVirt refused to ${action} VM '${name}': ${kubeMessage(err) ?? 'conflict'}`, {
            cause: err,
          });
        }
        throw err;
      }
    },

    async delete(tenant, name, options) {
      const vm = await vms.fresh(tenant, name);
      if (vm === undefined) return false;
      if (options.retainDisks) await retainDisks(client, vm);
      try {
        const last = (await client.request(vmCtx('delete', tenant, name), () =>
          client.custom.deleteNamespacedCustomObject({
            ...vmApi(tenant),
            name,
            propagationPolicy: 'Background',
            body: { preconditions: { uid: vm.metadata?.uid ?? '' } },
          }),
        )) as VirtualMachine;
        if (last.metadata?.deletionTimestamp !== undefined && last.metadata.deletionTimestamp !== null) vms.remember(last);
        else vms.forget(last);
        return true;
      } catch (err) {
        if (isNotFound(err)) return false;
        throw err;
      }
    },

    async migrate(tenant, name, migrationName) {
      try {
        const m = (await client.request({ what: `create migration ${tenant}/${migrationName}`, write: true }, () =>
          client.custom.createNamespacedCustomObject({
            group: KUBEVIRT_GROUP,
            version: KUBEVIRT_VERSION,
            plural: VMIMS,
            namespace: tenant,
            body: migrationObject(tenant, name, migrationName),
          }),
        )) as VirtualMachineInstanceMigration;
        migrations.remember(m);
      } catch (err) {
        if (!isConflict(err, 'ALREADY_EXISTS')) throw err;
      }
    },

    async migration(tenant, migrationName) {
      const m = await migrations.get(tenant, migrationName);
      return m === undefined ? undefined : migrationOf(m);
    },

    async nodes() {
      return (await nodes.list()).map(nodeRecordOf).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    },

    watch(listener) {
      const tell = (event: VmEvent | undefined) => {
        if (event !== undefined) listener(event);
      };
      const offs = [
        vms.subscribe((type, vm) =>
          tell(
            type === 'delete'
              ? eventOf(vm.metadata?.namespace ?? '', vm.metadata?.name ?? '', vm)
              : eventOf(vm.metadata?.namespace ?? '', vm.metadata?.name ?? ''),
          ),
        ),
        vmis.subscribe((_, vmi) => tell(eventOf(vmi.metadata?.namespace ?? '', vmi.metadata?.name ?? ''))),
        migrations.subscribe((_, m) => tell(eventOf(m.metadata?.namespace ?? '', m.spec?.vmiName ?? ''))),
      ];
      return () => {
        for (const off of offs) off();
      };
    },
  };
}
