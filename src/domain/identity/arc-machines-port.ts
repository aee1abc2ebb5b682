import type { ArcExtension, ArcMachine, ExtensionSpec, ExtensionState } from './arc-machine.js';

/** One look at a long-running extension installation. */
export interface ExtensionPoll {
  readonly status: ExtensionState;
  /** Why it failed (ARM's error code and message), only when `status` is `Failed`. Holds no secrets. */
  readonly error?: string;
  /**
   * State to pass to the next {@link ArcMachinesPort.pollExtension}; store it in job data (it holds
   * no secrets). Once `status` is terminal, polling with it again answers the same without a request.
   */
  readonly resumeState: string;
  /** When the upstream asked for a pause before the next poll (`Retry-After`), in seconds. */
  readonly retryAfterSeconds?: number;
}

/**
 * Azure Arc machines of one resource group, and their extensions.
 *
 * Invariants every implementation keeps (the contract suite checks them):
 * - reads answer `undefined` for what does not exist; they never throw NotFoundError;
 * - {@link listMachines} costs one list call per page of the resource group, so waiting on many
 *   machines costs one read per check, not one GET per VM;
 * - an extension install is one long-running operation: {@link beginInstallExtension} sends the PUT
 *   once and returns a resume state; {@link pollExtension} with that state follows the SAME operation,
 *   from any process and any adapter instance, and never sends a second PUT. A job that crashed after
 *   storing the resume state resumes polling; one that crashed before storing it sends the PUT again,
 *   which ARM treats as the same create-or-update (idempotent);
 * - {@link deleteMachine} of a machine that is already gone succeeds (idempotent);
 * - upstream outages and throttling surface as UpstreamUnavailableError (retry later, honour
 *   `retryAfterSeconds`), refusals as UpstreamRejectedError with the ARM error code in `details`.
 */
export interface ArcMachinesPort {
  getMachine(name: string): Promise<ArcMachine | undefined>;
  /** Every Arc machine of the resource group, sorted by name. */
  listMachines(): Promise<readonly ArcMachine[]>;
  /**
   * Starts installing (create-or-update) the extension on the machine and returns the resume state
   * of the long-running operation. NotFoundError `ARC_MACHINE_NOT_FOUND` when the machine does not exist.
   */
  beginInstallExtension(machineName: string, spec: ExtensionSpec): Promise<string>;
  /**
   * Looks once at the operation `resumeState` describes (at most one status read, plus one read of
   * the extension when it has just finished). ValidationError when the state is not one this
   * adapter issued for this machine and extension.
   */
  pollExtension(machineName: string, extensionName: string, resumeState: string): Promise<ExtensionPoll>;
  getExtension(machineName: string, extensionName: string): Promise<ArcExtension | undefined>;
  /** Deletes the Arc machine (its extensions and role assignments on its scope go with it). */
  deleteMachine(name: string): Promise<void>;
}
