import { describe, expect, it } from 'vitest';
import { schemaValidatorFor } from '../../src/adapters/sim/kube-emulator/index.js';
import { vmRecordOf } from '../../src/adapters/kubernetes/vm-mapping.js';
import { cloudInitSecretObject, migrationObject, ownerLabel, rootDiskName, virtualMachineObject } from '../../src/adapters/kubernetes/vm-objects.js';
import { changedVm } from '../../src/adapters/kubernetes/vm-writes.js';
import type { VmSpec } from '../../src/domain/vms/vm.js';

const validator = schemaValidatorFor();
const valid = (doc: 'kubevirt' | 'core', definition: string, obj: unknown) =>
  validator.validate({ doc, definition }, structuredClone(obj) as Record<string, unknown>).causes;

const spec: VmSpec = {
  tenant: 'cs101',
  name: 'web-1',
  id: '0d6c3c8e-6c9e-5b8a-9a3a-7f2b9c4d1e2f',
  ownerId: 'student@uni.example:7',
  lab: 'week-1',
  image: { scope: 'platform', name: 'ubuntu-24-04' },
  source: { namespace: 'labplane-images', pvcName: 'ubuntu-24-04' },
  instanceType: 'medium',
  cpu: 2,
  memoryGi: 4,
  diskGi: 30,
  storageClass: 'kv-premium-retain',
  arc: true,
  running: true,
  labels: { team: 'red' },
  operationId: '5a1f6f35-5a3c-4c50-8f0a-2a1d9b7c1e00',
};

describe('KubeVirt objects the VM adapter writes', () => {
  it('the VirtualMachine passes strict KubeVirt schema validation and says everything the platform relies on', () => {
    const vm = virtualMachineObject(spec);
    expect(valid('kubevirt', 'v1.VirtualMachine', vm)).toEqual([]);
    const template = vm.spec?.template?.spec as Record<string, any>;
    expect(vm.spec?.runStrategy).toBe('Always');
    expect(vm.spec?.running).toBeUndefined();
    expect(vm.spec?.dataVolumeTemplates?.[0]).toEqual({
      metadata: {
        name: rootDiskName(spec),
        labels: expect.objectContaining({ 'app.kubernetes.io/managed-by': 'labplane', 'labplane.io/vm': 'web-1' }),
      },
      spec: {
        source: { pvc: { namespace: 'labplane-images', name: 'ubuntu-24-04' } },
        storage: { storageClassName: 'kv-premium-retain', resources: { requests: { storage: '30Gi' } } },
      },
    });
    expect(template['nodeSelector']).toEqual({ workload: 'kubevirt' });
    expect(template['tolerations']).toEqual([{ key: 'kubevirt.io/dedicated', operator: 'Equal', value: 'true', effect: 'NoSchedule' }]);
    expect(template['domain']).toMatchObject({
      cpu: { cores: 2 },
      resources: { requests: { cpu: '2', memory: '4Gi' }, limits: { cpu: '2', memory: '4Gi' } },
      devices: {
        disks: [
          { name: 'root', disk: { bus: 'virtio' } },
          { name: 'cloudinit', disk: { bus: 'virtio' } },
        ],
        interfaces: [{ name: 'default', masquerade: {} }],
      },
    });
    expect(template['networks']).toEqual([{ name: 'default', pod: {} }]);
    expect(template['volumes'][1]).toEqual({ name: 'cloudinit', cloudInitNoCloud: { secretRef: { name: 'web-1-cloudinit' } } });
    expect(vm.metadata?.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'labplane',
      'labplane.io/tenant': 'cs101',
      'labplane.io/vm-id': spec.id,
      'labplane.io/lab': 'week-1',
      'labplane.io/image-scope': 'platform',
      'labplane.io/image': 'ubuntu-24-04',
      'labplane.io/arc': 'true',
      'labplane.io/owner': ownerLabel(spec.ownerId),
      team: 'red',
    });
    expect(ownerLabel(spec.ownerId)).toMatch(/^[0-9a-f]{40}$/);
    expect(vm.metadata?.annotations).toMatchObject({
      'labplane.io/owner-id': spec.ownerId,
      'labplane.io/instance-type': 'medium',
      'labplane.io/operation-id': spec.operationId,
    });
    expect(vm.spec?.template?.metadata?.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'labplane', 'labplane.io/vm': 'web-1' });
  });

  it('a halted VM and a resized one still pass strict validation', () => {
    const { instanceType: _type, lab: _lab, ...plain } = spec;
    const halted = virtualMachineObject({ ...plain, running: false });
    expect(halted.spec?.runStrategy).toBe('Halted');
    expect(valid('kubevirt', 'v1.VirtualMachine', halted)).toEqual([]);
    const resized = changedVm(halted, { cpu: 4, memoryGi: 8, instanceType: 'large', running: true });
    expect(resized.spec?.template?.spec?.domain?.resources).toEqual({ requests: { cpu: '4', memory: '8Gi' }, limits: { cpu: '4', memory: '8Gi' } });
    expect(resized.metadata?.annotations?.['labplane.io/instance-type']).toBe('large');
    expect(valid('kubevirt', 'v1.VirtualMachine', resized)).toEqual([]);
  });

  it('strict validation catches an unknown field (the checks above can fail)', () => {
    const vm = virtualMachineObject(spec) as Record<string, any>;
    vm['spec']['template']['spec']['domain']['cpuCores'] = 2;
    expect(valid('kubevirt', 'v1.VirtualMachine', vm)).not.toEqual([]);
  });

  it('the migration and the cloud-init Secret pass validation; the Secret holds the user-data under userdata', () => {
    expect(valid('kubevirt', 'v1.VirtualMachineInstanceMigration', migrationObject('cs101', 'web-1', 'web-1-mig-1234abcd'))).toEqual([]);
    const secret = cloudInitSecretObject('cs101', 'web-1', '#cloud-config\n');
    expect(valid('core', 'Secret', secret)).toEqual([]);
    expect(Buffer.from(secret.data?.['userdata'] ?? '', 'base64').toString()).toBe('#cloud-config\n');
  });

  it('a record read back from the VirtualMachine has the spec it was written from', () => {
    const vm = virtualMachineObject(spec);
    vm.metadata = { ...vm.metadata, resourceVersion: '7', creationTimestamp: new Date('2026-01-02T03:04:05Z') };
    const r = vmRecordOf(vm, undefined, []);
    expect(r).toMatchObject({
      tenant: 'cs101',
      name: 'web-1',
      id: spec.id,
      ownerId: spec.ownerId,
      lab: 'week-1',
      image: spec.image,
      instanceType: 'medium',
      cpu: 2,
      memoryGi: 4,
      diskGi: 30,
      storageClass: 'kv-premium-retain',
      arc: true,
      labels: { team: 'red' },
      runStrategy: 'Always',
      createdAt: '2026-01-02T03:04:05.000Z',
      version: '7',
      operationId: spec.operationId,
    });
    expect(r.instance).toBeUndefined();
  });
});
