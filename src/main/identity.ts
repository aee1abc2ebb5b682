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
import type { Controller } from '../adapters/sim/kube-emulator/index.js';
import { createSimAzure, type SimAzure, type SimAzureOptions } from '../adapters/sim/azure/index.js';
import { vmAccessModule } from '../api/modules/index.js';
import type { ApiModule } from '../api/module.js';
import type { AccessPort } from '../domain/identity/access.js';
import { ARC_TAG_TENANT, ARC_TAG_VM_ID } from '../domain/identity/arc-machine.js';
import type { ArcMachinesPort } from '../domain/identity/arc-machines-port.js';
import type { ArcTarget, ArcUserDataRenderer, OnboardingCredentials } from '../domain/identity/onboarding.js';
import type { TenantRepository } from '../domain/tenants/tenant-repository.js';
import { createVmAccessService, type ArcScopeSettings, type VmAccessService } from '../domain/vms/vm-access.js';
import type { VmRepository } from '../domain/vms/vm-repository.js';
import type { Config } from './config.js';

/** Azure identity for VMs: the Arc and access ports (simulated or ARM), the access use cases and their API module. */
export interface Identity {
  readonly settings: ArcScopeSettings & { readonly location: string; readonly tenantId: string };
  readonly arcMachines: ArcMachinesPort;
  readonly access: AccessPort;
  /** The simulated Azure of the embedded default; undefined against ARM. */
  readonly sim: SimAzure | undefined;
  readonly service: VmAccessService;
  readonly module: ApiModule;
}

export interface IdentityDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly vmRepo: Pick<VmRepository, 'get'>;
  readonly tenantRepo: Pick<TenantRepository, 'get'>;
}

/** The Azure ports without the use cases: built before the cluster, whose emulator needs the simulated Azure. */
export interface IdentityPorts {
  readonly settings: Identity['settings'];
  readonly arcMachines: ArcMachinesPort;
  readonly access: AccessPort;
  /** Undefined when no dedicated onboarding identity is configured. */
  readonly onboarding: { readonly credentials: OnboardingCredentials; readonly renderer: ArcUserDataRenderer; readonly target: ArcTarget } | undefined;
  readonly sim: SimAzure | undefined;
}

/** Mints per-VM tokens from the dedicated onboarding identity, when one is configured. */
function armOnboarding(
  azure: Extract<Config['azure'], { mode: 'arm' }>,
  controlPlaneCredential: ReturnType<typeof createControlPlaneCredential>,
  target: ArcTarget,
  logger: Logger,
): IdentityPorts['onboarding'] {
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
  return { credentials: createOnboardingCredentials({ credential, controlPlaneCredential }), renderer: createArcUserDataRenderer({ allowServicePrincipal: false }), target };
}

/** The simulated Azure in the embedded default; the real ARM adapters when `config.azure.mode` is `arm`. */
export function buildIdentityPorts(config: Config, logger: Logger, simOptions: SimAzureOptions = {}): IdentityPorts {
  if (config.azure.mode === 'arm') {
    const { subscriptionId, resourceGroup, location, tenantId, cluster } = config.azure;
    const settings = { subscriptionId, resourceGroup, location, tenantId };
    const credential = createControlPlaneCredential(config.azure.clientId === undefined ? { kind: 'default' } : { kind: 'default', clientId: config.azure.clientId });
    const budget = createArmBudget();
    const azureLogger = logger.child({ component: 'azure' });
    return {
      settings,
      arcMachines: createArmArcMachines({ credential, settings, budget, logger: azureLogger }),
      access: createArmAccess({ credential, settings, budget, logger: azureLogger }),
      onboarding: armOnboarding(config.azure, credential, { ...settings, ...(cluster === undefined ? {} : { cluster }) }, azureLogger),
      sim: undefined,
    };
  }
  const sim = createSimAzure(simOptions);
  logger.info({ subscriptionId: sim.settings.subscriptionId, resourceGroup: sim.settings.resourceGroup }, 'simulated Azure in use');
  return {
    settings: sim.settings,
    arcMachines: sim.arcMachines(),
    access: sim.access(),
    onboarding: { credentials: sim.onboardingCredentials(), renderer: createArcUserDataRenderer(), target: { ...sim.settings, cluster: SIMULATED_CLUSTER } },
    sim,
  };
}

