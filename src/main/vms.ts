import type { KubeClient } from '../adapters/kubernetes/kube-client.js';
import type { Logger } from 'pino';
import { createKubeVmRepository, type KubeVmRepository } from '../adapters/kubernetes/vm-repository.js';
import { createMigrationController, createVmLifecycleController, type Controller } from '../adapters/sim/kube-emulator/index.js';
import { vmsModule } from '../api/modules/index.js';
import type { ApiModule } from '../api/module.js';
import type { ImageLocator } from '../domain/images/image-repository.js';
import type { ImageService } from '../domain/images/image-service.js';
import type { OperationService } from '../domain/operations/operation-service.js';
import type { OperationStore } from '../domain/operations/operation-store.js';
import { toOperation } from '../domain/operations/operation.js';
import type { TenantRepository } from '../domain/tenants/tenant-repository.js';
import { createNodeService, type NodeService } from '../domain/vms/node-service.js';
import { createVmService, type VmService } from '../domain/vms/vm-service.js';
import type { JobKind } from '../jobs/job-kind.js';
import { nodeEvacuateJob } from '../jobs/kinds/node-evacuate.js';
import { vmCreateJob } from '../jobs/kinds/vm-create.js';
import { vmDeleteJob } from '../jobs/kinds/vm-delete.js';
import { withListedMachineStatus } from '../domain/identity/listed-machines.js';
import { identityChainer, vmIdentityJob } from '../jobs/kinds/vm-identity.js';
import { vmMigrateJob } from '../jobs/kinds/vm-migrate.js';
import { vmPowerJobs } from '../jobs/kinds/vm-power.js';
import type { Config } from './config.js';
import type { IdentityPorts } from './identity.js';

/** How long things take in the simulated cluster (embedded default and tests), ms. */
export const SIM_VM_TIMINGS = { provisionMs: 800, startMs: 500, stopMs: 300, migrationPhaseMs: 100 } as const;
/** Re-check interval of the VM jobs while they wait for a state (reads the cache: free). */
export const VM_RECHECK_MS = 200;

/** The simulated virt-controller and migration controller. */
export function vmEmulatorControllers(): Controller[] {
  return [
    createVmLifecycleController({ provisionMs: SIM_VM_TIMINGS.provisionMs, startMs: SIM_VM_TIMINGS.startMs, stopMs: SIM_VM_TIMINGS.stopMs }),
    createMigrationController({ phaseMs: SIM_VM_TIMINGS.migrationPhaseMs }),
  ];
}

export interface Vms {
  readonly repo: KubeVmRepository;
  readonly service: VmService;
  readonly nodes: NodeService;
  readonly jobKinds: readonly JobKind[];
  readonly module: ApiModule;
  close(): Promise<void>;
}

export interface VmsDeps {
  /** The one Kubernetes client of the process (one request budget: KUBE_QPS / KUBE_BURST). */
  readonly kube: KubeClient;
  readonly config: Config;
  readonly logger: Logger;
  readonly tenantRepo: TenantRepository;
  readonly images: { readonly locator: ImageLocator; readonly service: Pick<ImageService, 'get'> };
  readonly operations: OperationService;
  /** Where the node evacuation reads its children (and `vm.identity` keeps its resume state). */
  readonly operationStore: Pick<OperationStore, 'listChildren' | 'mutate'>;
  /** Azure identity of VMs with Arc on (onboarding at create, `vm.identity` after it). */
  readonly identity?: IdentityPorts;
}

/** VM repository (watch-backed), VM and node use cases, the VM job kinds and the API module. */
export async function buildVms(deps: VmsDeps): Promise<Vms> {
  const { config } = deps;
  const repo = createKubeVmRepository({ client: deps.kube, controlNamespace: config.controlNamespace });
  await repo.start();
  const identity = deps.identity;
  const service = createVmService({
    repo,
    tenants: deps.tenantRepo,
    images: deps.images.locator,
    operations: deps.operations,
    ...(identity?.onboarding === undefined ? {} : { onboarding: identity.onboarding }),
  });
  const children = async (id: string) => deps.operationStore.listChildren(id);
  const identityJobs =
    identity === undefined
      ? []
      : [
          vmIdentityJob({
            repo,
            tenants: deps.tenantRepo,
            // Waiting machines share one list call per refresh instead of one read each.
            arcMachines: withListedMachineStatus(identity.arcMachines, { maxAgeMs: identity.sim === undefined ? 5_000 : 100 }),
            access: identity.access,
            settings: identity.settings,
            store: deps.operationStore,
            recheckMs: identity.sim === undefined ? 5_000 : VM_RECHECK_MS,
            connectTimeoutMs: config.arcConnectTimeoutMs,
          }),
        ];
  const nodes = createNodeService({ repo, operations: deps.operations });
  const jobDeps = { repo, recheckMs: VM_RECHECK_MS };
  return {
    repo,
    service,
    nodes,
    jobKinds: [
      // Only VMs that got the onboarding user-data can connect: without it, the Arc flag is only recorded.
      vmCreateJob({ ...jobDeps, ...(identity?.onboarding === undefined ? {} : { chainIdentity: identityChainer({ operations: deps.operations, children }) }) }),
      ...identityJobs,
      ...vmPowerJobs(jobDeps),
      vmMigrateJob(jobDeps),
      vmDeleteJob({ ...jobDeps, ...(identity === undefined ? {} : { arcMachines: identity.arcMachines }) }),
      nodeEvacuateJob({ repo, vms: service, children: async (id) => (await deps.operationStore.listChildren(id)).map(toOperation), recheckMs: VM_RECHECK_MS * 2 }),
    ],
    module: vmsModule(service, nodes, deps.images.service),
    close: () => repo.close(),
  };
}
