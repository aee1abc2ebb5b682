import type { VmChange } from '../../domain/vms/vm.js';
import { KubeApiError } from './errors.js';
import type { KubeClient } from './kube-client.js';
import { formatCpu } from './quantity.js';
import { orUndefined } from './kube-reads.js';
import { modify } from './kube-writes.js';
import { CDI_GROUP, CDI_VERSION, DATAVOLUMES, type DataVolume } from './image-objects.js';
import {
  ANN_DROPPED_AT,
  ANN_INSTANCE_TYPE,
  computeResources,
  KUBEVIRT_GROUP,
  KUBEVIRT_VERSION,
  LABEL_RETAINED_FROM,
  VMS,
  type VirtualMachine,
} from './vm-objects.js';

export const vmApi = (namespace: string) => ({ group: KUBEVIRT_GROUP, version: KUBEVIRT_VERSION, plural: VMS, namespace });
const dvApi = (namespace: string) => ({ group: CDI_GROUP, version: CDI_VERSION, plural: DATAVOLUMES, namespace });

/** The VM with `change` applied (runStrategy, CPU cores, requests/limits, instance-type annotation). */
export function changedVm(vm: VirtualMachine, change: VmChange): VirtualMachine {
  const next = structuredClone(vm);
  const spec = next.spec;
  if (change.running !== undefined) {
    spec.runStrategy = change.running ? 'Always' : 'Halted';
    delete spec.running;
  }
  if (change.cpu !== undefined || change.memoryGi !== undefined) {
    // The schema requires the template and its domain's devices; a VM without a template spec gets an empty one.
    const { domain } = (spec.template.spec ??= { domain: { devices: {} } });
    const cpu = change.cpu ?? domain.cpu?.cores ?? 1;
    const memory = change.memoryGi === undefined ? domain.resources?.requests?.memory : computeResources(cpu, change.memoryGi).requests.memory;
    const figures = { cpu: formatCpu(cpu), ...(memory === undefined ? {} : { memory }) };
    domain.cpu = { ...domain.cpu, cores: cpu };
    domain.resources = {
      ...domain.resources,
      requests: { ...domain.resources?.requests, ...figures },
      limits: { ...domain.resources?.limits, ...figures },
    };
  }
  if (change.instanceType !== undefined) {
    const ann = { ...next.metadata?.annotations };
    if (change.instanceType === null) delete ann[ANN_INSTANCE_TYPE];
    else ann[ANN_INSTANCE_TYPE] = change.instanceType;
    next.metadata = { ...next.metadata, annotations: ann };
  }
  if (change.droppedAt !== undefined) {
    const ann = { ...next.metadata?.annotations };
    if (change.droppedAt === null) delete ann[ANN_DROPPED_AT];
    else ann[ANN_DROPPED_AT] = change.droppedAt;
    next.metadata = { ...next.metadata, annotations: ann };
  }
  return next;
}

/** The Kubernetes message of a translated error (KubeVirt says why it refused an action). */
export function kubeMessage(err: unknown): string | undefined {
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof KubeApiError && cause.status.message !== '' ? cause.status.message : undefined;
}

/**
 * Releases a VM's disks before it is deleted, so they stay (storage class `kv-premium-retain`):
 * the VM's owner reference is removed and `labplane.io/retained-from=<vm>` added. Idempotent.
 */
export async function retainDisks(client: KubeClient, vm: VirtualMachine): Promise<string[]> {
  const ns = vm.metadata?.namespace ?? '';
  const vmName = vm.metadata?.name ?? '';
  const uid = vm.metadata?.uid;
  const kept: string[] = [];
  for (const t of vm.spec?.dataVolumeTemplates ?? []) {
    const name = t.metadata?.name;
    if (name === undefined) continue;
    const read = () =>
      orUndefined(
        client.request(
          { what: `read DataVolume ${ns}/${name}`, write: false },
          async () => (await client.custom.getNamespacedCustomObject({ ...dvApi(ns), name })) as DataVolume,
        ),
      );
    const done = await modify<DataVolume>(
      `DataVolume ${ns}/${name}`,
      read,
      undefined,
      (dv) => {
        const refs = dv.metadata?.ownerReferences ?? [];
        if (!refs.some((r) => r.uid === uid) && dv.metadata?.labels?.[LABEL_RETAINED_FROM] === vmName) return undefined;
        return {
          ...dv,
          metadata: {
            ...dv.metadata,
            ownerReferences: refs.filter((r) => r.uid !== uid),
            labels: { ...dv.metadata?.labels, [LABEL_RETAINED_FROM]: vmName },
          },
        };
      },
      async (next) =>
        (await client.request({ what: `release DataVolume ${ns}/${name}`, write: true }, () =>
          client.custom.replaceNamespacedCustomObject({ ...dvApi(ns), name, body: next }),
        )) as DataVolume,
    );
    if (done !== undefined) kept.push(name);
  }
  return kept;
}
