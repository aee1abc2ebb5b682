import { createHash } from 'node:crypto';
import type { V1LimitRange, V1Namespace, V1NetworkPolicy, V1PolicyRule, V1ResourceQuota, V1Role, V1RoleBinding } from '@kubernetes/client-node';
import type { TenantRole } from '../../domain/auth/principal.js';
import type { Member, Quota, TenantProfile, VmCaps } from '../../domain/tenants/tenant.js';
import type { CostControls } from '../../domain/usage/cost-controls.js';
import { formatCpu, formatGi } from './quantity.js';

export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'labplane';
export const MANAGED_SELECTOR = `${LABEL_MANAGED_BY}=${MANAGED_BY}`;
export const LABEL_TENANT = 'labplane.io/tenant';
export const LABEL_PROFILE = 'labplane.io/profile';
export const LABEL_PROVISIONED = 'labplane.io/provisioned';
export const LABEL_MEMBER = 'labplane.io/member';
export const LABEL_ROLE = 'labplane.io/role';
export const ANN_DISPLAY_NAME = 'labplane.io/display-name';
export const ANN_DESCRIPTION = 'labplane.io/description';
export const ANN_VM_CAPS = 'labplane.io/vm-caps';
/**
 * The declared quota, JSON in the units of `Quota`. Kept on the namespace so that the namespace
 * resourceVersion (the tenant's version) moves on every change, quota included, and `expectedVersion`
 * guards quota edits too.
 */
export const ANN_QUOTA = 'labplane.io/quota';
/** The tenant's cost controls (`CostControls` as JSON); absent: none. */
export const ANN_COST_CONTROLS = 'labplane.io/cost-controls';
export const ANN_PRINCIPAL_ID = 'labplane.io/principal-id';
export const ANN_PRINCIPAL_TYPE = 'labplane.io/principal-type';

export const QUOTA_NAME = 'labplane-quota';
export const LIMIT_RANGE_NAME = 'labplane-limits';
export const INGRESS_POLICY_NAME = 'labplane-ingress';
export const EGRESS_POLICY_NAME = 'labplane-egress';
export const ROLE_NAMES: Readonly<Record<TenantRole, string>> = {
  member: 'labplane-tenant-member',
  owner: 'labplane-tenant-owner',
};
export const VM_COUNT_RESOURCE = 'count/virtualmachines.kubevirt.io';

/** What the namespace of a tenant declares. */
export interface NamespaceSpec {
  readonly id: string;
  readonly displayName: string;
  readonly description?: string;
  readonly profile: TenantProfile;
  readonly quota: Quota;
  readonly vmCaps: VmCaps;
  readonly costControls?: CostControls;
}

function tenantLabels(id: string): Record<string, string> {
  return { [LABEL_MANAGED_BY]: MANAGED_BY, [LABEL_TENANT]: id };
}

/**
 * The tenant namespace. `base` keeps labels and annotations others put there (and the
 * resourceVersion to replace); ours are overwritten. `provisioned` is set only once every child exists.
 */
export function namespaceObject(spec: NamespaceSpec, provisioned: boolean, base?: V1Namespace): V1Namespace {
  const labels: Record<string, string> = { ...base?.metadata?.labels, ...tenantLabels(spec.id), [LABEL_PROFILE]: spec.profile };
  if (provisioned) labels[LABEL_PROVISIONED] = 'true';
  else delete labels[LABEL_PROVISIONED];
  const annotations: Record<string, string> = {
    ...base?.metadata?.annotations,
    [ANN_DISPLAY_NAME]: spec.displayName,
    [ANN_VM_CAPS]: JSON.stringify({ maxCpu: spec.vmCaps.maxCpu, maxMemoryGi: spec.vmCaps.maxMemoryGi }),
    [ANN_QUOTA]: JSON.stringify(spec.quota),
  };
  if (spec.description !== undefined && spec.description !== '') annotations[ANN_DESCRIPTION] = spec.description;
  else delete annotations[ANN_DESCRIPTION];
  if (spec.costControls !== undefined) annotations[ANN_COST_CONTROLS] = JSON.stringify(spec.costControls);
  else delete annotations[ANN_COST_CONTROLS];
  const resourceVersion = base?.metadata?.resourceVersion;
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: spec.id, labels, annotations, ...(resourceVersion === undefined ? {} : { resourceVersion }) },
  };
}

export function quotaHard(quota: Quota): Record<string, string> {
  return {
    'requests.cpu': formatCpu(quota.requestsCpu),
    'requests.memory': formatGi(quota.requestsMemoryGi),
    'limits.cpu': formatCpu(quota.limitsCpu),
    'limits.memory': formatGi(quota.limitsMemoryGi),
    'requests.storage': formatGi(quota.storageGi),
    persistentvolumeclaims: String(quota.persistentVolumeClaims),
    [VM_COUNT_RESOURCE]: String(quota.virtualMachines),
  };
}

export function resourceQuotaObject(id: string, quota: Quota): V1ResourceQuota {
  return {
    apiVersion: 'v1',
    kind: 'ResourceQuota',
    metadata: { name: QUOTA_NAME, namespace: id, labels: tenantLabels(id) },
    spec: { hard: quotaHard(quota) },
  };
}

