import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { createAzureAdVerifier } from '../adapters/auth/azure-ad.js';
import { createDevTokens, type DevTokens } from '../adapters/auth/dev-tokens.js';
import { loadKubeConfig } from '../adapters/kubernetes/kube-config.js';
import { createKubeClient } from '../adapters/kubernetes/kube-client.js';
import { createKubeTenantRepository } from '../adapters/kubernetes/tenant-repository.js';
import { startKubeEmulator, type KubeEmulator } from '../adapters/sim/kube-emulator/index.js';
import type { SimAzureOptions } from '../adapters/sim/azure/index.js';
import { auditModule, operationsModule, tenantsModule } from '../api/modules/index.js';
import { createAuditService } from '../domain/audit/audit.js';
import type { ApiModule } from '../api/module.js';
import type { ReadinessCheck } from '../api/rest/system.js';
import { createPrincipalResolver, type PrincipalResolver } from '../domain/auth/authenticator.js';
import { systemClock } from '../domain/shared/ids.js';
import { DEFAULT_PLATFORM_MAXIMA } from '../domain/tenants/tenant.js';
import type { ClusterHealth, TenantRepository } from '../domain/tenants/tenant-repository.js';
import { createTenantService, type TenantService } from '../domain/tenants/tenant-service.js';
import { createCloudInitJanitor } from '../jobs/cloud-init-janitor.js';
import { tenantDeleteJob } from '../jobs/kinds/tenant-delete.js';
import type { Config } from './config.js';
import { azureAdOptions } from './auth.js';
import { buildIdentity, buildIdentityPorts, simOnboardingController, type Identity, type IdentityPorts } from './identity.js';
import { buildImages, imageEmulatorControllers, seedSimulatedCluster } from './images.js';
import { buildJobsRuntime, type JobsRuntime, type QueueLocks } from './jobs.js';
import { buildLabs, type BackgroundLoop, type Labs } from './labs.js';
import { informerCheck } from './readiness.js';
import { buildLeadership } from './leadership.js';
import type { LeaderElector } from '../domain/shared/leadership.js';
import { buildVms, vmEmulatorControllers } from './vms.js';
import { buildWebhooks, withDeliveries, type WebhooksDeps } from './webhooks.js';
import { vmWakeSource } from '../jobs/kinds/vm-job-support.js';
import { createArcMachineJanitor } from '../jobs/arc-machine-janitor.js';


/** Everything the API and the worker need, built from configuration (the composition root). */
export interface Deps {
  readonly config: Config;
  readonly logger: Logger;
  readonly emulator: KubeEmulator | undefined;
  readonly tenantRepo: TenantRepository & ClusterHealth;
  readonly tenants: TenantService;
  readonly jobs: JobsRuntime;
  /** Azure identity of VMs (Arc machines, access grants); simulated in the embedded default. */
  readonly identity: Identity;
  /** What the API exposes, one module per area. */
  readonly modules: readonly ApiModule[];
  readonly principals: PrincipalResolver;
  readonly devTokens: DevTokens | undefined;
  readonly readiness: readonly ReadinessCheck[];
  readonly metrics: Registry;
  /** Course labs (repository, use cases). */
  readonly labs: Labs;
  /**
   * The loops that must run once in the deployment (lab schedules, housekeeping, job recovery):
   * `start` where the job workers run campaigns for the leader Lease and they run while this process
   * leads; `stop` (also done by `close`) stops them and releases the Lease.
   */
  readonly background: BackgroundLoop;
  /** Who leads the loops (also on /metrics as `labplane_leader`). */
  readonly leadership: LeaderElector;
  /** Closes every adapter in reverse order of creation. */
  close(): Promise<void>;
}

