import { ValidationError, type FieldIssue } from '../shared/errors.js';
import { DNS_LABEL } from '../shared/ids.js';
import { QUOTA_KEYS, type ProfileDefaults, type Quota, type QuotaUsage, type VmCaps } from './tenant.js';

/** Tenant ids are namespace names; these can never be tenants. */
const RESERVED_EXACT = new Set([
  'default',
  'labplane',
  'labplane-system',
  'kubevirt',
  'cdi',
  'gatekeeper-system',
  'calico-system',
  'tigera-operator',
  'cert-manager',
  'azure-arc',
  'azure-workload-identity-system',
]);
const RESERVED_PREFIXES = ['kube-', 'labplane-', 'openshift-', 'azure-'];

export const MAX_TENANT_ID_LENGTH = 40;

export function tenantIdIssues(id: string): FieldIssue[] {
  if (id.length === 0 || id.length > MAX_TENANT_ID_LENGTH || !DNS_LABEL.test(id)) {
    return [
      {
        field: '/id',
        message: `must be a DNS label (lower-case letters, digits and '-', starting and ending alphanumeric) of 1-${MAX_TENANT_ID_LENGTH} characters`,
      },
    ];
  }
  if (RESERVED_EXACT.has(id) || RESERVED_PREFIXES.some((p) => id.startsWith(p))) {
    return [{ field: '/id', message: `'${id}' is reserved for the platform` }];
  }
  return [];
}

/** Millicore precision for CPU; whole GiB and counts for the rest. */
function isWellFormed(key: keyof Quota | keyof VmCaps, value: number): boolean {
  if (!Number.isFinite(value) || value < 0) return false;
  if (key === 'requestsCpu' || key === 'limitsCpu' || key === 'maxCpu') return Math.round(value * 1000) === value * 1000;
  return Number.isInteger(value);
}

/** Fills gaps from the profile defaults and checks shape and platform maxima. */
export function resolveLimits(
  defaults: ProfileDefaults,
  maxima: ProfileDefaults,
  quota: Partial<Quota> | undefined,
  vmCaps: Partial<VmCaps> | undefined,
  base: ProfileDefaults = defaults,
): ProfileDefaults {
  const q: Quota = { ...base.quota, ...quota };
  const c: VmCaps = { ...base.vmCaps, ...vmCaps };
  const issues: FieldIssue[] = [];
  for (const k of QUOTA_KEYS) {
    if (!isWellFormed(k, q[k])) issues.push({ field: `/quota/${k}`, message: 'must be a non-negative number (CPU to 0.001, others whole)' });
    else if (q[k] > maxima.quota[k]) issues.push({ field: `/quota/${k}`, message: `must be at most ${maxima.quota[k]} (platform maximum)` });
  }
  for (const k of ['maxCpu', 'maxMemoryGi'] as const) {
    if (!isWellFormed(k, c[k]) || c[k] <= 0) issues.push({ field: `/vmCaps/${k}`, message: 'must be a positive number' });
    else if (c[k] > maxima.vmCaps[k]) issues.push({ field: `/vmCaps/${k}`, message: `must be at most ${maxima.vmCaps[k]} (platform maximum)` });
  }
  if (q.limitsCpu < q.requestsCpu) issues.push({ field: '/quota/limitsCpu', message: 'must be at least requestsCpu' });
  if (q.limitsMemoryGi < q.requestsMemoryGi) {
    issues.push({ field: '/quota/limitsMemoryGi', message: 'must be at least requestsMemoryGi' });
  }
  if (issues.length > 0) throw new ValidationError('The quota or VM caps are not acceptable.', issues);
  return { quota: q, vmCaps: c };
}

/** Quota entries that would fall below what is already used, with both figures. */
export function quotaShortfalls(quota: Quota, used: QuotaUsage): Array<{ resource: keyof Quota; requested: number; used: number }> {
  return QUOTA_KEYS.filter((k) => quota[k] < used[k]).map((k) => ({ resource: k, requested: quota[k], used: used[k] }));
}

/** Principal ids: Azure AD object ids (GUIDs) or other opaque subject strings without spaces. */
export const PRINCIPAL_ID = /^[A-Za-z0-9][A-Za-z0-9._@:-]{0,127}$/;
