import { ConflictError, UpstreamUnavailableError } from '../../domain/shared/errors.js';
import { systemClock, type Clock } from '../../domain/shared/ids.js';
import type { SnapshotSupport } from '../../domain/vms/snapshot.js';
import type { SnapshotRepository } from '../../domain/vms/snapshot-repository.js';
import { isConflict } from './errors.js';
import type { KubeClient } from './kube-client.js';
import { listAllPages, orUndefined } from './kube-reads.js';
import {
  featureGateProblem,
  KUBEVIRTS,
  restoreObject,
  restoreRecordOf,
  snapshotObject,
  snapshotRecordOf,
  SNAPSHOT_GROUP,
  SNAPSHOT_VERSION,
  VM_RESTORES,
  VM_SNAPSHOTS,
  type KubeVirtCr,
  type VirtualMachineRestore,
  type VirtualMachineSnapshot,
} from './snapshot-objects.js';
import { LABEL_TENANT, MANAGED_SELECTOR } from './tenant-objects.js';
import { ANN_OPERATION_ID, KUBEVIRT_GROUP, KUBEVIRT_VERSION, LABEL_VM } from './vm-objects.js';

/**
 * Whether a KubeVirt feature built on snapshots can be used: its CRD (`crd`) is served (a 404 of a
 * list means it is not: unsupported with `missing` as the reason) and the KubeVirt CR has the
 * `Snapshot` feature gate on.
 */
export async function askKubeVirtSupport(
  client: KubeClient,
  crd: { readonly group: string; readonly version: string; readonly plural: string },
  missing: string,
): Promise<SnapshotSupport> {
  try {
    await client.request({ what: `list ${crd.plural}.${crd.group}`, write: false }, () =>
      client.custom.listClusterCustomObject({ group: crd.group, version: crd.version, plural: crd.plural, limit: 1 }),
    );
  } catch (err) {
    if (err instanceof UpstreamUnavailableError && err.code === 'CRD_NOT_INSTALLED') return { supported: false, reason: missing };
    throw err;
  }
  const { items } = await listAllPages<KubeVirtCr>(client, `list ${KUBEVIRTS}.${KUBEVIRT_GROUP}`, (cont) =>
    client.custom.listClusterCustomObject({
      group: KUBEVIRT_GROUP,
      version: KUBEVIRT_VERSION,
      plural: KUBEVIRTS,
      limit: 10,
      ...(cont === undefined ? {} : { _continue: cont }),
    }),
  );
  const problem = featureGateProblem(items[0]);
  return problem === undefined ? { supported: true } : { supported: false, reason: problem };
}

/** `ask`, its answer kept for `cacheMs` (0: asked every time). */
export function cachedSupport(ask: () => Promise<SnapshotSupport>, clock: Clock, cacheMs: number): () => Promise<SnapshotSupport> {
  let cached: { at: number; answer: SnapshotSupport } | undefined;
  return async () => {
    const now = clock.now().getTime();
    if (cached !== undefined && now - cached.at < cacheMs) return cached.answer;
    const answer = await ask();
    cached = { at: now, answer };
    return answer;
  };
}

export interface KubeSnapshotRepositoryDeps {
  readonly client: KubeClient;
  /** How long an answer of `support` is kept, ms (default 30 000; 0: asked every time). */
  readonly supportCacheMs?: number;
  readonly clock?: Clock;
}

const byName = (a: { name: string }, b: { name: string }): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * VM snapshots and restores as KubeVirt `snapshot.kubevirt.io/v1beta1` objects in the tenant's
 * namespace, read from the API server on demand (a tenant holds a bounded number; no informer, so a
 * cluster without the CRDs costs nothing until a snapshot route is used). `support` lists the
 * snapshot CRD (a 404 means it is not served) and the KubeVirt CR (its `Snapshot` feature gate).
 */
