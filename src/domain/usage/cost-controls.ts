import { DEFAULT_AUTO_SHUTDOWN_PROFILE, DEFAULT_WARNING_PERIOD, type AutoShutdownProfile } from './auto-shutdown.js';

/**
 * The cost controls of the VMs of a tenant outside labs (the tenant default), and of a lab's VMs
 * (with the lab's own additions in {@link LabCostControls}).
 */
export interface CostControls {
  /** When a running VM is stopped for lack of use (Azure Lab Services' three settings). */
  readonly autoShutdown: AutoShutdownProfile;
  /**
   * ISO 8601 duration between the warning (`vm.idle-warning` / `vm.quota-warning` webhook) and the
   * stop, 0 to 1 h (`PT0S` stops on the next look after the warning).
   */
  readonly warningPeriod: string;
}

/** A lab's cost controls: auto-shutdown, and a quota of hours per student. */
export interface LabCostControls extends CostControls {
  /** Auto-shutdown does not act during the lab's scheduled class hours (default true). */
  readonly exemptClassHours: boolean;
  /**
   * Hours each student's VM may run outside the lab's class hours (scheduled hours never count, as
   * in Azure Lab Services); absent: no quota.
   */
  readonly usageQuotaHours?: number;
  /** Student id → hours instructors added to that student's quota (whole quarters of an hour). */
  readonly addedHours: Readonly<Record<string, number>>;
}

/**
 * What a new lab gets when its creator says nothing: Azure Lab Services' defaults (all three
 * auto-shutdown settings on, see `DEFAULT_AUTO_SHUTDOWN_PROFILE`), a 5-minute warning, class hours
 * exempt, no quota. Labs stored before cost controls existed have none (`LabSpec.costControls`
 * absent): nothing they did not ask for is switched on under them.
 */
export const DEFAULT_LAB_COST_CONTROLS: LabCostControls = {
  autoShutdown: DEFAULT_AUTO_SHUTDOWN_PROFILE,
  warningPeriod: DEFAULT_WARNING_PERIOD,
  exemptClassHours: true,
  addedHours: {},
};
