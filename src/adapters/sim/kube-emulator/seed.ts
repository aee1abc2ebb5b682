import type { ObjectStore } from './store.js';
import { timestamp } from './store.js';

/** Namespaces every cluster starts with. */
export const SYSTEM_NAMESPACES = ['default', 'kube-node-lease', 'kube-public', 'kube-system'];

/** Name of the i-th seeded node: `aks-kubevirt-0000`, `aks-kubevirt-0001`, ... */
export function seededNodeName(i: number): string {
  return `aks-kubevirt-${String(i).padStart(4, '0')}`;
}

/** Seeds the system namespaces, `extra` namespaces and `count` KubeVirt nodes (label `workload=kubevirt`, taint `kubevirt.io/dedicated=true:NoSchedule`). */
export function seedCluster(store: ObjectStore, count: number, extra: readonly string[] = []): void {
  for (const name of new Set([...SYSTEM_NAMESPACES, ...extra])) {
    store.create('namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name, labels: { 'kubernetes.io/metadata.name': name } },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    });
  }
  const now = timestamp();
  for (let i = 0; i < count; i += 1) {
    const name = seededNodeName(i);
    store.create('nodes', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name,
        labels: {
          'kubernetes.io/hostname': name,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'amd64',
          'node.kubernetes.io/instance-type': 'Standard_D16s_v5',
          'topology.kubernetes.io/region': 'westeurope',
          'topology.kubernetes.io/zone': `westeurope-${(i % 3) + 1}`,
          agentpool: 'kubevirt',
          workload: 'kubevirt',
          'kubevirt.io/schedulable': 'true',
        },
      },
      spec: {
        providerID: `azure:///subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/mc_labplane/providers/Microsoft.Compute/virtualMachineScaleSets/aks-kubevirt-vmss/virtualMachines/${i}`,
        taints: [{ key: 'kubevirt.io/dedicated', value: 'true', effect: 'NoSchedule' }],
      },
      status: {
        capacity: { cpu: '16', memory: '65851220Ki', pods: '110', 'devices.kubevirt.io/kvm': '1k' },
        allocatable: { cpu: '15740m', memory: '57137492Ki', pods: '110', 'devices.kubevirt.io/kvm': '1k' },
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'KubeletReady',
            message: 'kubelet is posting ready status',
            lastHeartbeatTime: now,
            lastTransitionTime: now,
          },
        ],
        addresses: [
          { type: 'InternalIP', address: `10.224.0.${4 + i}` },
          { type: 'Hostname', address: name },
        ],
        nodeInfo: {
          architecture: 'amd64',
          operatingSystem: 'linux',
          kubeletVersion: 'v1.31.2',
          containerRuntimeVersion: 'containerd://1.7.22',
          osImage: 'Ubuntu 22.04.5 LTS',
        },
      },
    });
  }
}
