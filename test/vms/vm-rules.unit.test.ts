import { describe, expect, it } from 'vitest';
import { DEFAULT_INSTANCE_TYPES } from '../../src/domain/vms/instance-types.js';
import { buildUserData } from '../../src/domain/vms/cloud-init.js';
import { createNeeds, quotaLeft, refuseOverQuota, refuseWithoutHeadroom, resizeNeeds } from '../../src/domain/vms/vm-quota.js';
import { cloudInitIssues, labelIssues, resolveSize, sshKeyProblem, vmNameIssues } from '../../src/domain/vms/vm-rules.js';
import { PROFILE_DEFAULTS } from '../../src/domain/tenants/tenant.js';
import { ConflictError, QuotaExceededError, ValidationError } from '../../src/domain/shared/errors.js';
import { sshKey } from './support.js';

const student = PROFILE_DEFAULTS.student;

describe('VM input rules', () => {
  it('accepts DNS labels of at most 54 characters as VM names (Arc machine names are limited to 54)', () => {
    expect(vmNameIssues('a'.repeat(54))).toEqual([]);
    expect(vmNameIssues('a'.repeat(55))).toHaveLength(1);
    for (const bad of ['', 'Upper', '-dash', 'dash-', 'under_score', 'dot.ted']) expect(vmNameIssues(bad), bad).toHaveLength(1);
  });

  it('accepts OpenSSH public keys whose data matches their type, and refuses everything else', () => {
    expect(sshKeyProblem(sshKey())).toBeUndefined();
    expect(sshKeyProblem(sshKey().replace(/ \S+$/, ''))).toBeUndefined();
    const rsaBlob = Buffer.concat([Buffer.from([0, 0, 0, 7]), Buffer.from('ssh-rsa'), Buffer.alloc(20, 1)]).toString('base64');
    expect(sshKeyProblem(`ssh-rsa ${rsaBlob} me@host`)).toBeUndefined();
    expect(sshKeyProblem(`ssh-ed25519 ${rsaBlob}`)).toMatch(/does not match/);
    expect(sshKeyProblem('-----BEGIN OPENSSH PRIVATE KEY-----')).toMatch(/key type/);
    expect(sshKeyProblem('ssh-ed25519 not*base64')).toMatch(/base64/);
    expect(sshKeyProblem(`${sshKey()}\nssh-ed25519 AAAA`)).toMatch(/one line/);
    expect(sshKeyProblem('command="rm -rf /" ssh-ed25519 AAAA')).toMatch(/key type/);
  });

  it('accepts extra cloud-init that is a #cloud-config or a script within 32 KiB', () => {
    expect(cloudInitIssues('#cloud-config\npackages: [git]\n')).toEqual([]);
    expect(cloudInitIssues('#!/bin/sh\necho hi\n')).toEqual([]);
    expect(cloudInitIssues('packages: [git]')).toHaveLength(1);
    expect(cloudInitIssues(`#cloud-config\n${'x'.repeat(33 * 1024)}`)).toHaveLength(1);
  });

  it("refuses labels in the platform's, KubeVirt's or Kubernetes' domains and malformed ones", () => {
    expect(labelIssues({ course: 'cs101', 'example.edu/team': 'red' })).toEqual([]);
    expect(labelIssues({ 'labplane.io/owner': 'x' })[0]?.message).toMatch(/reserved/);
    expect(labelIssues({ 'app.kubernetes.io/managed-by': 'x' })[0]?.message).toMatch(/reserved/);
    expect(labelIssues({ 'cdi.kubevirt.io/x': 'y' })[0]?.message).toMatch(/reserved/);
    expect(labelIssues({ course: 'a b' })).toHaveLength(1);
  });

  it('names a label by a JSON Pointer whose / in the key is escaped (RFC 6901), like the contract errors', () => {
    expect(labelIssues({ 'labplane.io/owner': 'x' }).map((i) => i.field)).toEqual(['/labels/labplane.io~1owner']);
    expect(labelIssues({ 'example.edu/team': 'a b' }).map((i) => i.field)).toEqual(['/labels/example.edu~1team']);
  });

  it('sizes a VM from an instance type its profile may use, or from explicit figures, within the per-VM caps', () => {
    expect(resolveSize({ instanceType: 'medium' }, 'student', student.vmCaps, DEFAULT_INSTANCE_TYPES)).toEqual({
      instanceType: 'medium',
      cpu: 2,
      memoryGi: 4,
    });
    expect(resolveSize({ cpu: 2, memoryGi: 3 }, 'student', student.vmCaps, DEFAULT_INSTANCE_TYPES)).toEqual({ cpu: 2, memoryGi: 3 });
    const refused = (req: Parameters<typeof resolveSize>[0]) => {
      try {
        resolveSize(req, 'student', student.vmCaps, DEFAULT_INSTANCE_TYPES);
      } catch (err) {
        expect(err).toBeInstanceOf(ValidationError);
        return (err as ValidationError).issues.map((i) => i.field);
      }
      throw new Error('expected a refusal');
    };
    expect(refused({ instanceType: 'large' })).toEqual(['/instanceType']);
    expect(refused({ cpu: 3, memoryGi: 8 })).toEqual(['/cpu', '/memoryGi']);
    expect(refused({ instanceType: 'small', cpu: 1 })).toEqual(['/instanceType']);
    expect(refused({ cpu: 1.5, memoryGi: 2 })).toEqual(['/cpu']);
    expect(refused({})).toEqual(['/cpu', '/memoryGi']);
  });
});

