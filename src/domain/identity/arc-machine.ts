import { createHash } from 'node:crypto';
import { ValidationError } from '../shared/errors.js';

/** What Azure Arc says about a machine's agent (`properties.status`); `Unknown` while it has none yet. */
export type ArcMachineStatus = 'Connected' | 'Disconnected' | 'Error' | 'Unknown';

/** An Azure Arc-enabled server (`Microsoft.HybridCompute/machines/{name}`), as the domain sees it. */
export interface ArcMachine {
  /** The Arc resource name (see {@link arcMachineName}). Case-insensitive in ARM. */
  readonly name: string;
  /**
   * Full ARM resource id, `/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.HybridCompute/machines/{name}`,
   * always built by {@link arcResourceId} from the settings (never ARM's casing), so it can serve as a
   * stable role assignment scope.
   */
  readonly resourceId: string;
  readonly status: ArcMachineStatus;
  /** ISO 8601 instant of the last status change, when ARM reports one. */
  readonly lastStatusChange?: string;
  /** Version of the Connected Machine agent, e.g. `1.48.02881.1941`. */
  readonly agentVersion?: string;
  /** Resource tags; onboarding sets `labplane-tenant` and `labplane-vm-id`. */
  readonly tags: Readonly<Record<string, string>>;
}

/** ARM's rule for Arc machine names. */
export const ARC_MACHINE_NAME = /^[a-zA-Z0-9-_.]{1,54}$/;

/** Tags the onboarding puts on every Arc machine, so a machine can be traced back to its VM. */
export const ARC_TAG_TENANT = 'labplane-tenant';
export const ARC_TAG_VM_ID = 'labplane-vm-id';
/**
 * The labplane installation that onboarded the machine (`ArcTarget.cluster`): only machines with
 * this installation's tag are ever removed by its janitor, so installations sharing a resource
 * group never touch each other's machines.
 */
export const ARC_TAG_CLUSTER = 'labplane-cluster';
/** What an installation name must be (a tag value that `azcmagent --tags` and shells take as is). */
export const ARC_CLUSTER_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * The Arc machine name of a VM: `{tenant}.{vm}`, unique in the resource group that every tenant's
 * machines share (VM names are only unique within a tenant: naming a machine by its VM alone let a
 * second tenant's VM take over the first one's machine, and with it the role assignments on it).
 * Tenant ids and VM names are DNS labels (no `.`), so the pair is read back unambiguously. When the
 * pair is longer than ARM's 54 characters, the VM name is cut and a hash of the pair added after
 * an `_` (which no DNS label holds, so the two forms never meet). Throws ValidationError for names
 * ARM would refuse.
 */
export function arcMachineName(tenant: string, vmName: string): string {
  if (!ARC_MACHINE_NAME.test(vmName) || !ARC_MACHINE_NAME.test(tenant)) {
    throw new ValidationError('The VM name cannot be used in an Azure Arc machine name.', [
      { field: '/name', message: 'Azure Arc machine names take letters, digits, "-", "_" and ".".' },
    ]);
  }
  const plain = `${tenant}.${vmName}`;
  if (plain.length <= 54) return plain;
  const hash = createHash('sha256').update(`${tenant}/${vmName}`).digest('hex').slice(0, 16);
  return `${vmName.slice(0, 54 - hash.length - 1)}_${hash}`;
}

/** Full ARM resource id of an Arc machine. */
export function arcResourceId(subscriptionId: string, resourceGroup: string, machineName: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.HybridCompute/machines/${machineName}`;
}

export interface SshCommandInput {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly machineName: string;
}

const SHELL_SAFE = /^[A-Za-z0-9@%+=:,./_-]+$/;

/** A POSIX shell word for `value`: unchanged when it holds only safe characters, single-quoted otherwise. */
export function shellWord(value: string): string {
  if (SHELL_SAFE.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * The exact command a user runs to log in over Azure AD SSH:
 * `az ssh arc --subscription <sub> --resource-group <rg> --name <machine>` (values shell-quoted when needed).
 */
export function sshCommand(input: SshCommandInput): string {
  return [
    'az ssh arc',
    `--subscription ${shellWord(input.subscriptionId)}`,
    `--resource-group ${shellWord(input.resourceGroup)}`,
    `--name ${shellWord(input.machineName)}`,
  ].join(' ');
}

/**
 * What to install on an Arc machine. Carries no protected settings on purpose: the install's
 * resume state and job data must never hold secrets.
 */
export interface ExtensionSpec {
  /** Extension resource name on the machine (unique per machine). */
  readonly name: string;
  readonly publisher: string;
  readonly type: string;
  /** Major.minor handler version; absent = the latest. */
  readonly typeHandlerVersion?: string;
  /** Default true. */
  readonly autoUpgradeMinorVersion?: boolean;
  /** Public settings (visible to anyone who can read the machine). */
  readonly settings?: Readonly<Record<string, unknown>>;
}

/** The Azure AD SSH login extension every onboarded VM gets. */
export const AAD_SSH_LOGIN_EXTENSION: ExtensionSpec = {
  name: 'AADSSHLoginForLinux',
  publisher: 'Microsoft.Azure.ActiveDirectory',
  type: 'AADSSHLoginForLinux',
  autoUpgradeMinorVersion: true,
};

/** Where an extension's installation stands, folded from ARM's `provisioningState`. */
export type ExtensionState = 'InProgress' | 'Succeeded' | 'Failed';

/** An extension resource on an Arc machine. */
export interface ArcExtension {
  readonly name: string;
  readonly publisher?: string;
  readonly type?: string;
  readonly typeHandlerVersion?: string;
  readonly state: ExtensionState;
  /** ARM's `provisioningState` verbatim (`Creating`, `Updating`, `Succeeded`, `Failed`, ...). */
  readonly provisioningState: string;
}

/** Folds an ARM `provisioningState` into {@link ExtensionState}. */
export function extensionStateOf(provisioningState: string | undefined): ExtensionState {
  switch ((provisioningState ?? '').toLowerCase()) {
    case 'succeeded':
      return 'Succeeded';
    case 'failed':
    case 'canceled':
    case 'cancelled':
      return 'Failed';
    default:
      return 'InProgress';
  }
}
