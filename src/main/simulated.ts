import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { createArcUserDataRenderer } from '../adapters/azure/cloud-init/render-arc-onboarding.js';
import { loadKubeConfig } from '../adapters/kubernetes/kube-config.js';
import { rootDiskOf } from '../adapters/kubernetes/vm-disks.js';
import type { VirtualMachine } from '../adapters/kubernetes/vm-objects.js';
import { createDnsResolver } from '../adapters/net/dns-resolver.js';
import { createHttpWebhookSender } from '../adapters/net/webhook-sender.js';
import { createSimAzure, type SimAzure, type SimAzureOptions } from '../adapters/sim/azure/index.js';
import { createDataVolumeController } from '../adapters/sim/kube-emulator/datavolume-controller.js';
import {
  createCloneController,
  createMigrationController,
  createSnapshotController,
  createVmLifecycleController,
  startKubeEmulator,
  type Controller,
  type KubeEmulator,
} from '../adapters/sim/kube-emulator/index.js';
import { createSimDirectory } from '../adapters/sim/directory.js';
import { createSimLms, type SimLms } from '../adapters/sim/lms/index.js';
import { createSimPrometheus, type SimPrometheus } from '../adapters/sim/prometheus.js';
import type { PrometheusSettings } from '../adapters/prometheus/index.js';
import { createSimulatedResolver } from '../adapters/sim/sim-resolver.js';
import { createPlatformFetch } from '../adapters/lti/platform-fetch.js';
import { createSimulatedWebhookNetwork, simulatedRouteRecords } from '../adapters/sim/sim-webhook-network.js';
import { ARC_TAG_TENANT, ARC_TAG_VM_ID } from '../domain/identity/arc-machine.js';
import { PLATFORM, PLATFORM_IMAGE_NAMESPACE, type ImageSpec } from '../domain/images/image.js';
import type { ImageRepository } from '../domain/images/image-repository.js';
import type { Directory, MembershipSource, PlatformFetch } from '../domain/lti/ports.js';
import type { HostResolver } from '../domain/net/index.js';
import { ConflictError } from '../domain/shared/errors.js';
import { systemClock, type Clock } from '../domain/shared/ids.js';
import { PROFILE_DEFAULTS } from '../domain/tenants/tenant.js';
import type { TenantRepository } from '../domain/tenants/tenant-repository.js';
import type { WebhookSender } from '../domain/webhooks/delivery.js';
import type { UpstreamMetrics } from '../domain/shared/upstream-metrics.js';
import type { AzurePorts } from './azure-arm.js';
import type { Config } from './config.js';

/**
 * The world outside the control plane (the cluster, Azure, the network) and how long things take
 * in it: real, or simulated for the embedded default and tests. Whether something is simulated is
 * decided here and nowhere else; the areas are handed the result.
 */
export interface World {
  /** How to reach the cluster: the simulated one's URL, a kubeconfig or the pod's service account. */
  readonly kubeConfig: KubeConfig;
  /** The simulated Kubernetes API (KUBE_MODE simulated, the embedded default); undefined against a real cluster. */
  readonly emulator: KubeEmulator | undefined;
  /** Azure for VM identities: the simulated one, or ARM when AZURE_* is set. */
  readonly azure: AzurePorts;
  /** The simulated Azure (tests and benchmarks look into it); undefined against ARM. */
  readonly simAzure: SimAzure | undefined;
  readonly network: Network;
  /** The LMS side of LTI 1.3: how LMS URLs are reached, the directory people are matched in, the simulated LMS. */
  readonly lms: LmsWorld;
  readonly timings: Timings;
  /** BullMQ's lock timings when not the default (the fault tests). */
  readonly queueLocks?: QueueLocks;
  /** Reads LMS course memberships (NRPS) when given here (tests); otherwise the LTI area's NRPS client. */
  readonly membershipSource?: MembershipSource;
  /**
   * Where VM usage is read (the idle detector's usage signal): the Prometheus of PROMETHEUS_URL, or in
   * the embedded default (without PROMETHEUS_URL) the simulated Prometheus, through the same adapter;
   * undefined: no usage signal.
   */
  readonly prometheus: PrometheusSettings | undefined;
  /** The embedded default's simulated Prometheus on loopback (tests set its series); undefined otherwise. */
  readonly simPrometheus: SimPrometheus | undefined;
  /** The clock of usage metering and cost controls when a test sets one ({@link WorldOverrides.usageClock}). */
  readonly usageClock?: Clock;
  /** The clock of console tickets and sessions when a test sets one ({@link WorldOverrides.consoleClock}). */
  readonly consoleClock?: Clock;
  /** Tests: the console proxy's backpressure bound and limit check period ({@link WorldOverrides.consoleTuning}). */
  readonly consoleTuning?: ConsoleTuning;
  /** Seeds the simulated cluster through the real adapters once they are up (nothing against a real one). */
  seed(repos: { readonly tenants: TenantRepository; readonly images: ImageRepository }): Promise<void>;
  close(): Promise<void>;
}

