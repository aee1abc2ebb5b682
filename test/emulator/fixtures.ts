/** A minimal valid VirtualMachine the way labplane builds them. */
export function minimalVm(name: string, namespace: string, opts: { cpu?: string; memory?: string } = {}): Record<string, unknown> {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name, namespace, labels: { 'labplane.io/tenant': namespace } },
    spec: {
      runStrategy: 'Halted',
      dataVolumeTemplates: [
        {
          metadata: { name: `${name}-root` },
          spec: {
            sourceRef: { kind: 'DataSource', name: 'ubuntu-2204', namespace: 'labplane-images' },
            storage: { accessModes: ['ReadWriteMany'], storageClassName: 'kv-standard', resources: { requests: { storage: '20Gi' } } },
          },
        },
      ],
      template: {
        metadata: { labels: { 'kubevirt.io/vm': name } },
        spec: {
          nodeSelector: { workload: 'kubevirt' },
          tolerations: [{ key: 'kubevirt.io/dedicated', operator: 'Equal', value: 'true', effect: 'NoSchedule' }],
          domain: {
            cpu: { cores: 2 },
            resources: {
              requests: { cpu: opts.cpu ?? '2', memory: opts.memory ?? '4Gi' },
              limits: { cpu: opts.cpu ?? '2', memory: opts.memory ?? '4Gi' },
            },
            devices: {
              disks: [
                { name: 'root', disk: { bus: 'virtio' } },
                { name: 'cloudinit', disk: { bus: 'virtio' } },
              ],
              interfaces: [{ name: 'default', masquerade: {} }],
            },
          },
          networks: [{ name: 'default', pod: {} }],
          volumes: [
            { name: 'root', dataVolume: { name: `${name}-root` } },
            { name: 'cloudinit', cloudInitNoCloud: { secretRef: { name: `${name}-cloudinit` } } },
          ],
        },
      },
    },
  };
}