describe('quota arithmetic', () => {
  const quota = { ...student.quota, requestsCpu: 3, limitsCpu: 3 };
  const used = {
    ...quota,
    requestsCpu: 2,
    limitsCpu: 2,
    requestsMemoryGi: 4,
    limitsMemoryGi: 4,
    storageGi: 20,
    persistentVolumeClaims: 2,
    virtualMachines: 2,
  };

  it('a new VM needs its pod (when it starts), its disk, one PVC and one VM', () => {
    expect(createNeeds({ cpu: 2, memoryGi: 4, diskGi: 20, running: true })).toEqual({
      requestsCpu: 2,
      limitsCpu: 2,
      requestsMemoryGi: 4,
      limitsMemoryGi: 4,
      storageGi: 20,
      persistentVolumeClaims: 1,
      virtualMachines: 1,
    });
    expect(createNeeds({ cpu: 2, memoryGi: 4, diskGi: 20, running: false })).toEqual({
      storageGi: 20,
      persistentVolumeClaims: 1,
      virtualMachines: 1,
    });
    expect(resizeNeeds({ cpu: 2, memoryGi: 4 }, { cpu: 1, memoryGi: 8 })).toEqual({ requestsMemoryGi: 4, limitsMemoryGi: 4 });
  });

  it('refuses with exactly the resources that do not fit, with needed and left', () => {
    expect(quotaLeft(quota, used)).toMatchObject({ requestsCpu: 1, virtualMachines: 3 });
    const err = (() => {
      try {
        refuseOverQuota({ requestsCpu: 2, storageGi: 1 }, quota, used, 'VM x');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(QuotaExceededError);
    expect((err as QuotaExceededError).details).toEqual({ needed: { requestsCpu: 2 }, left: { requestsCpu: 1 } });
    expect(() => refuseOverQuota({ requestsCpu: 1 }, quota, used, 'VM x')).not.toThrow();
    expect(() => refuseWithoutHeadroom({ cpu: 2, memoryGi: 1 }, quota, used)).toThrow(ConflictError);
    expect(() => refuseWithoutHeadroom({ cpu: 1, memoryGi: 1 }, quota, used)).not.toThrow();
  });
});

describe('cloud-init user-data', () => {
  it('is a plain #cloud-config with the host name and quoted keys when there is nothing extra', () => {
    const ud = buildUserData({ hostname: 'vm-1', sshPublicKeys: [sshKey('a "quoted" comment')] });
    expect(ud.startsWith('#cloud-config\n')).toBe(true);
    expect(ud).toContain('hostname: "vm-1"');
    expect(ud).toContain('\\"quoted\\"');
  });

  it("is a MIME multipart archive with the caller's part after ours, merged so lists append", () => {
    const ud = buildUserData({ hostname: 'vm-1', sshPublicKeys: [sshKey()], extra: '#cloud-config\npackages: [git]' });
    const boundary = /boundary="([^"]+)"/.exec(ud)?.[1];
    expect(boundary).toBeDefined();
    const parts = ud.split(`--${boundary}`);
    expect(parts).toHaveLength(4);
    expect(parts[1]).toContain('Content-Type: text/cloud-config');
    expect(parts[1]).toContain('ssh_authorized_keys:');
    expect(parts[2]).toContain('Merge-Type: list(append)');
    expect(parts[2]).toContain('packages: [git]');
    expect(parts[3]?.startsWith('--')).toBe(true);
    const script = buildUserData({ hostname: 'vm-1', sshPublicKeys: [sshKey()], extra: '#!/bin/sh\necho hi' });
    expect(script).toContain('Content-Type: text/x-shellscript');
  });
});
