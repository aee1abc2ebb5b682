import type { CostControls } from '../usage/cost-controls.js';
import type { TenantRole } from '../auth/principal.js';

/** Profiles set a tenant's default quota and per-VM caps. */
export type TenantProfile = 'faculty' | 'student' | 'admin';
export const TENANT_PROFILES: readonly TenantProfile[] = ['faculty', 'student', 'admin'];

/**
 * Aggregate limits of a tenant, enforced by its Kubernetes ResourceQuota.
 * CPU in cores (fractions allowed, millicore precision), memory and storage in GiB (integers).
 */
export interface Quota {
  readonly requestsCpu: number;
  readonly requestsMemoryGi: number;
  readonly limitsCpu: number;
  readonly limitsMemoryGi: number;
  readonly storageGi: number;
  readonly persistentVolumeClaims: number;
  readonly virtualMachines: number;
}

export const QUOTA_KEYS: readonly (keyof Quota)[] = [
  'requestsCpu',
  'requestsMemoryGi',
  'limitsCpu',
  'limitsMemoryGi',
  'storageGi',
  'persistentVolumeClaims',
  'virtualMachines',
];

/** Largest single VM a tenant may run (enforced by its LimitRange and by the VM use cases). */
export interface VmCaps {
  readonly maxCpu: number;
  readonly maxMemoryGi: number;
}

export interface ProfileDefaults {
  readonly quota: Quota;
  readonly vmCaps: VmCaps;
}

export const PROFILE_DEFAULTS: Readonly<Record<TenantProfile, ProfileDefaults>> = {
  student: {
    quota: {
      requestsCpu: 8,
      requestsMemoryGi: 16,
      limitsCpu: 16,
      limitsMemoryGi: 32,
      storageGi: 250,
      persistentVolumeClaims: 5,
      virtualMachines: 5,
    },
    vmCaps: { maxCpu: 2, maxMemoryGi: 4 },
  },
  faculty: {
    quota: {
      requestsCpu: 64,
      requestsMemoryGi: 128,
      limitsCpu: 128,
      limitsMemoryGi: 256,
      storageGi: 4000,
      persistentVolumeClaims: 80,
      virtualMachines: 60,
    },
    vmCaps: { maxCpu: 8, maxMemoryGi: 32 },
  },
  admin: {
    quota: {
      requestsCpu: 128,
      requestsMemoryGi: 512,
      limitsCpu: 256,
      limitsMemoryGi: 1024,
      storageGi: 10000,
      persistentVolumeClaims: 200,
      virtualMachines: 150,
    },
    vmCaps: { maxCpu: 16, maxMemoryGi: 64 },
  },
};

/** Ceiling no tenant's quota may exceed, whatever its profile (configurable per platform). */
export const DEFAULT_PLATFORM_MAXIMA: ProfileDefaults = {
  quota: {
    requestsCpu: 512,
    requestsMemoryGi: 2048,
    limitsCpu: 1024,
    limitsMemoryGi: 4096,
    storageGi: 50000,
    persistentVolumeClaims: 1000,
    virtualMachines: 600,
  },
  vmCaps: { maxCpu: 32, maxMemoryGi: 128 },
};

export type TenantPhase = 'Active' | 'Terminating';

/** A tenant as stored: a labelled namespace plus its quota, limits, network policies and role bindings. */
export interface Tenant {
  /** DNS label, also the namespace name. */
  readonly id: string;
  readonly displayName: string;
  readonly description?: string;
  readonly profile: TenantProfile;
  readonly quota: Quota;
  readonly vmCaps: VmCaps;
  readonly phase: TenantPhase;
  /** ISO 8601. */
  readonly createdAt: string;
  /** Opaque version (the namespace resourceVersion); changes on every write. */
  readonly version: string;
  /** Auto-shutdown of the tenant's VMs outside labs; absent: off. */
  readonly costControls?: CostControls;
}

/** Current consumption, in the units of `Quota`. */
export type QuotaUsage = Quota;

export type PrincipalType = 'User' | 'Group';

/** A principal's role in a tenant; stored as a RoleBinding in the tenant's namespace. */
export interface Member {
  readonly principalId: string;
  readonly principalType: PrincipalType;
  readonly role: TenantRole;
  readonly displayName?: string;
}

/** What is needed to (re)create a tenant; the repository writes exactly this. */
export interface TenantSpec {
  readonly id: string;
  readonly displayName: string;
  readonly description?: string;
  readonly profile: TenantProfile;
  readonly quota: Quota;
  readonly vmCaps: VmCaps;
  /** Members applied with the tenant (typically the creator as owner). */
  readonly members: readonly Member[];
  readonly costControls?: CostControls;
}

export interface TenantUpdate {
  readonly displayName?: string;
  readonly description?: string;
  readonly quota?: Quota;
  readonly vmCaps?: VmCaps;
  /** `null` removes them. */
  readonly costControls?: CostControls | null;
}
