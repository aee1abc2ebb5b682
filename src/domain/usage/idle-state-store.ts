import type { IdleState } from './idle-detector.js';
import type { UsageVmRef } from './ports.js';

/** Why a VM's quota stops it (beside the auto-shutdown reasons of `./auto-shutdown.ts`). */
export type QuotaShutdownReason = 'UsageQuota:Exhausted';

/** The quota enforcement of one run of a lab student's VM. */
export interface QuotaWatch {
  /** ISO 8601: when `vm.quota-warning` was sent this run (absent: not warned, or the warning was lifted by added hours). */
  readonly warnedAt?: string;
  /** ISO 8601: when the stop is due (the quota runs out, and not before the warning period has passed). */
  readonly stopAt?: string;
  /** ISO 8601: when the stop was asked (`vm.stop`). */
  readonly stopRequestedAt?: string;
}

/**
 * What the idle detector keeps of one running VM between its passes: the run it belongs to, the
 * idle detector's state and the quota enforcement. A VM that starts again is a new run.
 */
export interface VmWatch {
  /** The VM's instance (the VMI's uid): it changes on every start, so a new run is watched afresh. */
  readonly runId: string;
  /**
   * ISO 8601: when this run started (the instance's start as the cluster reports it, never later than
   * the detector's first look at it), the start `shutdownWhenNotConnected` counts from.
   */
  readonly runStartedAt: string;
  /** The idle detector's state (`detectIdle`); absent when the VM has no auto-shutdown to watch. */
  readonly idle?: IdleState;
  /** The quota enforcement; absent when the VM has no quota. */
  readonly quota?: QuotaWatch;
  /** ISO 8601: when this was written. */
  readonly updatedAt: string;
}

/** A watch record is kept this long after its last write (a VM stopped or gone is forgotten by itself). */
export const VM_WATCH_TTL_MS = 24 * 3_600_000;

/**
 * Where the idle detector keeps its per-VM state between passes (Redis when REDIS_URL is set, so a
 * new leader carries on where the last one stopped; memory in the embedded default). Keyed by VM
 * (tenant and name); every record expires {@link VM_WATCH_TTL_MS} after its last write.
 */
export interface IdleStateStore {
  get(vm: UsageVmRef): Promise<VmWatch | undefined>;
  /** Many at once, one result per VM in the order given (one round trip on Redis). */
  getMany(vms: readonly UsageVmRef[]): Promise<readonly (VmWatch | undefined)[]>;
  /** Replaces the VM's record; it expires a day later. */
  put(vm: UsageVmRef, watch: VmWatch): Promise<void>;
  /** Forgets the VM's record (absent is fine). */
  forget(vm: UsageVmRef): Promise<void>;
}
