import type { V1Namespace, V1ResourceQuota, V1RoleBinding } from '@kubernetes/client-node';
import type { TenantRole } from '../../domain/auth/principal.js';
import {
  PROFILE_DEFAULTS,
  QUOTA_KEYS,
  TENANT_PROFILES,
  type Member,
  type Quota,
  type QuotaUsage,
  type Tenant,
  type TenantProfile,
  type VmCaps,
} from '../../domain/tenants/tenant.js';
import { costControlsIssues, mergeCostControls, type CostControls, type CostControlsInput } from '../../domain/usage/cost-controls.js';
import { countFromQuantity, cpuFromQuantity, giFromQuantity } from './quantity.js';
import {
  ANN_COST_CONTROLS,
  ANN_DESCRIPTION,
  ANN_DISPLAY_NAME,
  ANN_PRINCIPAL_ID,
  ANN_PRINCIPAL_TYPE,
  ANN_QUOTA,
  ANN_VM_CAPS,
  LABEL_MANAGED_BY,
  LABEL_MEMBER,
  LABEL_PROFILE,
  LABEL_PROVISIONED,
  LABEL_ROLE,
  MANAGED_BY,
  ROLE_NAMES,
  VM_COUNT_RESOURCE,
} from './tenant-objects.js';

/** A namespace labelled as ours (complete or not). */
export function isOurs(ns: V1Namespace | undefined): ns is V1Namespace {
  return ns?.metadata?.labels?.[LABEL_MANAGED_BY] === MANAGED_BY;
}

/** A tenant whose create finished: ours and `provisioned`. Half-created namespaces are not tenants yet. */
export function isTenant(ns: V1Namespace | undefined): ns is V1Namespace {
  return isOurs(ns) && ns.metadata?.labels?.[LABEL_PROVISIONED] === 'true';
}

export function isTerminating(ns: V1Namespace): boolean {
  return ns.metadata?.deletionTimestamp !== undefined || ns.status?.phase === 'Terminating';
}

