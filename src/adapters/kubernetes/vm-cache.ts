import type { KubernetesObject, V1Node } from '@kubernetes/client-node';
import { isNotFound } from './errors.js';
import { createInformedStore, listAllPages, waitForSync, type InformedStore, type InformerHealth, type ListPage } from './informed-store.js';
import type { KubeClient } from './kube-client.js';
import { MANAGED_SELECTOR } from './tenant-objects.js';
import {
  KUBEVIRT_GROUP,
  KUBEVIRT_VERSION,
  LABEL_VM,
  VMIMS,
  VMIS,
  VMS,
  type VirtualMachine,
  type VirtualMachineInstance,
  type VirtualMachineInstanceMigration,
} from './vm-objects.js';

const PAGE = 500;
/** Nodes of the KubeVirt pool (the seeded and the real ones carry it). */
export const NODE_SELECTOR = 'workload=kubevirt';

export type VmCacheKind = 'vm' | 'vmi' | 'migration';
export type VmCacheListener = (kind: VmCacheKind, type: 'add' | 'update' | 'delete', obj: KubernetesObject) => void;

/**
 * Watch-backed copies of our VirtualMachines, VMIs and migrations (every namespace, label selector
 * `app.kubernetes.io/managed-by=labplane`) and of the KubeVirt nodes. Once synced, reads cost the
 * API server nothing; before that they go to it directly. Our writes are put in with `remember*`
 * (read-your-writes); listeners hear of every change (watch, relist, or our own write).
 */
