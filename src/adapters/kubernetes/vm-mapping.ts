import type { V1Node } from '@kubernetes/client-node';
import { STORAGE_CLASSES, type StorageClass } from '../../domain/images/image.js';
import type { NodeRecord, VmMigration, VmRecord } from '../../domain/vms/vm.js';
import type { Condition } from '../../domain/vms/vm-state.js';
import { LABEL_IMAGE, LABEL_IMAGE_SCOPE } from './image-objects.js';
import { cpuFromQuantity, giFromQuantity } from './quantity.js';
import {
  ANN_ARC_EXTENSION,
  ANN_ARC_RESOURCE_ID,
  ANN_ARC_STATUS,
  ANN_DROPPED_AT,
  ANN_IDENTITY_READY,
  ANN_INSTANCE_TYPE,
  ANN_OPERATION_ID,
  ANN_OWNER_ID,
  LABEL_ARC,
  LABEL_LAB,
  LABEL_VM_ID,
  type KubeCondition,
  type ResourceList,
  type VirtualMachine,
  type VirtualMachineInstance,
  type VirtualMachineInstanceMigration,
} from './vm-objects.js';

const RESERVED_DOMAINS = ['labplane.io', 'kubevirt.io', 'kubernetes.io', 'k8s.io'];
const TERMINAL_PHASES = new Set(['Succeeded', 'Failed']);

type VmBase = Omit<VmRecord, 'observation' | 'nodeName' | 'instance' | 'migration'> & {
  readonly printableStatus?: string;
  readonly conditions: readonly Condition[];
};

function quantity<T>(q: string | number | undefined, parse: (s: string) => T): T | undefined {
  if (q === undefined) return undefined;
  try {
    return parse(String(q));
  } catch {
    return undefined;
  }
}

const EPOCH = new Date(0).toISOString();

/** An ISO 8601 instant of a Kubernetes timestamp (a Date or a string; the epoch when absent or malformed). */
export function timestamp(v: unknown): string {
  const d = v instanceof Date ? v : typeof v === 'string' ? new Date(v) : undefined;
  return d === undefined || Number.isNaN(d.getTime()) ? new Date(0).toISOString() : d.toISOString();
}

/**
 * When a VMI started running: the latest `Running` entry of `status.phaseTransitionTimestamps` (as
 * virt-controller writes them), else its creation (a VMI seen before it reached Running).
 */
export function startedAtOf(vmi: VirtualMachineInstance): string {
  const running = (vmi.status?.phaseTransitionTimestamps ?? [])
    .filter((t) => t.phase === 'Running' && t.phaseTransitionTimestamp !== undefined)
    .map((t) => timestamp(t.phaseTransitionTimestamp))
    .filter((t) => t !== EPOCH)
    .sort();
  return running.at(-1) ?? timestamp(vmi.metadata?.creationTimestamp);
}

export function conditionsOf(raw: readonly KubeCondition[] | undefined): Condition[] {
  return (raw ?? []).map((c) => ({
    type: c.type,
    status: c.status === 'True' || c.status === 'False' ? c.status : 'Unknown',
    ...(c.reason === undefined ? {} : { reason: c.reason }),
    ...(c.message === undefined ? {} : { message: c.message }),
  }));
}

/** The caller's labels: every label outside the platform's, KubeVirt's and Kubernetes' domains. */
function userLabels(labels: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(labels).filter(([k]) => {
      const slash = k.lastIndexOf('/');
      if (slash < 0) return true;
      const prefix = k.slice(0, slash);
      return !RESERVED_DOMAINS.some((d) => prefix === d || prefix.endsWith(`.${d}`));
    }),
  );
}

function size(resources: { requests?: ResourceList } | undefined, cores: number | undefined): { cpu: number; memoryGi: number } {
  const cpu = cores ?? quantity(resources?.requests?.cpu, cpuFromQuantity) ?? 1;
  const memoryGi = quantity(resources?.requests?.memory, giFromQuantity) ?? 0;
  return { cpu, memoryGi };
}

const bases = new WeakMap<VirtualMachine, VmBase>();

/** What the VirtualMachine alone says (memoized per object: cached objects are replaced, never mutated). */
function baseOf(vm: VirtualMachine): VmBase {
  const known = bases.get(vm);
  if (known !== undefined) return known;
  const meta = vm.metadata ?? {};
  const labels = meta.labels ?? {};
  const ann = meta.annotations ?? {};
  const template = vm.spec?.template?.spec?.domain;
  const disk = vm.spec?.dataVolumeTemplates?.[0]?.spec?.storage;
  const storageClass = (STORAGE_CLASSES as readonly string[]).includes(disk?.storageClassName ?? '')
    ? (disk?.storageClassName as StorageClass)
    : 'kv-standard';
  const lab = labels[LABEL_LAB];
  const instanceType = ann[ANN_INSTANCE_TYPE];
  const operationId = ann[ANN_OPERATION_ID];
  const arcStatus = ann[ANN_ARC_STATUS];
  const droppedAt = ann[ANN_DROPPED_AT];
  const printableStatus = vm.status?.printableStatus;
  const base: VmBase = {
    tenant: meta.namespace ?? '',
    name: meta.name ?? '',
    id: labels[LABEL_VM_ID] ?? '',
    ownerId: ann[ANN_OWNER_ID] ?? '',
    ...(lab === undefined ? {} : { lab }),
    image: { scope: labels[LABEL_IMAGE_SCOPE] === 'tenant' ? 'tenant' : 'platform', name: labels[LABEL_IMAGE] ?? '' },
    ...(instanceType === undefined ? {} : { instanceType }),
    ...size(template?.resources, template?.cpu?.cores),
    diskGi: quantity(disk?.resources?.requests?.storage, giFromQuantity) ?? 0,
    storageClass,
    arc: labels[LABEL_ARC] === 'true',
    labels: userLabels(labels),
    runStrategy: vm.spec?.runStrategy ?? (vm.spec?.running === true ? 'Always' : 'Halted'),
    createdAt: timestamp(meta.creationTimestamp),
    version: meta.resourceVersion ?? '',
    deleting: meta.deletionTimestamp !== undefined && meta.deletionTimestamp !== null,
    ...(operationId === undefined ? {} : { operationId }),
    ...(arcStatus === undefined
      ? {}
      : {
          identity: {
            arcStatus,
            machineResourceId: ann[ANN_ARC_RESOURCE_ID] ?? '',
            extensionState: ann[ANN_ARC_EXTENSION] ?? 'NotStarted',
            ready: ann[ANN_IDENTITY_READY] === 'true',
          },
        }),
    ...(droppedAt === undefined ? {} : { droppedAt }),
    ...(printableStatus === undefined ? {} : { printableStatus }),
    conditions: conditionsOf(vm.status?.conditions),
  };
  bases.set(vm, base);
  return base;
}

