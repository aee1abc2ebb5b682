import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { cloneObject, clonePatches, publishedImageObject } from '../../src/adapters/kubernetes/vm-copy-objects.js';
import { imageFromDataVolume } from '../../src/adapters/kubernetes/image-objects.js';
import { virtualMachineObject } from '../../src/adapters/kubernetes/vm-objects.js';
import { jsonPatch } from '../../src/adapters/sim/kube-emulator/patch.js';
import { schemaValidatorFor } from '../../src/adapters/sim/kube-emulator/index.js';
import { buildUserData, GENERALIZE_COMMANDS } from '../../src/domain/vms/cloud-init.js';
import { cloneObjectName, type CloneSpec } from '../../src/domain/vms/vm-copy.js';
import type { VmSpec } from '../../src/domain/vms/vm.js';
import { sshKey } from './support.js';

const source: VmSpec = {
  tenant: 't1',
  name: 'tmpl',
  id: '0b7e3c1e-5d2a-4f0e-9a51-2f6c1c0e7a11',
  ownerId: 'olga',
  lab: 'os-101',
  image: { scope: 'platform', name: 'ubuntu-24-04' },
  source: { namespace: 'labplane-images', pvcName: 'ubuntu-24-04' },
  cpu: 2,
  memoryGi: 4,
  diskGi: 10,
  storageClass: 'kv-standard',
  arc: true,
  running: true,
  labels: {},
  operationId: 'op-source',
};

const spec: CloneSpec = {
  tenant: 't1',
  name: cloneObjectName('copy', '3f2d9a4e-6b22-4f55-8a5b-7d0c2d7a7a0f'),
  source: 'tmpl',
  target: 'copy',
  targetId: '7d0c2d7a-7a0f-4f55-8a5b-3f2d9a4e6b22',
  ownerId: 'ada@example.edu',
  arc: true,
  running: false,
  serial: 'a6c1c0e7-5d2a-4f0e-9a51-2f6c1c0e7a11',
  operationId: '3f2d9a4e-6b22-4f55-8a5b-7d0c2d7a7a0f',
};

describe('generalisation cloud-init', () => {
  it('is valid #cloud-config that deletes host keys, resets the machine id and the Arc agent once per instance', () => {
    const doc = parse(buildUserData({ hostname: 'copy', sshPublicKeys: [sshKey()], generalize: true })) as Record<string, unknown>;
    expect(doc).toMatchObject({ hostname: 'copy', ssh_deletekeys: true, ssh_genkeytypes: ['rsa', 'ecdsa', 'ed25519'] });
    expect(doc['bootcmd']).toEqual(GENERALIZE_COMMANDS);
    for (const c of GENERALIZE_COMMANDS) expect(c.slice(0, 2)).toEqual(['cloud-init-per', 'instance']);
    expect(JSON.stringify(doc['bootcmd'])).toContain('azcmagent disconnect --force-local-only');
  });

  it('is absent for a VM from an imported image', () => {
    const doc = parse(buildUserData({ hostname: 'plain', sshPublicKeys: [sshKey()] })) as Record<string, unknown>;
    expect(doc['bootcmd']).toBeUndefined();
    expect(doc['ssh_deletekeys']).toBeUndefined();
  });

  it('comes before the Arc onboarding part in the multipart user-data', () => {
    const data = buildUserData({
      hostname: 'copy',
      sshPublicKeys: [],
      generalize: true,
      arc: '#cloud-config\nruncmd:\n  - ["azcmagent", "connect"]\n',
    });
    expect(data.indexOf('azcmagent disconnect')).toBeGreaterThan(0);
    expect(data.indexOf('azcmagent disconnect')).toBeLessThan(data.indexOf('"azcmagent", "connect"'));
  });
});

describe('VirtualMachineClone', () => {
  it('is schema-valid and its patches give the target its own id, owner, Secret and run strategy, and drop the source’s identity', () => {
    const vm = virtualMachineObject(source);
    vm.metadata = { ...vm.metadata, annotations: { ...vm.metadata?.annotations, 'labplane.io/arc-resource-id': '/subscriptions/x/machines/tmpl' } };
    const obj = cloneObject(vm, spec);
    expect(
      schemaValidatorFor().validate({ doc: 'kubevirt', definition: 'v1beta1.VirtualMachineClone' }, structuredClone(obj) as never).causes,
    ).toEqual([]);
    expect(obj.spec).toMatchObject({ newSMBiosSerial: spec.serial, source: { name: 'tmpl' }, target: { name: 'copy' } });
    expect(obj.spec?.newMacAddresses).toBeUndefined();
    const target = jsonPatch(
      vm,
      clonePatches(vm, spec).map((p) => JSON.parse(p) as unknown),
    ) as typeof vm;
    expect(target.metadata?.labels).toMatchObject({ 'labplane.io/vm-id': spec.targetId });
    expect(target.metadata?.labels?.['labplane.io/lab']).toBeUndefined();
    expect(target.metadata?.labels?.['labplane.io/owner']).not.toBe(vm.metadata?.labels?.['labplane.io/owner']);
    expect(target.metadata?.annotations).toMatchObject({ 'labplane.io/owner-id': 'ada@example.edu', 'labplane.io/operation-id': spec.operationId });
    expect(target.metadata?.annotations?.['labplane.io/arc-resource-id']).toBeUndefined();
    expect(target.spec?.runStrategy).toBe('Halted');
    expect(target.spec?.template?.metadata?.labels).toMatchObject({
      'labplane.io/vm': 'copy',
      'kubevirt.io/domain': 'copy',
      'labplane.io/vm-id': spec.targetId,
    });
    expect(target.spec?.template?.spec?.volumes?.find((v) => v.name === 'cloudinit')?.cloudInitNoCloud?.secretRef?.name).toBe('copy-cloudinit');
    expect(target.spec?.dataVolumeTemplates?.[0]?.metadata?.labels).toMatchObject({ 'labplane.io/vm': 'copy', 'labplane.io/vm-id': spec.targetId });
    expect(cloneObjectName('copy', spec.operationId)).toBe('copy-clone-3f2d9a4e');
  });
});

describe('published image DataVolume', () => {
  it('clones the VM disk, and reads back as a generalising tenant image with its source VM and version', () => {
    const dv = publishedImageObject({
      tenant: 't1',
      image: 'course',
      displayName: 'Course',
      vm: 'tmpl',
      sourcePvc: 'tmpl-root-1234abcd',
      version: 3,
      sizeGi: 10,
      storageClass: 'kv-standard',
      operationId: 'op-1',
    });
    expect(schemaValidatorFor().validate({ doc: 'cdi', definition: 'v1beta1.DataVolume' }, structuredClone(dv) as never).causes).toEqual([]);
    expect(dv.spec?.source).toEqual({ pvc: { namespace: 't1', name: 'tmpl-root-1234abcd' } });
    expect(imageFromDataVolume(dv)).toMatchObject({
      scope: 'tenant',
      tenant: 't1',
      name: 'course',
      source: { type: 'vm', vm: 'tmpl', version: 3 },
      generalize: true,
      sizeGi: 10,
      operationId: 'op-1',
    });
  });
});