/** Name resolution (for the SSRF guard) and the network webhook deliveries go out on. */
export interface Network {
  readonly imageResolver: HostResolver;
  /** Also knows the hosts of SIM_WEBHOOK_ROUTES in the simulated cluster. */
  readonly webhookResolver: HostResolver;
  readonly webhookSender: WebhookSender;
}

/**
 * What LTI needs of the outside world. With the simulated cluster (the embedded default): LMS URLs
 * may be http and on loopback (an LMS tried beside it), people resolve in the simulated directory
 * (addresses outside the simulated domains as guests, so any LMS can be tried) and a simulated LMS
 * is served under /sim/lms. Otherwise: LMS URLs pass the outbound guard (https, public addresses),
 * and people resolve in Entra ID through Microsoft Graph with the control plane's identity (only
 * with Azure configured; without it, nobody resolves and LMS members are listed as not in the directory).
 */
export interface LmsWorld {
  readonly platformFetch: PlatformFetch;
  readonly directory: Directory;
  /** The embedded default's simulated LMS; undefined otherwise. */
  readonly simLms: SimLms | undefined;
}

/** A directory in which nobody is found: a real cluster without Azure settings has no directory to ask. */
const NO_DIRECTORY: Directory = {
  lookup: (addresses) => Promise.resolve(new Map(addresses.map((a) => [a.trim().toLowerCase(), 'not-found' as const]))),
};

/** The LMS side of the world (see {@link LmsWorld}); the Graph SDK is loaded only against Azure. */
export async function lmsWorldFor(config: Pick<Config, 'kube' | 'azure' | 'publicUrl'>, network: Network): Promise<LmsWorld> {
  if (config.kube.mode === 'simulated') {
    return {
      platformFetch: createPlatformFetch({ allowPrivate: true }),
      directory: createSimDirectory(undefined, { guestsOutsideDomain: true }),
      simLms: createSimLms(config.publicUrl === undefined ? {} : { baseUrl: config.publicUrl }),
    };
  }
  const azure = config.azure;
  let directory = NO_DIRECTORY;
  if (azure.mode === 'arm') {
    const { loadGraphDirectory } = await import('../adapters/graph/index.js');
    directory = await loadGraphDirectory(azure.clientId === undefined ? { kind: 'default' } : { kind: 'default', clientId: azure.clientId });
  }
  return { platformFetch: createPlatformFetch({ resolver: network.imageResolver }), directory, simLms: undefined };
}

/** How often jobs look again at what they wait for: the simulated world answers in milliseconds. */
export interface Timings {
  readonly labRecheckMs: number;
  /** `vm.identity`: between looks at whether a VM's Arc machine connected. */
  readonly arcRecheckMs: number;
  /** How old a listed Arc machine status may be (machines waiting together share one list call). */
  readonly arcListMaxAgeMs: number;
}

/** What benchmarks and tests may set beyond configuration. */
export interface WorldOverrides {
  /** The simulated Azure's timings and budgets. */
  readonly simAzure?: SimAzureOptions;
  /** The fault tests: the real ARM adapters pointed at a local ARM server (its endpoint, CA and a fixed credential). */
  readonly azure?: AzurePorts;
  /** The fault tests: webhook deliveries through the simulated network to a local receiver, with a real cluster. */
  readonly network?: Partial<Network>;
  /** The fault tests: BullMQ's lock and stalled-job check (default 30 s each), so a killed worker's jobs come back in seconds. */
  readonly queueLocks?: QueueLocks;
  /** The simulated cluster keeps every request in RBAC terms (`emulator.recordedRequests()`): the RBAC scenario test. */
  readonly recordKubeRequests?: boolean;
  /** Tests: the directory (in place of `lms.directory`) and an NRPS client. */
  readonly directory?: Directory;
  readonly membershipSource?: MembershipSource;
  /**
   * Tests: the clock of the usage area only (the usage meter, usage reports, the quota refusal and the
   * idle detector), so hours of use pass in fake time while the rest of the platform runs in real time.
   */
  readonly usageClock?: Clock;
  /** Tests: the clock of console tickets (their expiry) and console sessions (idle and length limits). */
  readonly consoleClock?: Clock;
  /** Tests: a smaller backpressure bound of the console proxy, a faster look at its idle and length limits. */
  readonly consoleTuning?: ConsoleTuning;
}