export function createKubeSnapshotRepository(deps: KubeSnapshotRepositoryDeps): SnapshotRepository {
  const { client } = deps;
  const clock = deps.clock ?? systemClock;
  const cacheMs = deps.supportCacheMs ?? 30_000;
  const api = (plural: string, namespace: string) => ({ group: SNAPSHOT_GROUP, version: SNAPSHOT_VERSION, plural, namespace });

  const askSupport = () =>
    askKubeVirtSupport(
      client,
      { group: SNAPSHOT_GROUP, version: SNAPSHOT_VERSION, plural: VM_SNAPSHOTS },
      `the API server does not serve ${VM_SNAPSHOTS}.${SNAPSHOT_GROUP}; install KubeVirt's snapshot CRDs (snapshot.kubevirt.io/v1beta1, shipped with KubeVirt) and enable its Snapshot feature gate`,
    );

  const readSnapshot = (tenant: string, name: string) =>
    orUndefined(
      client.request(
        { what: `read VirtualMachineSnapshot ${tenant}/${name}`, write: false, resource: 'snapshot', name },
        async () => (await client.custom.getNamespacedCustomObject({ ...api(VM_SNAPSHOTS, tenant), name })) as VirtualMachineSnapshot,
      ),
    );

  return {
    support: cachedSupport(askSupport, clock, cacheMs),

    async list(tenant, vm) {
      const selector = `${MANAGED_SELECTOR},${LABEL_TENANT}=${tenant}${vm === undefined ? '' : `,${LABEL_VM}=${vm}`}`;
      const { items } = await listAllPages<VirtualMachineSnapshot>(client, `list VirtualMachineSnapshots of ${tenant}`, (cont) =>
        client.custom.listNamespacedCustomObject({
          ...api(VM_SNAPSHOTS, tenant),
          labelSelector: selector,
          limit: 500,
          ...(cont === undefined ? {} : { _continue: cont }),
        }),
      );
      return items.map(snapshotRecordOf).sort(byName);
    },

    async get(tenant, name) {
      const s = await readSnapshot(tenant, name);
      return s === undefined || s.metadata?.labels?.[LABEL_TENANT] !== tenant ? undefined : snapshotRecordOf(s);
    },

    async create(spec) {
      try {
        const s = (await client.request(
          { what: `create VirtualMachineSnapshot ${spec.tenant}/${spec.name}`, write: true, resource: 'snapshot', name: spec.name },
          () => client.custom.createNamespacedCustomObject({ ...api(VM_SNAPSHOTS, spec.tenant), body: snapshotObject(spec) }),
        )) as VirtualMachineSnapshot;
        return snapshotRecordOf(s);
      } catch (err) {
        if (!isConflict(err, 'ALREADY_EXISTS')) throw err;
        const existing = await readSnapshot(spec.tenant, spec.name);
        if (existing !== undefined && existing.metadata?.annotations?.[ANN_OPERATION_ID] === spec.operationId) return snapshotRecordOf(existing);
        throw new ConflictError('SNAPSHOT_EXISTS', `A snapshot named '${spec.name}' already exists in tenant '${spec.tenant}'.`, { cause: err });
      }
    },

    async delete(tenant, name) {
      const gone = await orUndefined(
        client.request({ what: `delete VirtualMachineSnapshot ${tenant}/${name}`, write: true, resource: 'snapshot', name }, () =>
          client.custom.deleteNamespacedCustomObject({ ...api(VM_SNAPSHOTS, tenant), name }),
        ),
      );
      return gone !== undefined;
    },

    async restore(tenant, name, vm, snapshot) {
      try {
        await client.request({ what: `create VirtualMachineRestore ${tenant}/${name}`, write: true }, () =>
          client.custom.createNamespacedCustomObject({ ...api(VM_RESTORES, tenant), body: restoreObject(tenant, name, vm, snapshot) }),
        );
      } catch (err) {
        if (!isConflict(err, 'ALREADY_EXISTS')) throw err;
      }
    },

    async restoreStatus(tenant, name) {
      const r = await orUndefined(
        client.request(
          { what: `read VirtualMachineRestore ${tenant}/${name}`, write: false, name },
          async () => (await client.custom.getNamespacedCustomObject({ ...api(VM_RESTORES, tenant), name })) as VirtualMachineRestore,
        ),
      );
      return r === undefined ? undefined : restoreRecordOf(r);
    },
  };
}
