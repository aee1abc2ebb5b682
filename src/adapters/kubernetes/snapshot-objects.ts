import type { RestoreRecord, SnapshotIndication, SnapshotPhase, SnapshotRecord, SnapshotSpec } from '../../domain/vms/snapshot.js';
import type * as kubevirt from './generated/kubevirt.js';
import type { KubeKind } from './kube-kind.js';
import { LABEL_MANAGED_BY, LABEL_TENANT, MANAGED_BY } from './tenant-objects.js';
import { timestamp } from './vm-mapping.js';
import { ANN_OPERATION_ID, KUBEVIRT_GROUP, LABEL_VM } from './vm-objects.js';

export type VirtualMachineSnapshot = KubeKind<kubevirt.VirtualMachineSnapshot>;
export type VirtualMachineRestore = KubeKind<kubevirt.VirtualMachineRestore>;
export type KubeVirtCr = KubeKind<kubevirt.KubeVirt>;

export const SNAPSHOT_GROUP = 'snapshot.kubevirt.io';
export const SNAPSHOT_VERSION = 'v1beta1';
export const VM_SNAPSHOTS = 'virtualmachinesnapshots';
export const VM_RESTORES = 'virtualmachinerestores';
export const KUBEVIRTS = 'kubevirts';
/** The KubeVirt feature gate snapshots and restores need. */
export const SNAPSHOT_FEATURE_GATE = 'Snapshot';
/** Storage (GiB) a snapshot counts for against its tenant's quota: the VM's disk size when it was taken. */
export const ANN_SNAPSHOT_SIZE = 'labplane.io/snapshot-size-gi';

const PHASES: ReadonlySet<string> = new Set(['InProgress', 'Succeeded', 'Failed']);
const INDICATIONS: ReadonlySet<string> = new Set(['Online', 'GuestAgent', 'NoGuestAgent']);

function labels(tenant: string, vm: string): Record<string, string> {
  return { [LABEL_MANAGED_BY]: MANAGED_BY, [LABEL_TENANT]: tenant, [LABEL_VM]: vm };
}

/**
 * The VirtualMachineSnapshot of a spec. Not owned by the VM (KubeVirt's semantics: a snapshot
 * outlives its VM); labelled with the tenant and the VM, which `vm.delete` uses to delete them.
 */
export function snapshotObject(spec: SnapshotSpec): VirtualMachineSnapshot {
  return {
    apiVersion: `${SNAPSHOT_GROUP}/${SNAPSHOT_VERSION}`,
    kind: 'VirtualMachineSnapshot',
    metadata: {
      name: spec.name,
      namespace: spec.tenant,
      labels: labels(spec.tenant, spec.vm),
      annotations: { [ANN_OPERATION_ID]: spec.operationId, [ANN_SNAPSHOT_SIZE]: String(spec.sizeGi) },
    },
    spec: { source: { apiGroup: KUBEVIRT_GROUP, kind: 'VirtualMachine', name: spec.vm } },
  };
}

/** The VirtualMachineRestore of `vm` from `snapshot`. */
export function restoreObject(tenant: string, name: string, vm: string, snapshot: string): VirtualMachineRestore {
  return {
    apiVersion: `${SNAPSHOT_GROUP}/${SNAPSHOT_VERSION}`,
    kind: 'VirtualMachineRestore',
    metadata: { name, namespace: tenant, labels: labels(tenant, vm) },
    spec: { target: { apiGroup: KUBEVIRT_GROUP, kind: 'VirtualMachine', name: vm }, virtualMachineSnapshotName: snapshot },
  };
}

export function snapshotRecordOf(s: VirtualMachineSnapshot): SnapshotRecord {
  const meta = s.metadata ?? {};
  const status = s.status;
  const phase = status?.phase ?? '';
  const indications = (status?.indications ?? []).filter((i): i is SnapshotIndication => INDICATIONS.has(i));
  const size = Number(meta.annotations?.[ANN_SNAPSHOT_SIZE] ?? '0');
  const operationId = meta.annotations?.[ANN_OPERATION_ID];
  const error = status?.error?.message;
  return {
    tenant: meta.namespace ?? '',
    vm: meta.labels?.[LABEL_VM] ?? s.spec?.source.name ?? '',
    name: meta.name ?? '',
    phase: PHASES.has(phase) ? (phase as SnapshotPhase) : 'Unknown',
    readyToUse: status?.readyToUse === true,
    online: indications.includes('Online'),
    indications,
    ...(error === undefined || error === '' ? {} : { error }),
    ...(status?.creationTime == null ? {} : { creationTime: timestamp(status.creationTime) }),
    createdAt: timestamp(meta.creationTimestamp),
    sizeGi: Number.isFinite(size) && size >= 0 ? size : 0,
    ...(operationId === undefined ? {} : { operationId }),
    deleting: meta.deletionTimestamp != null,
  };
}

export function restoreRecordOf(r: VirtualMachineRestore): RestoreRecord {
  const meta = r.metadata ?? {};
  const failure = (r.status?.conditions ?? []).find((c) => c.type === 'Failure' && c.status === 'True');
  return {
    tenant: meta.namespace ?? '',
    name: meta.name ?? '',
    vm: r.spec?.target.name ?? '',
    snapshot: r.spec?.virtualMachineSnapshotName ?? '',
    complete: r.status?.complete === true,
    ...(failure === undefined ? {} : { failure: failure.message ?? failure.reason ?? 'Failure' }),
    ...(r.status?.restoreTime == null ? {} : { restoreTime: timestamp(r.status.restoreTime) }),
  };
}

/** Why a KubeVirt CR does not allow snapshots, or undefined when its `Snapshot` feature gate is on. */
export function featureGateProblem(kv: KubeVirtCr | undefined): string | undefined {
  if (kv === undefined) return 'no KubeVirt CR was found; install KubeVirt with the Snapshot feature gate';
  const dev = kv.spec?.configuration?.developerConfiguration;
  const on = (dev?.featureGates ?? []).includes(SNAPSHOT_FEATURE_GATE);
  const off = (dev?.disabledFeatureGates ?? []).includes(SNAPSHOT_FEATURE_GATE);
  if (on && !off) return undefined;
  const ns = kv.metadata?.namespace ?? 'kubevirt';
  const name = kv.metadata?.name ?? 'kubevirt';
  return `KubeVirt's Snapshot feature gate is off; add "Snapshot" to spec.configuration.developerConfiguration.featureGates of the KubeVirt CR ${ns}/${name}`;
}
