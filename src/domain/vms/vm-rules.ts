import { PRINCIPAL_ID } from '../tenants/tenant-rules.js';
import type { TenantProfile, VmCaps } from '../tenants/tenant.js';
import { jsonPointer, ValidationError, type FieldIssue } from '../shared/errors.js';
import { DNS_LABEL } from '../shared/ids.js';
import { fitsCaps, type InstanceType } from './instance-types.js';

/** Arc machine names are limited to 54 characters, and a VM's name becomes its Arc machine's name. */
export const MAX_VM_NAME_LENGTH = 54;
export const MAX_DISK_GI = 2048;
export const MAX_SSH_KEYS = 20;
export const MAX_SSH_KEY_LENGTH = 8192;
/** Extra cloud-init user-data (it goes into a Secret next to ours; KubeVirt's inline limit is 2048 bytes). */
export const MAX_CLOUD_INIT_BYTES = 32 * 1024;
export const MAX_LABELS = 20;

const SSH_KEY_TYPES = new Set([
  'ssh-ed25519',
  'ssh-rsa',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
]);
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
/** Label key prefixes (and their subdomains) that belong to the platform, KubeVirt or Kubernetes. */
const RESERVED_LABEL_DOMAINS = ['labplane.io', 'kubevirt.io', 'kubernetes.io', 'k8s.io'];

export function vmNameIssues(name: string, field = '/name'): FieldIssue[] {
  if (name.length === 0 || name.length > MAX_VM_NAME_LENGTH || !DNS_LABEL.test(name)) {
    return [
      {
        field,
        message: `must be a DNS label (lower-case letters, digits and '-', starting and ending alphanumeric) of 1-${MAX_VM_NAME_LENGTH} characters`,
      },
    ];
  }
  return [];
}

/**
 * An OpenSSH public key line: `<type> <base64 blob> [comment]`, where the blob decodes to a key of
 * the same type (its first field). Private keys, certificates and options are refused.
 */
export function sshKeyProblem(key: string): string | undefined {
  if (key.length > MAX_SSH_KEY_LENGTH) return `must be at most ${MAX_SSH_KEY_LENGTH} characters`;
  if (/[\r\n\0]/.test(key)) return 'must be one line';
  const [type, blob] = key.trim().split(/\s+/, 3);
  if (type === undefined || !SSH_KEY_TYPES.has(type)) return `must start with a key type (${[...SSH_KEY_TYPES].join(', ')})`;
  if (blob === undefined || blob.length % 4 !== 0 || !BASE64.test(blob)) return 'must carry the key as base64 after its type';
  const raw = Buffer.from(blob, 'base64');
  const len = raw.length >= 4 ? raw.readUInt32BE(0) : -1;
  if (len < 1 || raw.length < 4 + len || raw.subarray(4, 4 + len).toString('latin1') !== type) {
    return 'the key data does not match its type';
  }
  return undefined;
}

/** Keys are required unless the VM has another way in (`required: false`: Azure AD login through Arc). */
export function sshKeyIssues(keys: readonly string[], options: { readonly required?: boolean } = {}): FieldIssue[] {
  if (keys.length === 0 && options.required !== false)
    return [{ field: '/sshPublicKeys', message: 'at least one public key is required (or turn Arc on: Azure AD sign-in)' }];
  if (keys.length > MAX_SSH_KEYS) return [{ field: '/sshPublicKeys', message: `at most ${MAX_SSH_KEYS} keys` }];
  return keys.flatMap((k, i) => {
    const problem = sshKeyProblem(k);
    return problem === undefined ? [] : [{ field: `/sshPublicKeys/${i}`, message: problem }];
  });
}