export interface VmCache {
  start(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
  synced(): boolean;
  /** Each informer's state, for readiness. */
  informers(): readonly InformerHealth[];
  vm(namespace: string, name: string): Promise<VirtualMachine | undefined>;
  /** VMs of one namespace, or of all. */
  vms(namespace?: string): Promise<readonly VirtualMachine[]>;
  vmi(namespace: string, name: string): Promise<VirtualMachineInstance | undefined>;
  /** Migrations of one VM (by `spec.vmiName`). */
  migrationsOf(namespace: string, vm: string): Promise<readonly VirtualMachineInstanceMigration[]>;
  migration(namespace: string, name: string): Promise<VirtualMachineInstanceMigration | undefined>;
  nodes(): Promise<readonly V1Node[]>;
  rememberVm(vm: VirtualMachine): void;
  forgetVm(vm: VirtualMachine): void;
  rememberMigration(m: VirtualMachineInstanceMigration): void;
  /** Grows with every change any of the stores took (watch, relist or our write): a cheap "did anything change". */
  version(): number;
  /** What the stores hold for one VM now, without waiting (for change listeners). */
  peek(namespace: string, name: string): { vm?: VirtualMachine; vmi?: VirtualMachineInstance; migrations: VirtualMachineInstanceMigration[] };
  subscribe(listener: VmCacheListener): () => void;
}

function asPage<T>(raw: unknown): ListPage<T> {
  const r = (typeof raw === 'object' && raw !== null ? raw : {}) as { items?: unknown; metadata?: ListPage<T>['metadata'] & { continue?: string } };
  const items = Array.isArray(r.items) ? (r.items as T[]) : [];
  // Custom-object lists come back as plain JSON: `continue`, not the typed client's `_continue`.
  const cont = r.metadata?._continue ?? r.metadata?.continue;
  return { items, metadata: { ...r.metadata, ...(cont === undefined || cont === '' ? {} : { _continue: cont }) } };
}

async function orUndefined<T>(read: Promise<T>): Promise<T | undefined> {
  try {
    return await read;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export function createVmCache(client: KubeClient, options: { readonly restartDelayMs?: { min: number; max: number } } = {}): VmCache {
  const { custom, core } = client;
  const listeners = new Set<VmCacheListener>();
  const byVm = new Map<string, Set<string>>();
  const cursor = (cont: string | undefined) => (cont === undefined ? {} : { _continue: cont });
  const kv = (plural: string) => ({ group: KUBEVIRT_GROUP, version: KUBEVIRT_VERSION, plural });
  let changes = 0;
  const tell = (kind: VmCacheKind) => (type: 'add' | 'update' | 'delete', obj: KubernetesObject) => {
    changes += 1;
    for (const l of listeners) l(kind, type, obj);
  };

  function indexMigration(type: 'add' | 'update' | 'delete', m: VirtualMachineInstanceMigration): void {
    const key = `${m.metadata?.namespace ?? ''}/${m.spec?.vmiName ?? ''}`;
    const name = m.metadata?.name ?? '';
    if (type === 'delete') byVm.get(key)?.delete(name);
    else byVm.set(key, (byVm.get(key) ?? new Set()).add(name));
  }

  function informer<T extends KubernetesObject>(kind: VmCacheKind, plural: string, onChange = tell(kind)): InformedStore<T> {
    return createInformedStore<T>({
      client,
      name: plural,
      path: `/apis/${KUBEVIRT_GROUP}/${KUBEVIRT_VERSION}/${plural}`,
      labelSelector: MANAGED_SELECTOR,
      listPage: async (cont) => asPage<T>(await custom.listClusterCustomObject({ ...kv(plural), labelSelector: MANAGED_SELECTOR, limit: PAGE, ...cursor(cont) })),
      onChange,
      ...(options.restartDelayMs === undefined ? {} : { restartDelayMs: options.restartDelayMs }),
    });
  }

  const vms = informer<VirtualMachine>('vm', VMS);
  const vmis = informer<VirtualMachineInstance>('vmi', VMIS);
  const tellMigration = tell('migration');
  const migrations = informer<VirtualMachineInstanceMigration>('migration', VMIMS, (type, m) => {
    indexMigration(type, m);
    tellMigration(type, m);
  });
  const nodes: InformedStore<V1Node> = createInformedStore<V1Node>({
    client,
    name: 'nodes',
    path: '/api/v1/nodes',
    labelSelector: NODE_SELECTOR,
    listPage: (cont) => core.listNode({ labelSelector: NODE_SELECTOR, limit: PAGE, ...cursor(cont) }),
    ...(options.restartDelayMs === undefined ? {} : { restartDelayMs: options.restartDelayMs }),
  });
  const all: InformedStore<KubernetesObject>[] = [vms, vmis, migrations, nodes] as InformedStore<KubernetesObject>[];

  const listDirect = async <T>(what: string, listPage: (cont: string | undefined) => Promise<ListPage<T>>): Promise<T[]> =>
    (await listAllPages(client, what, listPage)).items;

  const readDirect = <T>(plural: string, namespace: string, name: string) =>
    orUndefined(client.request({ what: `read ${plural} ${namespace}/${name}`, write: false }, async () => (await custom.getNamespacedCustomObject({ ...kv(plural), namespace, name })) as T));

  return {
    async start(timeoutMs) {
      for (const s of all) s.start();
      const outcome = await waitForSync(all, timeoutMs);
      if (outcome === 'timeout') client.logger.warn({ timeoutMs }, 'VM informers did not sync in time; reading from the API server until they do');
      return outcome === 'synced';
    },
    async close() {
      await Promise.all(all.map((s) => s.stop()));
    },
    synced: () => all.every((s) => s.synced()),
    informers: () => all.map((s) => s.health()),
    async vm(ns, name) {
      return vms.synced() ? vms.store.get(name, ns) : readDirect<VirtualMachine>(VMS, ns, name);
    },
    async vms(ns) {
      if (vms.synced()) return vms.store.list(ns);
      return listDirect(`list VirtualMachines in ${ns ?? 'all namespaces'}`, async (cont) =>
        asPage<VirtualMachine>(
          ns === undefined
            ? await custom.listClusterCustomObject({ ...kv(VMS), labelSelector: MANAGED_SELECTOR, limit: PAGE, ...cursor(cont) })
            : await custom.listNamespacedCustomObject({ ...kv(VMS), namespace: ns, labelSelector: MANAGED_SELECTOR, limit: PAGE, ...cursor(cont) }),
        ),
      );
    },
    async vmi(ns, name) {
      return vmis.synced() ? vmis.store.get(name, ns) : readDirect<VirtualMachineInstance>(VMIS, ns, name);
    },
    async migrationsOf(ns, vm) {
      if (migrations.synced()) {
        return [...(byVm.get(`${ns}/${vm}`) ?? [])].flatMap((n) => migrations.store.get(n, ns) ?? []);
      }
      return listDirect(`list migrations of ${ns}/${vm}`, async (cont) =>
        asPage<VirtualMachineInstanceMigration>(await custom.listNamespacedCustomObject({ ...kv(VMIMS), namespace: ns, labelSelector: `${LABEL_VM}=${vm}`, limit: PAGE, ...cursor(cont) })),
      );
    },
    async migration(ns, name) {
      return migrations.synced() ? migrations.store.get(name, ns) : readDirect<VirtualMachineInstanceMigration>(VMIMS, ns, name);
    },
    async nodes() {
      if (nodes.synced()) return nodes.store.list();
      return listDirect('list Nodes', (cont) => core.listNode({ labelSelector: NODE_SELECTOR, limit: PAGE, ...cursor(cont) }));
    },
    rememberVm(vm) {
      vms.store.upsert(vm);
      const held = vms.store.get(vm.metadata?.name ?? '', vm.metadata?.namespace);
      if (held !== undefined) tell('vm')('update', held);
    },
    forgetVm(vm) {
      vms.store.remove(vm);
      changes += 1;
    },
    rememberMigration(m) {
      migrations.store.upsert(m);
      indexMigration('add', m);
      tellMigration('add', m);
    },
    version: () => changes,
    peek(ns, name) {
      const vm = vms.store.get(name, ns);
      const vmi = vmis.store.get(name, ns);
      const names = byVm.get(`${ns}/${name}`);
      const ms = names === undefined || names.size === 0 ? [] : [...names].flatMap((n) => migrations.store.get(n, ns) ?? []);
      return { ...(vm === undefined ? {} : { vm }), ...(vmi === undefined ? {} : { vmi }), migrations: ms };
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