/** The console proxy's backpressure bound (bytes, default 1 MiB) and how often it looks at its limits (ms, default 1000). */
export interface ConsoleTuning {
  readonly highWaterBytes?: number;
  readonly checkEveryMs?: number;
}

/** BullMQ's job lock and stalled-job check, ms (defaults 30 s each). */
export interface QueueLocks {
  readonly lockDurationMs: number;
  readonly stalledIntervalMs: number;
}

/** How long things take in the simulated cluster (embedded default and tests), ms. */
export const SIM_VM_TIMINGS = { provisionMs: 800, startMs: 500, stopMs: 300, migrationPhaseMs: 100, snapshotPhaseMs: 150 } as const;

/** The golden image every simulated cluster starts with (already imported). */
export const SEEDED_IMAGE: ImageSpec = {
  owner: PLATFORM,
  name: 'ubuntu-24-04',
  displayName: 'Ubuntu 24.04 LTS (Noble Numbat)',
  os: 'ubuntu-24.04',
  source: { type: 'http', url: 'https://cloud-images.ubuntu.com/noble/current/noble-server-cloudimg-amd64.img' },
  sizeGi: 10,
  storageClass: 'kv-standard',
};
export const DEMO_TENANT = 'demo';
export const DEMO_OWNER = 'demo-owner';

/** The simulated network (SIM_WEBHOOK_ROUTES, fixed DNS) with the simulated cluster; node:dns and the real network otherwise. */
export function networkFor(config: Pick<Config, 'kube' | 'webhooks'>): Network {
  if (config.kube.mode !== 'simulated') {
    const dns = createDnsResolver();
    return { imageResolver: dns, webhookResolver: dns, webhookSender: createHttpWebhookSender() };
  }
  const routes = config.webhooks.simRoutes;
  // The simulated cluster fetches nothing: its guard answers from a fixed table, the same everywhere.
  return {
    imageResolver: createSimulatedResolver(),
    webhookResolver: createSimulatedResolver(simulatedRouteRecords(routes)),
    webhookSender: createSimulatedWebhookNetwork(routes),
  };
}

/** The simulated Azure in the embedded default; the real ARM adapters (loaded only then) when `config.azure.mode` is `arm`. */
export async function azureFor(
  config: Config,
  logger: Logger,
  simOptions: SimAzureOptions = {},
  metrics?: UpstreamMetrics,
): Promise<{ ports: AzurePorts; sim: SimAzure | undefined }> {
  if (config.azure.mode === 'arm') {
    const { armAzurePorts } = await import('./azure-arm.js');
    return { ports: armAzurePorts(config.azure, logger, metrics), sim: undefined };
  }
  const sim = createSimAzure(simOptions);
  logger.info({ subscriptionId: sim.settings.subscriptionId, resourceGroup: sim.settings.resourceGroup }, 'simulated Azure in use');
  return {
    ports: {
      settings: sim.settings,
      arcMachines: sim.arcMachines(),
      access: sim.access(),
      onboarding: {
        credentials: sim.onboardingCredentials(),
        renderer: createArcUserDataRenderer(),
        target: { ...sim.settings, cluster: SIMULATED_CLUSTER },
      },
    },
    sim,
  };
}

/** How to reach a real cluster: a kubeconfig or the pod's service account. */
export function realClusterConfig(kube: Exclude<Config['kube'], { mode: 'simulated' }>): KubeConfig {
  return kube.mode === 'kubeconfig' ? loadKubeConfig({ kubeconfigPath: kube.path }) : loadKubeConfig({ inCluster: true });
}

