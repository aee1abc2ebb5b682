import type { TenantProfile, VmCaps } from '../tenants/tenant.js';

/** A named VM size. CPU in cores, memory in GiB. */
export interface InstanceType {
  readonly name: string;
  readonly cpu: number;
  readonly memoryGi: number;
  readonly description: string;
  /** Profiles whose tenants may use it. */
  readonly profiles: readonly TenantProfile[];
}

export const DEFAULT_INSTANCE_TYPES: readonly InstanceType[] = [
  { name: 'small', cpu: 1, memoryGi: 2, description: '1 vCPU, 2 GiB', profiles: ['student', 'faculty', 'admin'] },
  { name: 'medium', cpu: 2, memoryGi: 4, description: '2 vCPU, 4 GiB', profiles: ['student', 'faculty', 'admin'] },
  { name: 'large', cpu: 4, memoryGi: 8, description: '4 vCPU, 8 GiB', profiles: ['faculty', 'admin'] },
  { name: 'xlarge', cpu: 8, memoryGi: 16, description: '8 vCPU, 16 GiB', profiles: ['faculty', 'admin'] },
];

/** True when a VM of this size fits the tenant's per-VM caps. */
export function fitsCaps(size: { cpu: number; memoryGi: number }, caps: VmCaps): boolean {
  return size.cpu <= caps.maxCpu && size.memoryGi <= caps.maxMemoryGi;
}
