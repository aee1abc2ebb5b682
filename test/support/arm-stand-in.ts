import { mkdtempSync, writeFileSync } from 'node:fs';
import { onboardingMachineName } from '../../src/main/simulated.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createArcUserDataRenderer,
  createArmAccess,
  createArmArcMachines,
  createArmBudget,
  createOnboardingCredentials,
} from '../../src/adapters/azure/index.js';
import { ARC_TAG_TENANT, ARC_TAG_VM_ID } from '../../src/domain/identity/arc-machine.js';
import type { AzurePorts } from '../../src/main/azure-arm.js';
import { startArmServer, type ArmServer } from '../azure/support/arm-server.js';

/**
 * The subscription of the fault tests' ARM stand-in: the simulated Azure's defaults, so the API
 * process (whatever Azure it builds) and the worker name the same Arc resource ids.
 */
export const ARM_SETTINGS = {
  subscriptionId: '00000000-0000-4000-8000-00000000a2c1',
  resourceGroup: 'labplane-sim',
  location: 'westeurope',
  tenantId: '00000000-0000-4000-8000-00000000aad1',
} as const;

/** A credential handing out a fixed token: the local ARM server checks that one is sent, not who signed it. */
const fixedToken = (token: string) => ({ getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3_600_000 }) });

/**
 * The real ARM adapters against a local ARM server at `url` (HTTPS, its CA `ca` trusted by these
 * clients only), sending fixed bearer tokens (no Azure AD).
 */
export function armStandInPorts(
  url: string,
  ca: string,
  tokens: { readonly controlPlane: string; readonly onboarding: string } = {
    controlPlane: 'faults-control-plane-token',
    onboarding: 'faults-onboarding-token',
  },
): AzurePorts {
  const settings = { ...ARM_SETTINGS, endpoint: url, trustedCa: ca, retry: { maxRetries: 2, retryDelayInMs: 50, maxRetryDelayInMs: 500 } };
  const budget = createArmBudget();
  const credential = fixedToken(tokens.controlPlane);
  return {
    settings: ARM_SETTINGS,
    arcMachines: createArmArcMachines({ credential, settings, budget }),
    access: createArmAccess({ credential, settings, budget }),
    onboarding: {
      credentials: createOnboardingCredentials({ credential: fixedToken(tokens.onboarding) }),
      renderer: createArcUserDataRenderer(),
      target: ARM_SETTINGS,
    },
  };
}

/** A local ARM server (the over-the-wire tests' one) whose CA sits in a file for the service processes. */
export interface ArmStandIn {
  readonly server: ArmServer;
  readonly caFile: string;
  /** Environment of a service process that uses it (see test/support/service-main.ts). */
  readonly env: Record<string, string>;
  /** Starts playing the VMs' part (see {@link startArcAgents}) against the API server at `kubeUrl`. */
  playVms(kubeUrl: string): void;
  close(): Promise<void>;
}

export async function startArmStandIn(): Promise<ArmStandIn> {
  const server = await startArmServer(ARM_SETTINGS);
  const caFile = join(mkdtempSync(join(tmpdir(), 'lp-arm-')), 'ca.pem');
  writeFileSync(caFile, server.ca);
  let agents: { stop(): void } | undefined;
  return {
    server,
    caFile,
    env: { FAULTS_ARM_URL: server.url, FAULTS_ARM_CA_FILE: caFile },
    playVms(kubeUrl) {
      agents ??= startArcAgents(kubeUrl, server);
    },
    async close() {
      agents?.stop();
      await server.close();
    },
  };
}

interface Listed {
  items?: Array<{
    metadata: { name: string; namespace: string; uid: string; labels?: Record<string, string> };
    status?: { phase?: string };
    data?: Record<string, string>;
  }>;
}

const getJson = async (url: string): Promise<Listed | undefined> => {
  const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  return res.ok ? ((await res.json()) as Listed) : undefined;
};

/**
 * Plays the Arc agent of every VM with Arc on, as the embedded default's onboarding controller
 * does in process: once the VM's instance runs and its cloud-init Secret exists (the agent reads its
 * onboarding token from there), its machine appears `Connected` in ARM with the labplane tags.
 * Polls the API server (another process) every 250 ms; a frozen API server only delays it.
 */
export function startArcAgents(kubeUrl: string, arm: ArmServer): { stop(): void } {
  let stopped = false;
  const onboarded = new Set<string>();
  const pass = async (): Promise<void> => {
    const vms = await getJson(`${kubeUrl}/apis/kubevirt.io/v1/virtualmachines?labelSelector=${encodeURIComponent('labplane.io/arc=true')}`);
    const vmis = await getJson(`${kubeUrl}/apis/kubevirt.io/v1/virtualmachineinstances`);
    const secrets = await getJson(`${kubeUrl}/api/v1/secrets`);
    if (vms?.items === undefined || vmis?.items === undefined || secrets?.items === undefined) return;
    const running = new Set(vmis.items.filter((i) => i.status?.phase === 'Running').map((i) => `${i.metadata.namespace}/${i.metadata.name}`));
    const staged = new Map(secrets.items.map((s) => [`${s.metadata.namespace}/${s.metadata.name}`, s]));
    for (const vm of vms.items) {
      const key = `${vm.metadata.namespace}/${vm.metadata.name}`;
      const secret = staged.get(`${key}-cloudinit`);
      if (onboarded.has(vm.metadata.uid) || !running.has(key) || secret === undefined) continue;
      // The agent connects under the --resource-name its cloud-init gives it, as azcmagent does.
      const machine = onboardingMachineName(Buffer.from(secret.data?.['userdata'] ?? '', 'base64').toString('utf8'));
      if (machine === undefined) continue;
      onboarded.add(vm.metadata.uid);
      arm.state.machines.set(machine.toLowerCase(), {
        name: machine,
        status: 'Connected',
        tags: { [ARC_TAG_TENANT]: vm.metadata.namespace, [ARC_TAG_VM_ID]: vm.metadata.labels?.['labplane.io/vm-id'] ?? '' },
        lastStatusChange: new Date().toISOString(),
        agentVersion: '1.50.0',
      });
    }
  };
  const loop = async (): Promise<void> => {
    while (!stopped) {
      await pass().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  void loop();
  return {
    stop: () => {
      stopped = true;
    },
  };
}