/** Starts what is simulated (the cluster with its controllers, Azure) and says where the real things are. */
export async function createWorld(config: Config, logger: Logger, overrides: WorldOverrides = {}, metrics?: UpstreamMetrics): Promise<World> {
  const azure =
    overrides.azure === undefined ? await azureFor(config, logger, overrides.simAzure, metrics) : { ports: overrides.azure, sim: undefined };
  const simulatedCluster = config.kube.mode === 'simulated';
  const timings: Timings = {
    labRecheckMs: simulatedCluster || azure.sim !== undefined ? 250 : 1_000,
    arcRecheckMs: azure.sim === undefined ? 5_000 : 200,
    arcListMaxAgeMs: azure.sim === undefined ? 5_000 : 100,
  };
  const network = { ...networkFor(config), ...overrides.network };
  const lms = await lmsWorldFor(config, network);
  const usageClock = overrides.usageClock ?? systemClock;
  const usage = config.usage;
  // The embedded default answers PromQL itself (on loopback, so the real adapter and its queries are used).
  const simPrometheus = config.kube.mode === 'simulated' && usage.mode === 'off' ? createSimPrometheus({ now: () => usageClock.now() }) : undefined;
  let prometheus: PrometheusSettings | undefined;
  if (usage.mode === 'prometheus') prometheus = { url: usage.url, auth: usage.auth, timeoutMs: usage.timeoutMs };
  else if (simPrometheus !== undefined) prometheus = { url: await simPrometheus.listen(0, '127.0.0.1'), auth: { kind: 'none' }, timeoutMs: 10_000 };
  const closePrometheus = async () => simPrometheus?.close();
  const base = {
    prometheus,
    simPrometheus,
    azure: azure.ports,
    simAzure: azure.sim,
    network,
    lms: { ...lms, ...(overrides.directory === undefined ? {} : { directory: overrides.directory }) },
    timings,
    ...(overrides.queueLocks === undefined ? {} : { queueLocks: overrides.queueLocks }),
    ...(overrides.membershipSource === undefined ? {} : { membershipSource: overrides.membershipSource }),
    ...(overrides.usageClock === undefined ? {} : { usageClock: overrides.usageClock }),
    ...(overrides.consoleClock === undefined ? {} : { consoleClock: overrides.consoleClock }),
    ...(overrides.consoleTuning === undefined ? {} : { consoleTuning: overrides.consoleTuning }),
  };
  if (config.kube.mode !== 'simulated') {
    return { ...base, kubeConfig: realClusterConfig(config.kube), emulator: undefined, seed: async () => undefined, close: closePrometheus };
  }
  let emulator: KubeEmulator;
  try {
    emulator = await startSimulatedCluster(config, config.kube.schemasDir, azure.sim, overrides.recordKubeRequests === true);
  } catch (err) {
    await closePrometheus();
    throw err;
  }
  logger.info({ url: emulator.url }, 'simulated Kubernetes API started');
  if (simPrometheus !== undefined) logger.info({ url: simPrometheus.url }, 'simulated Prometheus started (the usage signal of auto-shutdown)');
  return {
    ...base,
    kubeConfig: loadKubeConfig({ server: emulator.url }),
    emulator,
    seed: (repos) => seedSimulatedCluster(repos.tenants, repos.images, logger),
    close: async () => {
      await emulator.close();
      await closePrometheus();
    },
  };
}

/**
 * The simulated cluster (imported statically: the embedded default and most tests use it): KubeVirt's and CDI's controllers, and, with the
 * simulated Azure, something playing the VMs' part in it (Arc onboarding).
 */
async function startSimulatedCluster(
  config: Config,
  schemasDir: string,
  simAzure: SimAzure | undefined,
  recordRequests: boolean,
): Promise<KubeEmulator> {
  const controllers: Controller[] = [
    // Imports take SIM_IMPORT_DURATION_MS; the seeded image is there at once.
    createDataVolumeController({
      importDurationMs: config.images.simImportDurationMs,
      preImported: [`${PLATFORM_IMAGE_NAMESPACE}/${SEEDED_IMAGE.name}`],
    }),
    createVmLifecycleController({ provisionMs: SIM_VM_TIMINGS.provisionMs, startMs: SIM_VM_TIMINGS.startMs, stopMs: SIM_VM_TIMINGS.stopMs }),
    createMigrationController({ phaseMs: SIM_VM_TIMINGS.migrationPhaseMs }),
    // KubeVirt installed with the Snapshot feature gate: snapshots and restores of VMs.
    createSnapshotController({ phaseMs: SIM_VM_TIMINGS.snapshotPhaseMs }),
    // KubeVirt's clone API (same feature gate): clones of VMs.
    createCloneController({ phaseMs: SIM_VM_TIMINGS.snapshotPhaseMs }),
    ...(simAzure === undefined ? [] : [simOnboardingController(simAzure)]),
  ];
  return startKubeEmulator({
    schemasDir,
    controllers,
    // Exists before the control plane starts, as the deploy kit creates it in a real cluster.
    namespaces: [config.controlNamespace],
    ...(recordRequests ? { recordRequests: true } : {}),
  });
}

/**
 * Seeds the simulated cluster through the real adapters: the `demo` tenant (faculty, owned by
 * `demo-owner`) and the platform image `ubuntu-24-04`, waiting (briefly) until it is Ready.
 */