/** The access use cases and their API module over the ports. */
export function buildIdentity(deps: IdentityDeps & { readonly ports?: IdentityPorts }): Identity {
  const ports = deps.ports ?? buildIdentityPorts(deps.config, deps.logger);
  const service = createVmAccessService({ repo: deps.vmRepo, tenants: deps.tenantRepo, access: ports.access, settings: ports.settings });
  return { settings: ports.settings, arcMachines: ports.arcMachines, access: ports.access, sim: ports.sim, service, module: vmAccessModule(service) };
}

const SIM_TOKEN = /sim-onboarding\.[A-Za-z0-9_-]+/;
/** The embedded default's installation name on its simulated Arc machines. */
const SIMULATED_CLUSTER = 'embedded';
/** The `--tags` value the rendered onboarding passes to azcmagent (`readonly TAGS=...`). */
const SIM_TAGS = /readonly TAGS='?([^'\s]+)'?/;

/** The tags `azcmagent connect --tags` would put on the machine, read from the VM's user-data. */
function onboardingTags(userData: string): Record<string, string> {
  const raw = SIM_TAGS.exec(userData)?.[1] ?? '';
  return Object.fromEntries(raw.split(',').filter((kv) => kv.includes('=')).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
}

/**
 * Plays the VM's part in the emulator: when the VMI of a VM with Arc on runs, reads the onboarding
 * token from its cloud-init Secret (as the agent would) and onboards it to the simulated Azure (an
 * agent that runs again reconnects its machine). When the VMI goes, the agent stops sending
 * heartbeats and its machine shows Disconnected (Azure takes about 15 minutes to notice; here it is
 * at once).
 */
export function simOnboardingController(sim: SimAzure): Controller {
  const unsubscribers: Array<() => void> = [];
  const seen = new Set<string>();
  /** VMs (namespace/name) whose agent this controller started; those it stopped, to start again. */
  const running = new Set<string>();
  const stopped = new Set<string>();
  return {
    start(emulator) {
      // The cloud-init Secret may come after the VMI runs (it is created once the VM exists): a real
      // launcher waits for it, so this looks again when either appears.
      const tryOnboard = (namespace: string, name: string): void => {
        const vmi = emulator.store.get('virtualmachineinstances.kubevirt.io', namespace, name);
        const key = vmi?.metadata.uid ?? `${namespace}/${name}`;
        if ((vmi?.status as { phase?: string } | undefined)?.phase !== 'Running' || seen.has(key)) return;
        const vm = emulator.store.get('virtualmachines.kubevirt.io', namespace, name);
        const labels = vm?.metadata.labels ?? {};
        if (labels['labplane.io/arc'] !== 'true') return;
        const secret = emulator.store.get('secrets', namespace, `${name}-cloudinit`) as { data?: Record<string, string> } | undefined;
        if (secret === undefined) return;
        seen.add(key);
        const userData = Buffer.from(secret.data?.['userdata'] ?? '', 'base64').toString('utf8');
        const token = SIM_TOKEN.exec(userData)?.[0];
        const tags = { [ARC_TAG_TENANT]: namespace, [ARC_TAG_VM_ID]: labels['labplane.io/vm-id'] ?? '', ...onboardingTags(userData) };
        sim.simulateOnboarding(name, tags, token === undefined ? {} : { accessToken: token });
        const vmKey = `${namespace}/${name}`;
        running.add(vmKey);
        if (stopped.delete(vmKey)) sim.reconnect(name);
      };
      unsubscribers.push(
        emulator.store.subscribe('virtualmachineinstances.kubevirt.io', (ev) => {
          const { namespace, name } = ev.object.metadata;
          if (namespace === undefined || name === undefined) return;
          if (ev.type !== 'DELETED') tryOnboard(namespace, name);
          else if (running.delete(`${namespace}/${name}`)) {
            stopped.add(`${namespace}/${name}`);
            sim.disconnect(name);
          }
        }),
        emulator.store.subscribe('secrets', (ev) => {
          const { namespace, name } = ev.object.metadata;
          if (ev.type === 'ADDED' && namespace !== undefined && name?.endsWith('-cloudinit') === true) tryOnboard(namespace, name.slice(0, -'-cloudinit'.length));
        }),
      );
    },
    stop() {
      for (const u of unsubscribers.splice(0)) u();
    },
  };
}
