import type { PowerTransition, UsageReport } from './usage-meter.js';

/**
 * The usage signal of running VMs, as the idle detector reads it: how busy each VM was over a
 * recent window (CPU, network, disk) and when someone last opened a console to it. A reading is
 * `'unavailable'` when the source has no complete figures for the VM (metrics not scraped yet,
 * the VM just started, or the source does not know it); a VM is never judged idle on an
 * unavailable reading.
 */

/** A VM of a tenant (the tenant is the VM's namespace). */
export interface UsageVmRef {
  readonly tenant: string;
  readonly name: string;
}

/** Average use over the window asked for. */
export interface VmUsage {
  /** CPU cores used on average (guest vCPUs and hypervisor), e.g. 0.05 for 5 % of one core. */
  readonly cpuCores: number;
  /** Bytes per second received plus sent on all of the VM's interfaces. */
  readonly networkBytesPerSecond: number;
  /** Bytes per second read plus written on all of the VM's disks. */
  readonly diskBytesPerSecond: number;
  /**
   * When a console, VNC, port-forward, SSH-through-the-API or USB-redirection connection to the
   * VM last opened; absent when none is known.
   */
  readonly lastConsoleAt?: Date;
}

export type VmUsageReading = VmUsage | 'unavailable';

export interface VmUsageResult {
  readonly vm: UsageVmRef;
  readonly usage: VmUsageReading;
}

export interface UsageMetrics {
  /**
   * The usage of each VM over the last `windowSeconds` (at least 60), one result per VM in the
   * order given. Many VMs are read at once. Throws a retryable upstream error when the source
   * cannot be asked at all, and an upstream rejection when it refuses the platform's questions.
   */
  usage(vms: readonly UsageVmRef[], windowSeconds: number): Promise<readonly VmUsageResult[]>;
}

/**
 * The durable record of VMs' power transitions that usage is metered from (Redis when REDIS_URL is
 * set, memory in the embedded default). Keyed by VM (tenant and name): a lab student's VM keeps its
 * name, so the student's usage survives the VM being rebuilt. Writes are idempotent by transition id.
 */
export interface UsageLedger {
  /** Adds transitions; one whose id is already recorded for the VM is left as it was. */
  record(vm: UsageVmRef, transitions: readonly PowerTransition[]): Promise<void>;
  /** Every transition recorded for the VM (any order). */
  transitions(vm: UsageVmRef): Promise<readonly PowerTransition[]>;
  /**
   * The last instant the meter saw the VM's open run still running (ISO 8601), kept per run: where a
   * run whose end nobody saw (the meter was down) is closed.
   */
  checkpoint(vm: UsageVmRef, runId: string, at: string): Promise<void>;
  lastCheckpoint(vm: UsageVmRef, runId: string): Promise<string | undefined>;
  /** Forgets a VM's record (its lab or tenant is deleted). */
  forget(vm: UsageVmRef): Promise<void>;
}

/** A lab student's usage against their quota, as of now. */
export interface StudentUsage {
  readonly tenant: string;
  readonly lab: string;
  readonly student: string;
  readonly vm: string;
  readonly report: UsageReport;
}

/** Reads a lab student's usage from the ledger, the lab's quota and its class hours. */
export interface StudentUsageReader {
  /**
   * The usage of the student whose lab VM this is; undefined when the VM is not a lab student's VM
   * or its lab sets no quota.
   */
  usageOfVm(tenant: string, vmName: string): Promise<StudentUsage | undefined>;
}
