import type { SimAzure } from '../adapters/sim/azure/index.js';
import { vmAccessModule } from '../api/modules/index.js';
import type { TenantRepository } from '../domain/tenants/tenant-repository.js';
import { createVmAccessService, type VmAccessService } from '../domain/vms/vm-access.js';
import type { VmRepository } from '../domain/vms/vm-repository.js';
import { createArcMachineJanitor } from '../jobs/arc-machine-janitor.js';
import { defineArea, type Platform } from './area.js';
import type { AzurePorts } from './azure-arm.js';

/** Azure identity for VMs: the world's Azure ports (simulated or ARM) and the access use cases. */
export interface Identity extends AzurePorts {
  /** The simulated Azure of the embedded default; undefined against ARM. */
  readonly sim: SimAzure | undefined;
  readonly service: VmAccessService;
}

/**
 * Access grants on VMs (Azure AD SSH login through role assignments on their Arc machines): use cases
 * and API module; the janitor removing this installation's Arc machines whose VM is gone (leader).
 */
export const identityArea = defineArea({
  name: 'identity',
  needs: ['vms'],
  async build(
    ctx: Pick<Platform, 'config' | 'logger' | 'operationStore'> & {
      readonly world: Pick<Platform['world'], 'azure' | 'simAzure'>;
      readonly tenantRepo: Pick<TenantRepository, 'get'>;
      readonly vms: { readonly repo: Pick<VmRepository, 'get'> };
    },
  ) {
    const ports = ctx.world.azure;
    const service = createVmAccessService({ repo: ctx.vms.repo, tenants: ctx.tenantRepo, access: ports.access, settings: ports.settings });
    const exports: Identity = { ...ports, sim: ctx.world.simAzure, service };
    // Only an installation that names itself on its machines can tell which orphans are its own.
    const cluster = ports.onboarding?.target.cluster;
    const arcJanitor =
      cluster === undefined
        ? []
        : [
            createArcMachineJanitor({
              arcMachines: ports.arcMachines,
              vms: ctx.vms.repo,
              operations: ctx.operationStore,
              cluster,
              logger: ctx.logger.child({ component: 'arc-machine-janitor' }),
              intervalMs: ctx.config.janitorIntervalMs,
            }),
          ];
    return { exports, api: [vmAccessModule(service)], leaderLoops: arcJanitor };
  },
});
