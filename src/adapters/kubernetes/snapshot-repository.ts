import { ConflictError, UpstreamUnavailableError } from '../../domain/shared/errors.js';
import { systemClock, type Clock } from '../../domain/shared/ids.js';
import type { SnapshotSupport } from '../../domain/vms/snapshot.js';
import type { SnapshotRepository } from '../../domain/vms/snapshot-repository.js';
import { isConflict } from './errors.js';
import type { KubeClient } from './kube-client.js';
import { listAllPages, orUndefined } from './kube-reads.js';
import { createResourceCache, customResource, waitForSync, type RestartDelay } from './resource-cache.js';
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

/**
 * `ask`, its answer kept for `cacheMs` (0: asked every time). While an ask is under way, callers share
 * it: every VM create asks (its quota counts snapshots), and when the answer expired during a lab's
 * creates each of them sent the two lists of its own, 340 requests of a 500-student lab's budget.
 */
export function cachedSupport(ask: () => Promise<SnapshotSupport>, clock: Clock, cacheMs: number): () => Promise<SnapshotSupport> {
  let cached: { at: number; answer: SnapshotSupport } | undefined;
  let pending: Promise<SnapshotSupport> | undefined;
  return async () => {
    const now = clock.now().getTime();
    if (cached !== undefined && now - cached.at < cacheMs) return cached.answer;
    // Asked every time (0): a caller must not get an answer asked before it called.
    if (cacheMs <= 0) return ask();
    pending ??= ask()
      .then((answer) => {
        cached = { at: now, answer };
        return answer;
      })
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
}

export interface KubeSnapshotRepositoryDeps {
  readonly client: KubeClient;
  /** How long an answer of `support` is kept, ms (default 30 000; 0: asked every time). */
  readonly supportCacheMs?: number;
  readonly clock?: Clock;
  /** How long a list waits for the snapshot watch's first list before it lists from the server (default 10 000 ms). */
  readonly syncWaitMs?: number;
  /** Back-off between restarts of the snapshot watch (jittered; default 250 ms .. 30 s). */
  readonly watchRestartDelayMs?: RestartDelay;
}

/** The snapshot repository of a Kubernetes cluster, with the watch its lists start to stop. */
export interface KubeSnapshotRepository extends SnapshotRepository {
  /** Stops the snapshot watch, if a list started it. */
  close(): Promise<void>;
}

const byName = (a: { name: string }, b: { name: string }): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * VM snapshots and restores as KubeVirt `snapshot.kubevirt.io/v1beta1` objects in the tenant's
 * namespace. Lists come from a watch of the platform's VirtualMachineSnapshots (`resource-cache.ts`),
 * started by the first list, which callers only make once `support` said the cluster can snapshot: a
 * cluster without the CRDs is sent nothing until a snapshot route is used, and the watch is no part
 * of readiness. Every VM create reads the tenant's snapshots (their storage counts against its
 * quota, `usageWithSnapshots`): read from the API server, that was one request per VM, 7% of
 * a 500-student lab's Kubernetes requests. Our own creates and deletes go into the copy at once; one
 * snapshot's reads (`get`, `restoreStatus`) still go to the server (a job polls its progress).
 * `support` lists the snapshot CRD (a 404 means it is not served) and the KubeVirt CR (its
 * `Snapshot` feature gate).
 */
export function createKubeSnapshotRepository(deps: KubeSnapshotRepositoryDeps): KubeSnapshotRepository {
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

  const cache = createResourceCache<VirtualMachineSnapshot>({
    client,
    name: VM_SNAPSHOTS,
    kind: 'VirtualMachineSnapshot',
    resource: 'snapshot',
    path: `/apis/${SNAPSHOT_GROUP}/${SNAPSHOT_VERSION}/${VM_SNAPSHOTS}`,
    api: customResource(client, SNAPSHOT_GROUP, SNAPSHOT_VERSION, VM_SNAPSHOTS),
    labelSelector: MANAGED_SELECTOR,
    ...(deps.watchRestartDelayMs === undefined ? {} : { restartDelayMs: deps.watchRestartDelayMs }),
  });
  let watching = false;
  const syncWaitMs = deps.syncWaitMs ?? 10_000;

  return {
    support: cachedSupport(askSupport, clock, cacheMs),

    async list(tenant, vm) {
      if (!watching) {
        watching = true;
        cache.start();
      }
      // Until the copy has listed, callers wait for that list (a lab's first VM creates would
      // otherwise each list the tenant's snapshots themselves), up to `syncWaitMs`; then, or when the
      // resource is not served, they list from the server.
      if (!cache.synced()) await waitForSync([cache], syncWaitMs);
      const items = (await cache.list(tenant)).filter((s) => {
        const labels = s.metadata?.labels;
        return labels?.[LABEL_TENANT] === tenant && (vm === undefined || labels[LABEL_VM] === vm);
      });
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
        cache.remember(s);
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
      cache.forget({ metadata: { namespace: tenant, name } });
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

    close: () => cache.stop(),
  };
}
