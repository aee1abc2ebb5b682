import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import type { DevTokens } from '../adapters/auth/dev-tokens.js';
import { createKubeClient } from '../adapters/kubernetes/kube-client.js';
import { createKubeTenantRepository } from '../adapters/kubernetes/tenant-repository.js';
import type { KubeEmulator } from '../adapters/sim/kube-emulator/index.js';
import type { ApiModule } from '../api/module.js';
import type { ReadinessCheck } from '../api/rest/system.js';
import type { PrincipalResolver } from '../domain/auth/authenticator.js';
import { systemClock } from '../domain/shared/ids.js';
import type { LeaderElector, LeaderLoop } from '../domain/shared/leadership.js';
import type { ClusterHealth, TenantRepository } from '../domain/tenants/tenant-repository.js';
import { buildAreas, closeAreas, type Area, type BuiltArea, type Mounted, type Platform } from './area.js';
import { buildPrincipals } from './auth.js';
import type { Config } from './config.js';
import { identityArea, type Identity } from './identity.js';
import { imagesArea } from './images.js';
import { buildJobsRuntime, createTerminalTap, withWorkerLoops, type JobsRuntime } from './jobs.js';
import { labsArea, type LabsExports } from './labs.js';
import { ltiArea, type LtiExports } from './lti.js';
import { ltiPagesArea } from './lti-pages.js';
import { activityArea } from './activity.js';
import { consoleArea, type ConsoleExports } from './console.js';
import { autoShutdownArea, type AutoShutdownExports } from './auto-shutdown.js';
import { buildLeadership } from './leadership.js';
import { informerCheck } from './readiness.js';
import { createUpstreamMetrics, operationMetrics, stepWaitMetrics } from './upstream-metrics.js';
import { createWorld, type World, type WorldOverrides } from './simulated.js';
import { reimageArea } from './reimage.js';
import { snapshotsArea } from './snapshots.js';
import { vmCopiesArea } from './vm-copies.js';
import { tenantsArea } from './tenants.js';
import { usageArea, type UsageExports } from './usage.js';
import { vmsArea, type VmsExports } from './vms.js';
import { webhooksArea } from './webhooks.js';

/**
 * The areas of the product, in the order the API mounts their slices (GraphQL types and fields
 * keep this order); each is built after the areas it `needs`. A new area (LTI, cost controls,
 * templates) is one module added here.
 */
export const AREAS = [
  tenantsArea,
  activityArea,
  imagesArea,
  vmsArea,
  snapshotsArea,
  vmCopiesArea,
  identityArea,
  labsArea,
  reimageArea,
  usageArea,
  webhooksArea,
  autoShutdownArea,
  ltiArea,
  ltiPagesArea,
  consoleArea,
] as const;

/** Everything the API and the worker need, built from configuration (the composition root). */
export interface Deps {
  readonly config: Config;
  readonly logger: Logger;
  /** The cluster, Azure and the network, real or simulated (./simulated.ts). */
  readonly world: World;
  readonly emulator: KubeEmulator | undefined;
  readonly tenantRepo: TenantRepository & ClusterHealth;
  /** The job runtime; its worker also runs the areas' worker loops (webhook deliveries). */
  readonly jobs: JobsRuntime;
  /** Azure identity of VMs (Arc machines, access grants); simulated in the embedded default. */
  readonly identity: Identity;
  /** LTI 1.3: platform registrations and the tool's keys. */
  readonly lti: LtiExports;
  /** The idle detector (auto-shutdown, quota enforcement of running VMs): `tick()` runs a pass now. */
  readonly autoShutdown: AutoShutdownExports;
  /** Usage metering: the ledger, the reader of students' usage and the meter (tests drive its `tick`). */
  readonly usage: UsageExports;
  /** The VM and lab repositories and use cases (tests build parts of their own on them). */
  readonly vms: VmsExports;
  readonly labs: LabsExports;
  /** Browser consoles: the ticket use case and the open sessions. */
  readonly console: ConsoleExports;
  /** What the API exposes, the areas' slices in {@link AREAS} order. */
  readonly modules: readonly ApiModule[];
  /** Routes outside the contract (see `AreaParts.routes`). */
  readonly routes: readonly ((app: FastifyInstance) => Promise<void>)[];
  readonly principals: PrincipalResolver;
  readonly devTokens: DevTokens | undefined;
  readonly readiness: readonly ReadinessCheck[];
  readonly metrics: Registry;
  /**
   * The loops that must run once in the deployment (the areas' leader loops and job recovery):
   * `start` where the job workers run campaigns for the leader Lease and they run while this process
   * leads; `stop` (also done by `close`) stops them and releases the Lease.
   */
  readonly background: LeaderLoop;
  /** Who leads the loops (also on /metrics as `labplane_leader`). */
  readonly leadership: LeaderElector;
  /** Closes every adapter: loops, jobs, then the areas in reverse build order, then the platform. */
  close(): Promise<void>;
}

/** What benchmarks and tests may set beyond configuration (see {@link WorldOverrides}). */
export type DepsOverrides = WorldOverrides;