function json(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function numbersOf<K extends string>(obj: Record<string, unknown> | undefined, keys: readonly K[]): Record<K, number> | undefined {
  if (obj === undefined) return undefined;
  const out = {} as Record<K, number>;
  for (const k of keys) {
    const v = obj[k];
    if (typeof v !== 'number' || !Number.isFinite(v)) return undefined;
    out[k] = v;
  }
  return out;
}

const RESOURCE_OF: Readonly<Record<keyof Quota, string>> = {
  requestsCpu: 'requests.cpu',
  requestsMemoryGi: 'requests.memory',
  limitsCpu: 'limits.cpu',
  limitsMemoryGi: 'limits.memory',
  storageGi: 'requests.storage',
  persistentVolumeClaims: 'persistentvolumeclaims',
  virtualMachines: VM_COUNT_RESOURCE,
};

function figure(key: keyof Quota, q: string): number {
  if (key === 'requestsCpu' || key === 'limitsCpu') return cpuFromQuantity(q);
  if (key === 'persistentVolumeClaims' || key === 'virtualMachines') return countFromQuantity(q);
  return giFromQuantity(q);
}

/** Reads a quota-shaped map of quantities (`spec.hard`, `status.used`); missing entries count 0. */
export function quotaFromQuantities(map: Readonly<Record<string, string>> | undefined): Quota {
  const out = {} as Record<keyof Quota, number>;
  for (const k of QUOTA_KEYS) {
    const q = map?.[RESOURCE_OF[k]];
    let v = 0;
    if (q !== undefined) {
      try {
        v = figure(k, q);
      } catch {
        v = 0;
      }
    }
    out[k] = v;
  }
  return out;
}

export function usageFromQuota(rq: V1ResourceQuota | undefined): QuotaUsage {
  return quotaFromQuantities(rq?.status?.used);
}

function timestamp(v: Date | string | undefined): string {
  if (v === undefined) return new Date(0).toISOString();
  const d = v instanceof Date ? v : new Date(v);
  return Number.isNaN(d.getTime()) ? new Date(0).toISOString() : d.toISOString();
}

/**
 * The cost controls an annotation holds, or why it holds none usable (not JSON, not complete valid
 * cost controls: written by hand, or by a version that knew other settings).
 */
export function costControlsOf(text: string | undefined): { readonly costControls?: CostControls; readonly malformed?: string } {
  if (text === undefined) return {};
  const parsed = json(text);
  if (parsed === undefined) return { malformed: 'not a JSON object' };
  const issues = costControlsIssues(parsed, '', { lab: false });
  if (parsed['autoShutdown'] === undefined) issues.push({ field: '/autoShutdown', message: 'is missing' });
  if (parsed['warningPeriod'] === undefined) issues.push({ field: '/warningPeriod', message: 'is missing' });
  if (issues.length > 0) return { malformed: issues.map((i) => `${i.field} ${i.message}`).join('; ') };
  return { costControls: mergeCostControls(parsed as CostControlsInput) };
}

/**
 * The tenant a namespace describes. The quota is the declared one (annotation), else what the
 * ResourceQuota enforces, else the profile's default; caps likewise. Malformed cost controls read as
 * none; `onMalformed` hears why.
 */
export function tenantFromNamespace(ns: V1Namespace, rq?: V1ResourceQuota, onMalformed?: (id: string, problem: string) => void): Tenant {
  const meta = ns.metadata ?? {};
  const id = meta.name ?? '';
  const labels = meta.labels ?? {};
  const ann = meta.annotations ?? {};
  const rawProfile = labels[LABEL_PROFILE];
  const profile: TenantProfile = TENANT_PROFILES.find((p) => p === rawProfile) ?? 'student';
  const defaults = PROFILE_DEFAULTS[profile];
  const quota: Quota =
    numbersOf(json(ann[ANN_QUOTA]), QUOTA_KEYS) ?? (rq?.spec?.hard === undefined ? defaults.quota : quotaFromQuantities(rq.spec.hard));
  const vmCaps: VmCaps = numbersOf(json(ann[ANN_VM_CAPS]), ['maxCpu', 'maxMemoryGi'] as const) ?? defaults.vmCaps;
  const description = ann[ANN_DESCRIPTION];
  const { costControls, malformed } = costControlsOf(ann[ANN_COST_CONTROLS]);
  if (malformed !== undefined) onMalformed?.(id, malformed);
  return {
    id,
    displayName: ann[ANN_DISPLAY_NAME] ?? id,
    ...(description === undefined ? {} : { description }),
    profile,
    quota,
    vmCaps,
    phase: isTerminating(ns) ? 'Terminating' : 'Active',
    createdAt: timestamp(meta.creationTimestamp as Date | string | undefined),
    version: meta.resourceVersion ?? '',
    ...(costControls === undefined ? {} : { costControls }),
  };
}

export function isMemberBinding(rb: V1RoleBinding): boolean {
  const labels = rb.metadata?.labels ?? {};
  return labels[LABEL_MANAGED_BY] === MANAGED_BY && labels[LABEL_MEMBER] === 'true';
}

export function roleOfBinding(rb: V1RoleBinding): TenantRole {
  const label = rb.metadata?.labels?.[LABEL_ROLE];
  if (label === 'owner' || label === 'member') return label;
  return rb.roleRef.name === ROLE_NAMES.owner ? 'owner' : 'member';
}

export function memberFromBinding(rb: V1RoleBinding): Member {
  const ann = rb.metadata?.annotations ?? {};
  const subject = rb.subjects?.[0];
  const type = ann[ANN_PRINCIPAL_TYPE] ?? subject?.kind;
  const displayName = ann[ANN_DISPLAY_NAME];
  return {
    principalId: ann[ANN_PRINCIPAL_ID] ?? subject?.name ?? '',
    principalType: type === 'Group' ? 'Group' : 'User',
    role: roleOfBinding(rb),
    ...(displayName === undefined ? {} : { displayName }),
  };
}

export function byPrincipal(a: Member, b: Member): number {
  return a.principalId < b.principalId ? -1 : a.principalId > b.principalId ? 1 : 0;
}