/** The latest migration: the newest by creation, an unfinished one winning a tie. */
export function latestMigration(migrations: readonly VirtualMachineInstanceMigration[]): VirtualMachineInstanceMigration | undefined {
  let best: VirtualMachineInstanceMigration | undefined;
  const rank = (m: VirtualMachineInstanceMigration) =>
    `${timestamp(m.metadata?.creationTimestamp)}|${TERMINAL_PHASES.has(m.status?.phase ?? '') ? 0 : 1}|${m.metadata?.name ?? ''}`;
  for (const m of migrations) if (best === undefined || rank(m) > rank(best)) best = m;
  return best;
}

export function migrationOf(m: VirtualMachineInstanceMigration): VmMigration {
  const state = m.status?.migrationState;
  return {
    name: m.metadata?.name ?? '',
    phase: m.status?.phase ?? 'Pending',
    ...(state?.failureReason === undefined ? {} : { failureReason: state.failureReason }),
    ...(state?.sourceNode === undefined ? {} : { sourceNode: state.sourceNode }),
    ...(state?.targetNode === undefined ? {} : { targetNode: state.targetNode }),
  };
}

const records = new WeakMap<
  VirtualMachine,
  { vmi: VirtualMachineInstance | undefined; migrations: readonly VirtualMachineInstanceMigration[]; record: VmRecord }
>();

/**
 * A VM as the cluster reports it: its VirtualMachine, its VMI (when running) and its migrations.
 * Memoized on the identity of those objects (cached objects are replaced on change, never
 * mutated), so reading an unchanged VM again costs a lookup.
 */
export function vmRecordOf(
  vm: VirtualMachine,
  vmi: VirtualMachineInstance | undefined,
  migrations: readonly VirtualMachineInstanceMigration[],
): VmRecord {
  const known = records.get(vm);
  if (
    known !== undefined &&
    known.vmi === vmi &&
    known.migrations.length === migrations.length &&
    known.migrations.every((m, i) => m === migrations[i])
  ) {
    return known.record;
  }
  const record = mapRecord(vm, vmi, migrations);
  records.set(vm, { vmi, migrations: [...migrations], record });
  return record;
}

function mapRecord(vm: VirtualMachine, vmi: VirtualMachineInstance | undefined, migrations: readonly VirtualMachineInstanceMigration[]): VmRecord {
  const { printableStatus, conditions, ...base } = baseOf(vm);
  const latest = latestMigration(migrations);
  const inFlight = latest !== undefined && !TERMINAL_PHASES.has(latest.status?.phase ?? '');
  const ms = vmi?.status?.migrationState;
  const migrating = inFlight || (ms !== undefined && ms.completed !== true && ms.failed !== true);
  const nodeName = vmi?.status?.nodeName;
  return {
    ...base,
    observation: {
      ...(printableStatus === undefined ? {} : { printableStatus }),
      conditions,
      ...(vmi === undefined
        ? {}
        : {
            vmi: {
              ...(vmi.status?.phase === undefined ? {} : { phase: vmi.status.phase }),
              conditions: conditionsOf(vmi.status?.conditions),
              migrating,
            },
          }),
    },
    ...(nodeName === undefined ? {} : { nodeName }),
    ...(vmi === undefined
      ? {}
      : {
          instance: { uid: vmi.metadata?.uid ?? '', ...size(vmi.spec?.domain?.resources, vmi.spec?.domain?.cpu?.cores), startedAt: startedAtOf(vmi) },
        }),
    ...(latest === undefined ? {} : { migration: migrationOf(latest) }),
  };
}

export function nodeRecordOf(n: V1Node): NodeRecord {
  const labels = n.metadata?.labels ?? {};
  const ready = n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  const zone = labels['topology.kubernetes.io/zone'];
  const instanceType = labels['node.kubernetes.io/instance-type'];
  const alloc = n.status?.allocatable ?? {};
  return {
    name: n.metadata?.name ?? '',
    ready,
    schedulable: n.spec?.unschedulable !== true,
    ...(zone === undefined ? {} : { zone }),
    ...(instanceType === undefined ? {} : { instanceType }),
    cpu: quantity(alloc['cpu'], cpuFromQuantity) ?? 0,
    memoryGi: Math.round((quantity(alloc['memory'], giFromQuantity) ?? 0) * 10) / 10,
  };
}