/** The exports of an area that was built. */
function exportsOf<E>(mounted: Mounted, area: Area<never, E>): E {
  const b = mounted.built.get(area.name) as BuiltArea<E> | undefined;
  if (b === undefined) throw new TypeError(`area ${area.name} was not built`);
  return b.exports;
}

export async function buildDeps(config: Config, logger: Logger, overrides: DepsOverrides = {}): Promise<Deps> {
  const closers: Array<() => Promise<void>> = [];
  const closeAll = async (): Promise<void> => {
    for (const c of closers.splice(0).reverse()) await c().catch((err: unknown) => logger.warn({ err }, 'error while closing an adapter'));
  };
  try {
    const metrics = new Registry();
    const upstream = createUpstreamMetrics(metrics);
    const world = await createWorld(config, logger, overrides, upstream);
    closers.push(() => world.close());
    // One client for every Kubernetes adapter: KUBE_QPS is what the API server sees from this process.
    const kube = createKubeClient({
      kubeConfig: world.kubeConfig,
      logger: logger.child({ component: 'kubernetes' }),
      rateLimit: { ratePerSecond: config.kubeQps, burst: config.kubeBurst },
      timeoutMs: config.kubeTimeoutMs,
      metrics: upstream,
    });
    const tenantRepo = createKubeTenantRepository({ client: kube, clusterPrivateCidrs: [...config.clusterPrivateCidrs] });
    await tenantRepo.start();
    closers.push(() => tenantRepo.close());
    // Built before the areas: its tap hands every operation the runtime finishes to the areas' listeners.
    const terminal = createTerminalTap();
    terminal.listen(operationMetrics(metrics));
    const runtime = await buildJobsRuntime(config, logger, metrics, terminal, world.queueLocks);
    const platform: Platform = {
      config,
      logger,
      clock: systemClock,
      metrics,
      world,
      kube,
      tenantRepo,
      operations: runtime.operations,
      operationStore: runtime.store,
      auditLog: runtime.auditLog,
      ...(runtime.redis === undefined ? {} : { redis: runtime.redis }),
    };
    let mounted: Mounted;
    try {
      mounted = await buildAreas(AREAS, platform, logger);
    } catch (err) {
      await runtime.close().catch(() => undefined);
      throw err;
    }
    const parts = mounted.order.map((name) => mounted.built.get(name) as BuiltArea<unknown>);
    const jobs = withWorkerLoops(
      runtime,
      parts.flatMap((p) => p.workerLoops ?? []),
      parts.flatMap((p) => p.dashboardQueues ?? []),
    );
    // Closed first: jobs stop before the repositories they use.
    closers.push(async () => {
      await closeAreas(mounted, logger);
    });
    closers.push(() => jobs.close());
    stepWaitMetrics(metrics, jobs.engine);
    for (const p of parts) {
      jobs.engine.register(p.jobKinds ?? []);
      for (const source of p.wakeSources ?? []) jobs.engine.wakeOn(source);
      if (p.onTerminalOperation !== undefined) terminal.listen(p.onTerminalOperation);
    }
    await world.seed({ tenants: tenantRepo, images: exportsOf(mounted, imagesArea).repo });

    // Ready only once every informer the process reads from has synced (and keeps up).
    const readiness: ReadinessCheck[] = [{ name: 'kubernetes', check: () => tenantRepo.ping() }];
    if (jobs.redisPing !== undefined) readiness.push({ name: 'redis', check: jobs.redisPing });
    readiness.push(informerCheck('tenants', () => tenantRepo.informers()));
    for (const name of mounted.order) {
      const informers = mounted.built.get(name)?.informers;
      if (informers !== undefined) readiness.push(informerCheck(name, informers));
    }
    const { devTokens, principals } = buildPrincipals(config, logger, tenantRepo);
    exportsOf(mounted, consoleArea).usePrincipals(principals);
    const leadership = buildLeadership({
      config,
      logger,
      kubeConfig: world.kubeConfig,
      metrics,
      recover: () => jobs.engine.recover(),
      loops: parts.flatMap((p) => p.leaderLoops ?? []),
    });
    closers.push(() => leadership.background.stop());

    return {
      config,
      logger,
      world,
      emulator: world.emulator,
      tenantRepo,
      jobs,
      identity: exportsOf(mounted, identityArea),
      lti: exportsOf(mounted, ltiArea),
      autoShutdown: exportsOf(mounted, autoShutdownArea),
      usage: exportsOf(mounted, usageArea),
      vms: exportsOf(mounted, vmsArea),
      labs: exportsOf(mounted, labsArea),
      console: exportsOf(mounted, consoleArea),
      modules: AREAS.flatMap((a) => mounted.built.get(a.name)?.api ?? []),
      routes: AREAS.flatMap((a) => mounted.built.get(a.name)?.routes ?? []),
      principals,
      devTokens,
      readiness,
      metrics,
      background: leadership.background,
      leadership: leadership.elector,
      close: closeAll,
    };
  } catch (err) {
    for (const c of closers.splice(0).reverse()) await c().catch(() => undefined);
    throw err;
  }
}
