import type { Logger } from 'pino';
import {
  createArcUserDataRenderer,
  createArmAccess,
  createArmArcMachines,
  createArmBudget,
  createControlPlaneCredential,
  createOnboardingCredentials,
  createOnboardingTokenCredential,
} from '../adapters/azure/index.js';
import type { AccessPort } from '../domain/identity/access.js';
import type { ArcMachinesPort } from '../domain/identity/arc-machines-port.js';
import type { ArcTarget, ArcUserDataRenderer, OnboardingCredentials } from '../domain/identity/onboarding.js';
import type { UpstreamMetrics } from '../domain/shared/upstream-metrics.js';
import type { ArcScopeSettings } from '../domain/vms/vm-access.js';
import type { Config } from './config.js';

/** The Azure ports VM identities use (Arc machines, role assignments, onboarding tokens). */
export interface AzurePorts {
  readonly settings: ArcScopeSettings & { readonly location: string; readonly tenantId: string };
  readonly arcMachines: ArcMachinesPort;
  readonly access: AccessPort;
  /** Undefined when no dedicated onboarding identity is configured. */
  readonly onboarding:
    | { readonly credentials: OnboardingCredentials; readonly renderer: ArcUserDataRenderer; readonly target: ArcTarget }
    | undefined;
}

type ArmSettings = Extract<Config['azure'], { mode: 'arm' }>;

/** Mints per-VM tokens from the dedicated onboarding identity, when one is configured. */
function armOnboarding(
  azure: ArmSettings,
  controlPlaneCredential: ReturnType<typeof createControlPlaneCredential>,
  target: ArcTarget,
  logger: Logger,
): AzurePorts['onboarding'] {
  const o = azure.onboarding;
  if (o === undefined) {
    logger.warn({}, 'no onboarding identity (AZURE_ONBOARDING_CLIENT_ID): VMs with Arc on cannot be onboarded');
    return undefined;
  }
  const credential = createOnboardingTokenCredential(
    o.clientSecret === undefined
      ? { kind: 'workload-identity', tenantId: azure.tenantId, clientId: o.clientId }
      : { kind: 'client-secret', tenantId: azure.tenantId, clientId: o.clientId, clientSecret: o.clientSecret },
  );
  return {
    credentials: createOnboardingCredentials({ credential, controlPlaneCredential }),
    renderer: createArcUserDataRenderer({ allowServicePrincipal: false }),
    target,
  };
}

/**
 * The real ARM adapters (Arc machines, role assignments, onboarding tokens). Imported only when
 * Azure is configured: the Azure SDKs take seconds to load and the embedded default never uses them.
 */
export function armAzurePorts(azure: ArmSettings, logger: Logger, metrics?: UpstreamMetrics): AzurePorts {
  const { subscriptionId, resourceGroup, location, tenantId, cluster } = azure;
  const settings = { subscriptionId, resourceGroup, location, tenantId };
  const credential = createControlPlaneCredential(azure.clientId === undefined ? { kind: 'default' } : { kind: 'default', clientId: azure.clientId });
  const budget = createArmBudget(metrics === undefined ? {} : { metrics });
  const azureLogger = logger.child({ component: 'azure' });
  return {
    settings,
    arcMachines: createArmArcMachines({ credential, settings, budget, logger: azureLogger }),
    access: createArmAccess({ credential, settings, budget, logger: azureLogger }),
    onboarding: armOnboarding(azure, credential, { ...settings, ...(cluster === undefined ? {} : { cluster }) }, azureLogger),
  };
}