/** What benchmarks and tests may set beyond configuration (the simulated Azure's timings and budgets). */
export interface DepsOverrides {
  readonly simAzure?: SimAzureOptions;
  /** The simulated cluster keeps every request in RBAC terms (`emulator.recordedRequests()`): the RBAC scenario test. */
  readonly recordKubeRequests?: boolean;
  /** The fault tests: the real ARM adapters pointed at a local ARM server (its endpoint, CA and a fixed credential). */
  readonly identityPorts?: IdentityPorts;
  /** The fault tests: webhook deliveries through the simulated network to a local receiver, with a real cluster. */
  readonly webhookNetwork?: Pick<WebhooksDeps, 'sender' | 'resolver'>;
  /** The fault tests: BullMQ's lock and stalled-job check (default 30 s each), so a killed worker's jobs come back in seconds. */
  readonly queueLocks?: QueueLocks;
}

export async function buildDeps(config: Config, logger: Logger, overrides: DepsOverrides = {}): Promise<Deps> {
  const closers: Array<() => Promise<void>> = [];
  try {
    const identityPorts = overrides.identityPorts ?? buildIdentityPorts(config, logger, overrides.simAzure);
    let emulator: KubeEmulator | undefined;
    let kubeConfig;
    if (config.kube.mode === 'simulated') {
      // In the embedded default, something plays the VMs' part in the simulated Azure (Arc onboarding).
      const identityControllers = identityPorts.sim === undefined ? [] : [simOnboardingController(identityPorts.sim)];
      emulator = await startKubeEmulator({
        schemasDir: config.kube.schemasDir,
        controllers: [...imageEmulatorControllers(config), ...vmEmulatorControllers(), ...identityControllers],
        // Exists before the control plane starts, as the deploy kit creates it in a real cluster.
        namespaces: [config.controlNamespace],
        ...(overrides.recordKubeRequests === true ? { recordRequests: true } : {}),
      });
      closers.push(() => emulator?.close() ?? Promise.resolve());
      kubeConfig = loadKubeConfig({ server: emulator.url });
      logger.info({ url: emulator.url }, 'simulated Kubernetes API started');
    } else if (config.kube.mode === 'kubeconfig') {
      kubeConfig = loadKubeConfig({ kubeconfigPath: config.kube.path });
    } else {
      kubeConfig = loadKubeConfig({ inCluster: true });
    }
    // One client for every Kubernetes adapter: KUBE_QPS is what the API server sees from this process.
    const kube = createKubeClient({
      kubeConfig,
      logger: logger.child({ component: 'kubernetes' }),
      rateLimit: { ratePerSecond: config.kubeQps, burst: config.kubeBurst },
      timeoutMs: config.kubeTimeoutMs,
    });
    const tenantRepo = createKubeTenantRepository({ client: kube, clusterPrivateCidrs: [...config.clusterPrivateCidrs] });
    await tenantRepo.start();
    closers.push(() => tenantRepo.close());

    const metrics = new Registry();
    // Built before the job runtime: its tap sees every operation the runtime finishes.
    const webhooks = await buildWebhooks({ config, logger, kube, tenantRepo, ...overrides.webhookNetwork, ...(overrides.queueLocks === undefined ? {} : { queueLocks: overrides.queueLocks }) });
    closers.push(() => webhooks.close());
    const jobs = withDeliveries(buildJobsRuntime(config, logger, metrics, webhooks.tap, overrides.queueLocks), webhooks);
    closers.push(() => jobs.close());
    const readiness: ReadinessCheck[] = [{ name: 'kubernetes', check: () => tenantRepo.ping() }];
    if (jobs.redisPing !== undefined) readiness.push({ name: 'redis', check: jobs.redisPing });

    const devTokens = config.devMode ? createDevTokens(config.devTokenSecret) : undefined;
    const azureAd = config.auth === undefined ? undefined : createAzureAdVerifier(azureAdOptions(config.auth, logger));
    const verifiers = [...(devTokens === undefined ? [] : [devTokens]), ...(azureAd === undefined ? [] : [azureAd])];
    const principals = createPrincipalResolver({ verifiers, memberships: tenantRepo });
    const tenants = createTenantService({ repo: tenantRepo, maxima: DEFAULT_PLATFORM_MAXIMA, operations: jobs.operations });
    jobs.engine.register([tenantDeleteJob({ repo: tenantRepo, webhooks: webhooks.repo })]);
    const images = await buildImages({ config, logger, kube, tenantRepo, operations: jobs.operations });
    closers.push(() => images.close());
    jobs.engine.register(images.jobKinds);
    if (emulator !== undefined) await seedSimulatedCluster(tenantRepo, images.repo, logger);
    const vms = await buildVms({ config, logger, kube, tenantRepo, images, operations: jobs.operations, operationStore: jobs.store, identity: identityPorts });
    closers.push(() => vms.close());
    jobs.engine.register(vms.jobKinds);
    // A VM's watch events wake the steps waiting on it (in worker processes only).
    jobs.engine.wakeOn(vmWakeSource(vms.repo));
    const identity = buildIdentity({ config, logger, vmRepo: vms.repo, tenantRepo, ports: identityPorts });
    const labs = await buildLabs({
      config,
      logger,
      kube,
      tenantRepo,
      images: images.locator,
      vmRepo: vms.repo,
      vms: vms.service,
      operations: jobs.operations,
      operationStore: jobs.store,
      identity: { access: identityPorts.access, onboarding: identityPorts.onboarding !== undefined, simulated: identityPorts.sim !== undefined },
    });
    closers.push(() => labs.close());
    jobs.engine.register(labs.jobKinds);
    // Ready only once every informer the process reads from has synced (and keeps up).
    readiness.push(
      informerCheck('tenants', () => tenantRepo.informers()),
      informerCheck('webhooks', () => webhooks.informers()),
      informerCheck('images', () => images.informers()),
      informerCheck('vms', () => vms.repo.informers()),
      informerCheck('labs', () => labs.repo.informers()),
    );
    const janitor = createCloudInitJanitor({
      vms: vms.repo,
      operations: jobs.store,
      clock: systemClock,
      logger: logger.child({ component: 'cloud-init-janitor' }),
      // Past any Arc connect wait (whose scrub consumes the copy), by an hour.
      maxAgeMs: Math.max(2 * 3_600_000, config.arcConnectTimeoutMs + 3_600_000),
      intervalMs: config.janitorIntervalMs,
    });
    const arcCluster = identityPorts.onboarding?.target.cluster;
    const arcJanitor =
      arcCluster === undefined
        ? []
        : [
            createArcMachineJanitor({
              arcMachines: identityPorts.arcMachines,
              vms: vms.repo,
              operations: jobs.store,
              cluster: arcCluster,
              logger: logger.child({ component: 'arc-machine-janitor' }),
              intervalMs: config.janitorIntervalMs,
            }),
          ];
    const leadership = buildLeadership({ config, logger, kubeConfig, metrics, recover: () => jobs.engine.recover(), loops: [...labs.loops, janitor, ...arcJanitor, webhooks.outboxDrain(jobs.store)] });
    closers.push(() => leadership.background.stop());
    const modules = [
      tenantsModule(tenants),
      operationsModule(jobs.operations),
      auditModule(createAuditService({ log: jobs.auditLog })),
      images.module,
      vms.module,
      identity.module,
      labs.module,
      webhooks.module,
    ];

    return {
      config,
      logger,
      emulator,
      tenantRepo,
      tenants,
      jobs,
      identity,
      modules,
      principals,
      devTokens,
      readiness,
      metrics,
      labs,
      background: leadership.background,
      leadership: leadership.elector,
      async close() {
        for (const c of closers.reverse()) {
          await c().catch((err: unknown) => logger.warn({ err }, 'error while closing an adapter'));
        }
      },
    };
  } catch (err) {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    throw err;
  }
}
