/**
 * The API's view of a VM's state, derived from KubeVirt's `printableStatus`, the VM's conditions
 * and its VMI. Fewer states than KubeVirt: every failure is `Error` with KubeVirt's reason.
 */
export type VmState = 'Provisioning' | 'Stopped' | 'Starting' | 'Running' | 'Stopping' | 'Migrating' | 'Paused' | 'Error';

export type VmAction = 'start' | 'stop' | 'restart' | 'migrate';
export const VM_ACTIONS: readonly VmAction[] = ['start', 'stop', 'restart', 'migrate'];

export interface Condition {
  readonly type: string;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason?: string;
  readonly message?: string;
}

/** What the cluster says about a VM (and its VMI, when one exists). */
export interface VmObservation {
  readonly printableStatus?: string;
  readonly conditions: readonly Condition[];
  readonly vmi?: {
    readonly phase?: string;
    readonly conditions: readonly Condition[];
    /** True while a live migration of this VMI is in flight. */
    readonly migrating: boolean;
  };
}

export interface DerivedState {
  readonly state: VmState;
  /** KubeVirt's reason for Error (e.g. ErrorUnschedulable, DataVolumeError), or a progress hint. */
  readonly reason?: string;
  readonly message?: string;
  /** False when the VMI reports LiveMigratable=False. */
  readonly liveMigratable: boolean;
  readonly availableActions: readonly VmAction[];
}

const ERROR_STATUSES = new Set([
  'CrashLoopBackOff',
  'ErrorUnschedulable',
  'ErrImagePull',
  'ImagePullBackOff',
  'ErrorPvcNotFound',
  'DataVolumeError',
  'Unknown',
]);

const DIRECT: Readonly<Record<string, VmState>> = {
  Stopped: 'Stopped',
  Provisioning: 'Provisioning',
  WaitingForVolumeBinding: 'Provisioning',
  Starting: 'Starting',
  Running: 'Running',
  Paused: 'Paused',
  Stopping: 'Stopping',
  Terminating: 'Stopping',
  Migrating: 'Migrating',
};

/** Actions that make sense in each state; anything else is refused with 409, never a silent no-op. */
const ACTIONS: Readonly<Record<VmState, readonly VmAction[]>> = {
  Provisioning: ['stop'],
  Stopped: ['start'],
  Starting: ['stop'],
  Running: ['stop', 'restart', 'migrate'],
  Stopping: [],
  Migrating: [],
  Paused: ['stop', 'restart'],
  Error: ['start', 'stop', 'restart'],
};

function failing(conditions: readonly Condition[]): Condition | undefined {
  return conditions.find(
    (c) => (c.type === 'Failure' && c.status === 'True') || (c.type === 'DataVolumesReady' && c.status === 'False' && c.reason === 'DataVolumeError'),
  );
}

export function deriveVmState(o: VmObservation): DerivedState {
  const liveMigratable = !(o.vmi?.conditions.some((c) => c.type === 'LiveMigratable' && c.status === 'False') ?? false);
  const ps = o.printableStatus ?? 'Provisioning';
  let state: VmState;
  let reason: string | undefined;
  let message: string | undefined;
  if (ERROR_STATUSES.has(ps)) {
    state = 'Error';
    reason = ps;
    message = failing(o.conditions)?.message ?? o.conditions.find((c) => c.status === 'False' && c.message)?.message;
  } else if (o.vmi?.migrating === true) {
    state = 'Migrating';
  } else {
    state = DIRECT[ps] ?? 'Error';
    if (DIRECT[ps] === undefined) reason = ps;
  }
  if (state === 'Running' && o.vmi?.phase !== undefined && o.vmi.phase !== 'Running') state = 'Starting';
  const actions = ACTIONS[state].filter((a) => a !== 'migrate' || liveMigratable);
  return {
    state,
    ...(reason === undefined ? {} : { reason }),
    ...(message === undefined ? {} : { message }),
    liveMigratable,
    availableActions: actions,
  };
}

/** Why `action` is not possible now, or undefined when it is. */
export function refuseAction(d: DerivedState, action: VmAction): string | undefined {
  if (d.availableActions.includes(action)) return undefined;
  if (action === 'migrate' && !d.liveMigratable) {
    return 'The VM is not live-migratable (LiveMigratable=False: its disks are not ReadWriteMany or it uses host devices).';
  }
  return `The VM is ${d.state}${d.reason === undefined ? '' : ` (${d.reason})`}; it can ${d.availableActions.length === 0 ? 'take no action now' : d.availableActions.join(', ')}.`;
}