async function seedSimulatedCluster(tenantRepo: TenantRepository, images: ImageRepository, logger: Logger): Promise<void> {
  const faculty = PROFILE_DEFAULTS.faculty;
  await tenantRepo
    .create({
      id: DEMO_TENANT,
      displayName: 'Demo tenant',
      profile: 'faculty',
      quota: faculty.quota,
      vmCaps: faculty.vmCaps,
      members: [{ principalId: DEMO_OWNER, principalType: 'User', role: 'owner', displayName: 'Demo owner' }],
    })
    .catch((err: unknown) => {
      if (!(err instanceof ConflictError)) throw err;
    });
  await images.create(SEEDED_IMAGE).catch((err: unknown) => {
    if (!(err instanceof ConflictError)) throw err;
  });
  for (let i = 0; i < 100; i++) {
    if ((await images.get(PLATFORM, SEEDED_IMAGE.name))?.phase === 'Ready') return;
    await sleep(20);
  }
  logger.warn({ image: SEEDED_IMAGE.name }, 'the seeded image is not Ready yet');
}

const SIM_TOKEN = /sim-onboarding\.[A-Za-z0-9_-]+/;
/** The embedded default's installation name on its simulated Arc machines. */
const SIMULATED_CLUSTER = 'embedded';
/** The `--tags` value the rendered onboarding passes to azcmagent (`readonly TAGS=...`). */
const SIM_TAGS = /readonly TAGS='?([^'\s]+)'?/;
const SIM_RESOURCE_NAME = /readonly RESOURCE_NAME='?([^'\s]+)'?/;

/** The machine name an agent connects as (`azcmagent connect --resource-name`), read from the VM's onboarding user-data. */
export function onboardingMachineName(userData: string): string | undefined {
  return SIM_RESOURCE_NAME.exec(userData)?.[1];
}

/** The tags `azcmagent connect --tags` would put on the machine, read from the VM's user-data. */
function onboardingTags(userData: string): Record<string, string> {
  const raw = SIM_TAGS.exec(userData)?.[1] ?? '';
  return Object.fromEntries(
    raw
      .split(',')
      .filter((kv) => kv.includes('='))
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
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
  /** VMs (namespace/name) whose agent this controller started, with the machine each connected as; those it stopped, to start again. */
  const running = new Map<string, string>();
  const stopped = new Set<string>();
  /** The root disk each VM's agent was onboarded from. */
  const agentDisks = new Map<string, string>();
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
        const machine = onboardingMachineName(userData);
        if (machine === undefined) return;
        const token = SIM_TOKEN.exec(userData)?.[0];
        const tags = { [ARC_TAG_TENANT]: namespace, [ARC_TAG_VM_ID]: labels['labplane.io/vm-id'] ?? '', ...onboardingTags(userData) };
        const vmKey = `${namespace}/${name}`;
        // The agent lives on the root disk: a reimaged disk holds a fresh agent that must onboard
        // again (with a valid token) under the same machine name.
        const disk = rootDiskOf(vm as unknown as VirtualMachine);
        const before = agentDisks.get(vmKey);
        const fresh = before !== undefined && before !== disk;
        if (disk !== undefined) agentDisks.set(vmKey, disk);
        sim.simulateOnboarding(machine, tags, { ...(token === undefined ? {} : { accessToken: token }), ...(fresh ? { fresh } : {}) });
        running.set(vmKey, machine);
        if (stopped.delete(vmKey) && !fresh) sim.reconnect(machine);
      };
      unsubscribers.push(
        emulator.store.subscribe('virtualmachineinstances.kubevirt.io', (ev) => {
          const { namespace, name } = ev.object.metadata;
          if (namespace === undefined || name === undefined) return;
          if (ev.type !== 'DELETED') tryOnboard(namespace, name);
          else {
            const machine = running.get(`${namespace}/${name}`);
            if (machine === undefined) return;
            running.delete(`${namespace}/${name}`);
            stopped.add(`${namespace}/${name}`);
            sim.disconnect(machine);
          }
        }),
        emulator.store.subscribe('secrets', (ev) => {
          const { namespace, name } = ev.object.metadata;
          if (ev.type === 'ADDED' && namespace !== undefined && name?.endsWith('-cloudinit') === true)
            tryOnboard(namespace, name.slice(0, -'-cloudinit'.length));
        }),
      );
    },
    stop() {
      for (const u of unsubscribers.splice(0)) u();
    },
  };
}