export function limitRangeObject(id: string, vmCaps: VmCaps, quota: Quota): V1LimitRange {
  const defaultCpu = Math.min(1, vmCaps.maxCpu);
  const defaultRequestCpu = Math.min(0.1, defaultCpu);
  return {
    apiVersion: 'v1',
    kind: 'LimitRange',
    metadata: { name: LIMIT_RANGE_NAME, namespace: id, labels: tenantLabels(id) },
    spec: {
      limits: [
        {
          type: 'Container',
          // virt-launcher asks for the guest memory plus its own overhead (~200-300Mi for QEMU,
          // page tables, the launcher itself), so the container cap leaves 1Gi above the VM cap.
          max: { cpu: formatCpu(vmCaps.maxCpu), memory: formatGi(vmCaps.maxMemoryGi + 1) },
          // Small defaults for containers that state nothing; both stay below the caps above.
          _default: { cpu: formatCpu(defaultCpu), memory: '1Gi' },
          defaultRequest: { cpu: formatCpu(defaultRequestCpu), memory: '256Mi' },
        },
        { type: 'PersistentVolumeClaim', max: { storage: formatGi(quota.storageGi) } },
      ],
    },
  };
}

export function ingressPolicyObject(id: string): V1NetworkPolicy {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: INGRESS_POLICY_NAME, namespace: id, labels: tenantLabels(id) },
    spec: { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ _from: [{ podSelector: {} }] }] },
  };
}

/** Link-local (IMDS 169.254.169.254), Azure's wire server, RFC 1918 and CGNAT. */
export const BLOCKED_IPV4 = ['169.254.0.0/16', '168.63.129.16/32', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10'];
/** Link-local and unique-local IPv6. */
export const BLOCKED_IPV6 = ['fe80::/10', 'fc00::/7'];

export function egressPolicyObject(id: string, extraBlocked: readonly string[]): V1NetworkPolicy {
  const v4 = [...new Set([...BLOCKED_IPV4, ...extraBlocked.filter((c) => !c.includes(':'))])];
  const v6 = [...new Set([...BLOCKED_IPV6, ...extraBlocked.filter((c) => c.includes(':'))])];
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: EGRESS_POLICY_NAME, namespace: id, labels: tenantLabels(id) },
    spec: {
      podSelector: {},
      policyTypes: ['Egress'],
      egress: [
        { to: [{ podSelector: {} }] },
        {
          to: [
            {
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
              podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
            },
          ],
          ports: [
            { protocol: 'UDP', port: 53 },
            { protocol: 'TCP', port: 53 },
          ],
        },
        { to: [{ ipBlock: { cidr: '0.0.0.0/0', except: v4 } }, { ipBlock: { cidr: '::/0', except: v6 } }] },
      ],
    },
  };
}

const READ = ['get', 'list', 'watch'];
const MEMBER_RULES: V1PolicyRule[] = [
  { apiGroups: ['kubevirt.io'], resources: ['virtualmachines', 'virtualmachineinstances'], verbs: READ },
  {
    apiGroups: ['subresources.kubevirt.io'],
    resources: ['virtualmachines/start', 'virtualmachines/stop', 'virtualmachines/restart'],
    verbs: ['update'],
  },
  {
    apiGroups: ['subresources.kubevirt.io'],
    resources: ['virtualmachineinstances/console', 'virtualmachineinstances/vnc'],
    verbs: ['get'],
  },
];
const OWNER_EXTRA_RULES: V1PolicyRule[] = [
  { apiGroups: ['subresources.kubevirt.io'], resources: ['virtualmachines/migrate'], verbs: ['update'] },
  { apiGroups: ['kubevirt.io'], resources: ['virtualmachineinstancemigrations'], verbs: READ },
  { apiGroups: ['cdi.kubevirt.io'], resources: ['datavolumes'], verbs: READ },
];

/** Least privilege: no tenant role reads Secrets or writes VM specs directly. */
export function roleObject(id: string, role: TenantRole): V1Role {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: ROLE_NAMES[role], namespace: id, labels: tenantLabels(id) },
    rules: role === 'owner' ? [...MEMBER_RULES, ...OWNER_EXTRA_RULES] : MEMBER_RULES,
  };
}

/** Stable per principal, so a retried put finds the same binding: `labplane-member-<20 hex>`. */
export function memberBindingName(principalId: string): string {
  return `labplane-member-${createHash('sha256').update(principalId, 'utf8').digest('hex').slice(0, 20)}`;
}

export function roleBindingObject(id: string, member: Member): V1RoleBinding {
  const annotations: Record<string, string> = {
    [ANN_PRINCIPAL_ID]: member.principalId,
    [ANN_PRINCIPAL_TYPE]: member.principalType,
  };
  if (member.displayName !== undefined) annotations[ANN_DISPLAY_NAME] = member.displayName;
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: {
      name: memberBindingName(member.principalId),
      namespace: id,
      labels: { ...tenantLabels(id), [LABEL_MEMBER]: 'true', [LABEL_ROLE]: member.role },
      annotations,
    },
    subjects: [{ kind: member.principalType, apiGroup: 'rbac.authorization.k8s.io', name: member.principalId }],
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: ROLE_NAMES[member.role] },
  };
}
