import { ConflictError, QuotaExceededError } from '../shared/errors.js';
import { QUOTA_KEYS, type Quota, type QuotaUsage } from '../tenants/tenant.js';

/** Amounts, in the units of `Quota`, that a change adds to a tenant's usage. Absent keys add nothing. */
export type QuotaNeeds = Partial<Record<keyof Quota, number>>;

/**
 * What one running VM's pod asks for. The platform sets requests equal to limits (CPU in whole
 * cores, memory in GiB): a VM's memory must never be overcommitted, and equal figures make the
 * quota arithmetic predictable. KubeVirt's launcher overhead (a few hundred MiB) is not counted.
 */
export function computeNeeds(size: { readonly cpu: number; readonly memoryGi: number }): QuotaNeeds {
  return { requestsCpu: size.cpu, limitsCpu: size.cpu, requestsMemoryGi: size.memoryGi, limitsMemoryGi: size.memoryGi };
}

/** A new VM: one VM, one PVC (its root disk), its disk, and its pod when it starts at once. */
export function createNeeds(vm: { readonly cpu: number; readonly memoryGi: number; readonly diskGi: number; readonly running: boolean }): QuotaNeeds {
  return { ...(vm.running ? computeNeeds(vm) : {}), storageGi: vm.diskGi, persistentVolumeClaims: 1, virtualMachines: 1 };
}

/** The growth from one size to another (never negative). */
export function resizeNeeds(
  from: { readonly cpu: number; readonly memoryGi: number },
  to: { readonly cpu: number; readonly memoryGi: number },
): QuotaNeeds {
  const out: QuotaNeeds = {};
  const cpu = Math.max(0, to.cpu - from.cpu);
  const mem = Math.max(0, to.memoryGi - from.memoryGi);
  if (cpu > 0) Object.assign(out, { requestsCpu: cpu, limitsCpu: cpu });
  if (mem > 0) Object.assign(out, { requestsMemoryGi: mem, limitsMemoryGi: mem });
  return out;
}

const round = (v: number): number => Math.round(v * 1000) / 1000;

/** What is left of the quota (never negative; thousandths). */
export function quotaLeft(quota: Quota, usage: QuotaUsage): Quota {
  const out = {} as Record<keyof Quota, number>;
  for (const k of QUOTA_KEYS) out[k] = Math.max(0, round(quota[k] - usage[k]));
  return out;
}

/** The entries of `needed` that do not fit in `left`, with both figures. */
export function shortfalls(needed: QuotaNeeds, left: Quota): { needed: QuotaNeeds; left: QuotaNeeds } | undefined {
  const short = (Object.keys(needed) as (keyof Quota)[]).filter((k) => (needed[k] ?? 0) > left[k] + 1e-9);
  if (short.length === 0) return undefined;
  const pick = (src: QuotaNeeds | Quota) => Object.fromEntries(short.map((k) => [k, src[k] ?? 0])) as QuotaNeeds;
  return { needed: pick(needed), left: pick(left) };
}

/**
 * Throws QuotaExceededError `QUOTA_EXCEEDED` (409) with `details: { needed, left }` (only the
 * resources that do not fit) when `needed` does not fit in what the quota leaves.
 */
export function refuseOverQuota(needed: QuotaNeeds, quota: Quota, usage: QuotaUsage, what: string): void {
  const short = shortfalls(needed, quotaLeft(quota, usage));
  if (short === undefined) return;
  const names = Object.keys(short.needed).join(', ');
  throw new QuotaExceededError('QUOTA_EXCEEDED', `${what} does not fit in the tenant's quota (${names}).`, { details: short });
}

/**
 * A live migration runs a second (target) pod of the VM's size until the source stops: the quota
 * must have room for it. The platform refuses rather than raise the quota behind the tenant's
 * back: ConflictError `MIGRATION_NEEDS_HEADROOM` with `details: { needed, left }`.
 */
export function refuseWithoutHeadroom(vm: { readonly cpu: number; readonly memoryGi: number }, quota: Quota, usage: QuotaUsage): void {
  const short = shortfalls({ ...computeNeeds(vm) }, quotaLeft(quota, usage));
  if (short === undefined) return;
  throw new ConflictError(
    'MIGRATION_NEEDS_HEADROOM',
    `Live migration runs a second copy of the VM's pod while it moves, and the tenant's quota has no room for it (${Object.keys(short.needed).join(', ')}). Stop another VM, raise the quota, or restart this VM instead.`,
    { details: short },
  );
}
