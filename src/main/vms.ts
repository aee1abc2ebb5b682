import { createKubeSnapshotRepository } from '../adapters/kubernetes/snapshot-repository.js';
import { createKubeVmRepository, type KubeVmRepository } from '../adapters/kubernetes/vm-repository.js';
import { vmsModule } from '../api/modules/index.js';
import { withListedMachineStatus } from '../domain/identity/listed-machines.js';
import type { ImageLocator } from '../domain/images/image-repository.js';
import type { ImageService } from '../domain/images/image-service.js';
import { toOperation } from '../domain/operations/operation.js';
import { usageWithSnapshots } from '../domain/vms/snapshot-quota.js';
import type { SnapshotRepository } from '../domain/vms/snapshot-repository.js';
import { createNodeService, type NodeService } from '../domain/vms/node-service.js';
import { createVmService, type VmService } from '../domain/vms/vm-service.js';
import type { AutoShutdownViews } from '../domain/usage/vm-cost-controls.js';
import type { StartGate } from '../domain/vms/vm-actions.js';
import { createCloudInitJanitor } from '../jobs/cloud-init-janitor.js';
import { nodeEvacuateJob } from '../jobs/kinds/node-evacuate.js';
import { vmCreateJob } from '../jobs/kinds/vm-create.js';
import { vmDeleteJob } from '../jobs/kinds/vm-delete.js';
import { identityChainer, vmIdentityJob } from '../jobs/kinds/vm-identity.js';
import { vmMigrateJob } from '../jobs/kinds/vm-migrate.js';
import { vmWakeSource } from '../jobs/kinds/vm-job-support.js';
import { vmPowerJobs } from '../jobs/kinds/vm-power.js';
import { defineArea, type Platform } from './area.js';

/** Re-check interval of the VM jobs while they wait for a state (reads the cache: free). */
export const VM_RECHECK_MS = 200;

export interface VmsExports {
  readonly repo: KubeVmRepository;
  /** The VMs' snapshots (read on demand; used by the snapshots area, and by `vm.delete` to delete a VM's snapshots). */
  readonly snapshots: SnapshotRepository;
  readonly service: VmService;
  readonly nodes: NodeService;
  /**
   * Where the API reads VMs' auto-shutdown views: given by the auto-shutdown area, built after this
   * one (it needs the VMs); until then, and without it, no VM shows one.
   */
  showAutoShutdown(views: AutoShutdownViews): void;
  /**
   * Sets what starts must also pass (a lab student's usage quota, from the usage area, which is
   * built after this one as it needs the VMs).
   */
  gateStarts(gate: StartGate): void;
}

/**
 * VM repository (watch-backed), VM and node use cases, the VM job kinds (with `vm.identity`: Azure
 * Arc onboarding through the world's Azure), the cloud-init janitor (leader) and the API module.
 */
export const vmsArea = defineArea({
  name: 'vms',
  needs: ['images'],
  async build(
    ctx: Pick<Platform, 'config' | 'logger' | 'clock' | 'world' | 'kube' | 'tenantRepo' | 'operations' | 'operationStore'> & {
      readonly images: { readonly locator: ImageLocator; readonly service: Pick<ImageService, 'get'> };
    },
  ) {
    const { config } = ctx;
    const repo = createKubeVmRepository({ client: ctx.kube, controlNamespace: config.controlNamespace });
    await repo.start();
    const snapshots = createKubeSnapshotRepository({ client: ctx.kube, supportCacheMs: config.snapshots.supportCacheMs, clock: ctx.clock });
    const { azure, timings } = ctx.world;
    let startGate: StartGate | undefined;
    const service = createVmService({
      repo,
      startGate: { refuseStart: async (p, vm) => startGate?.refuseStart(p, vm) },
      // A VM's disk must fit beside the tenant's disks and its VM snapshots.
      tenants: { get: (id) => ctx.tenantRepo.get(id), usage: usageWithSnapshots(ctx.tenantRepo, snapshots).usage },
      images: ctx.images.locator,
      operations: ctx.operations,
      ...(azure.onboarding === undefined ? {} : { onboarding: azure.onboarding }),
    });
    const store = ctx.operationStore;
    const nodes = createNodeService({ repo, operations: ctx.operations });
    const jobDeps = { repo, recheckMs: VM_RECHECK_MS };
    const janitor = createCloudInitJanitor({
      vms: repo,
      operations: store,
      clock: ctx.clock,
      logger: ctx.logger.child({ component: 'cloud-init-janitor' }),
      // Past any Arc connect wait (whose scrub consumes the copy), by an hour.
      maxAgeMs: Math.max(2 * 3_600_000, config.arcConnectTimeoutMs + 3_600_000),
      intervalMs: config.janitorIntervalMs,
    });
    let autoShutdown: AutoShutdownViews | undefined;
    const autoShutdownViews: AutoShutdownViews = {
      of: async (refs) => (autoShutdown === undefined ? refs.map(() => undefined) : autoShutdown.of(refs)),
    };
    return {
      exports: {
        repo,
        snapshots,
        service,
        nodes,
        showAutoShutdown: (views) => {
          autoShutdown = views;
        },
        gateStarts: (gate) => {
          startGate = gate;
        },
      } satisfies VmsExports,
      jobKinds: [
        // Only VMs that got the onboarding user-data can connect: without it, the Arc flag is only recorded.
        vmCreateJob({
          ...jobDeps,
          ...(azure.onboarding === undefined
            ? {}
            : { chainIdentity: identityChainer({ operations: ctx.operations, children: async (id) => store.listChildren(id) }) }),
        }),
        vmIdentityJob({
          repo,
          tenants: ctx.tenantRepo,
          // Waiting machines share one list call per refresh instead of one read each.
          arcMachines: withListedMachineStatus(azure.arcMachines, { maxAgeMs: timings.arcListMaxAgeMs }),
          access: azure.access,
          settings: azure.settings,
          store,
          recheckMs: timings.arcRecheckMs,
          connectTimeoutMs: config.arcConnectTimeoutMs,
        }),
        ...vmPowerJobs(jobDeps),
        vmMigrateJob(jobDeps),
        vmDeleteJob({ ...jobDeps, arcMachines: azure.arcMachines, snapshots }),
        nodeEvacuateJob({
          repo,
          vms: service,
          children: async (id) => (await store.listChildren(id)).map(toOperation),
          recheckMs: VM_RECHECK_MS * 2,
        }),
      ],
      api: [vmsModule(service, nodes, ctx.images.service, autoShutdownViews)],
      leaderLoops: [janitor],
      // A VM's watch events wake the steps waiting on it (in worker processes only).
      wakeSources: [vmWakeSource(repo)],
      // The snapshot watch is not among them: a cluster without snapshot CRDs is still ready.
      informers: () => repo.informers(),
      close: async () => {
        await Promise.all([repo.close(), snapshots.close()]);
      },
    };
  },
});