/** Extra user-data: a `#cloud-config` document or a `#!` script, size-capped, text only. */
export function cloudInitIssues(userData: string | undefined): FieldIssue[] {
  if (userData === undefined) return [];
  if (Buffer.byteLength(userData, 'utf8') > MAX_CLOUD_INIT_BYTES) {
    return [{ field: '/cloudInit', message: `must be at most ${MAX_CLOUD_INIT_BYTES} bytes` }];
  }
  if (userData.includes('\0')) return [{ field: '/cloudInit', message: 'must be text' }];
  if (!/^(#cloud-config|#!)/.test(userData)) return [{ field: '/cloudInit', message: "must start with '#cloud-config' or '#!' (a script)" }];
  return [];
}

export function labelIssues(labels: Readonly<Record<string, string>>): FieldIssue[] {
  const entries = Object.entries(labels);
  if (entries.length > MAX_LABELS) return [{ field: '/labels', message: `at most ${MAX_LABELS} labels` }];
  const issues: FieldIssue[] = [];
  for (const [key, value] of entries) {
    const slash = key.lastIndexOf('/');
    const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
    const name = slash >= 0 ? key.slice(slash + 1) : key;
    const reserved = prefix !== undefined && RESERVED_LABEL_DOMAINS.some((d) => prefix === d || prefix.endsWith(`.${d}`));
    if (reserved) issues.push({ field: jsonPointer('labels', key), message: 'is reserved for the platform' });
    else if (
      name.length > 63 ||
      !LABEL_NAME.test(name) ||
      (prefix !== undefined && (prefix.length > 253 || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(prefix)))
    ) {
      issues.push({ field: jsonPointer('labels', key), message: 'must be a Kubernetes label key' });
    } else if (value.length > 63 || !LABEL_VALUE.test(value)) {
      issues.push({ field: jsonPointer('labels', key), message: 'must be a Kubernetes label value (at most 63 characters)' });
    }
  }
  return issues;
}

export function ownerIssues(owner: string): FieldIssue[] {
  return PRINCIPAL_ID.test(owner) ? [] : [{ field: '/owner', message: 'must be an Azure AD object id or subject' }];
}

export function labIssues(lab: string | undefined): FieldIssue[] {
  if (lab === undefined) return [];
  return lab.length <= 63 && DNS_LABEL.test(lab) ? [] : [{ field: '/lab', message: 'must be a DNS label of at most 63 characters' }];
}

export function diskIssues(diskGi: number, imageSizeGi?: number): FieldIssue[] {
  if (!Number.isInteger(diskGi) || diskGi < 1 || diskGi > MAX_DISK_GI) {
    return [{ field: '/diskGi', message: `must be a whole number of GiB, 1-${MAX_DISK_GI}` }];
  }
  if (imageSizeGi !== undefined && diskGi < imageSizeGi) {
    return [{ field: '/diskGi', message: `must be at least the image's size (${imageSizeGi} GiB)` }];
  }
  return [];
}

export interface SizeRequest {
  readonly instanceType?: string | undefined;
  readonly cpu?: number | undefined;
  readonly memoryGi?: number | undefined;
}

export interface ResolvedSize {
  readonly instanceType?: string;
  readonly cpu: number;
  readonly memoryGi: number;
}

/**
 * The size a VM gets: an instance type the tenant's profile may use, or explicit whole CPU cores
 * and GiB; either way within the tenant's per-VM caps. Throws ValidationError naming the fields.
 */
export function resolveSize(req: SizeRequest, profile: TenantProfile, caps: VmCaps, catalog: readonly InstanceType[]): ResolvedSize {
  const explicit = req.cpu !== undefined || req.memoryGi !== undefined;
  let size: ResolvedSize;
  if (req.instanceType !== undefined) {
    if (explicit)
      throw new ValidationError('Give an instance type or cpu and memoryGi, not both.', [
        { field: '/instanceType', message: 'conflicts with cpu/memoryGi' },
      ]);
    const type = catalog.find((t) => t.name === req.instanceType);
    if (type === undefined) {
      throw new ValidationError('Unknown instance type.', [
        { field: '/instanceType', message: `must be one of ${catalog.map((t) => t.name).join(', ')}` },
      ]);
    }
    if (!type.profiles.includes(profile)) {
      throw new ValidationError(`Instance type '${type.name}' is not available to ${profile} tenants.`, [
        { field: '/instanceType', message: `not available to the ${profile} profile` },
      ]);
    }
    size = { instanceType: type.name, cpu: type.cpu, memoryGi: type.memoryGi };
  } else {
    const issues: FieldIssue[] = [];
    if (req.cpu === undefined || !Number.isInteger(req.cpu) || req.cpu < 1)
      issues.push({ field: '/cpu', message: 'must be a whole number of cores, at least 1 (or give instanceType)' });
    if (req.memoryGi === undefined || !Number.isInteger(req.memoryGi) || req.memoryGi < 1)
      issues.push({ field: '/memoryGi', message: 'must be a whole number of GiB, at least 1 (or give instanceType)' });
    if (issues.length > 0) throw new ValidationError('The VM size is not acceptable.', issues);
    size = { cpu: req.cpu as number, memoryGi: req.memoryGi as number };
  }
  if (!fitsCaps(size, caps)) {
    const issues: FieldIssue[] = [];
    const field = (f: string) => (size.instanceType === undefined ? f : '/instanceType');
    if (size.cpu > caps.maxCpu) issues.push({ field: field('/cpu'), message: `at most ${caps.maxCpu} CPU per VM in this tenant` });
    if (size.memoryGi > caps.maxMemoryGi)
      issues.push({ field: field('/memoryGi'), message: `at most ${caps.maxMemoryGi} GiB per VM in this tenant` });
    throw new ValidationError("The VM is larger than the tenant's per-VM caps allow.", issues);
  }
  return size;
}

/** Throws one ValidationError listing every issue, when there are any. */
export function refuseIssues(message: string, issues: readonly FieldIssue[]): void {
  if (issues.length > 0) throw new ValidationError(message, issues);
}
