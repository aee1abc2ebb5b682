import type { Permission } from '../auth/policy.js';
import type { Principal } from '../auth/principal.js';
import type { Operation } from '../operations/operation.js';
import type { OperationService } from '../operations/operation-service.js';
import { ConflictError } from '../shared/errors.js';
import type { TenantRepository } from '../tenants/tenant-repository.js';
import type { Tenant } from '../tenants/tenant.js';
import { VM_MIGRATE_KIND, VM_POWER_KINDS, vmTargetId, type VmRecord } from './vm.js';
import { computeNeeds, refuseOverQuota, refuseWithoutHeadroom } from './vm-quota.js';
import type { VmPowerAction } from './vm-repository.js';
import { deriveVmState, refuseAction, type DerivedState, type VmAction } from './vm-state.js';

/** Loads a VM the caller may see (others' VMs are 404 for members) and checks `permission` on it. */
export type VmLoader = (p: Principal, tenant: string, name: string, permission: Permission) => Promise<{ tenant: Tenant; vm: VmRecord }>;

/**
 * Says whether `p` may start `vm` beyond what the policy and the state say (a lab student's usage
 * quota); throws the refusal. Lab use: `src/domain/usage/quota-gate.ts`.
 */
export interface StartGate {
  refuseStart(p: Principal, vm: VmRecord): Promise<void>;
}

export interface VmActionDeps {
  readonly tenants: Pick<TenantRepository, 'usage'>;
  readonly operations: Pick<OperationService, 'start'>;
  readonly load: VmLoader;
  /** Checked before a start (absent: nothing more to check). */
  readonly startGate?: StartGate;
}

function refuse(vm: VmRecord, d: DerivedState, action: VmAction): void {
  const why = refuseAction(d, action);
  if (why === undefined) return;
  const details = { state: d.state, availableActions: [...d.availableActions], ...(d.reason === undefined ? {} : { reason: d.reason }) };
  if (action === 'migrate' && !d.liveMigratable) throw new ConflictError('NOT_LIVE_MIGRATABLE', why, { details });
  throw new ConflictError('ACTION_NOT_ALLOWED', `Cannot ${action} VM '${vm.name}': ${why}`, { details });
}

/** Input of power and migrate operations: the VM and the instance running when it was asked. */
function actionInput(vm: VmRecord) {
  return { tenant: vm.tenant, name: vm.name, ...(vm.instance === undefined ? {} : { instanceUid: vm.instance.uid }) };
}

/** Power actions and live migration: refused with 409 when the VM's state does not allow them now. */
export function vmActionUseCases(deps: VmActionDeps) {
  const { load, tenants, operations } = deps;
  return {
    /**
     * Starts, stops or restarts a VM as an operation (`vm.start`, `vm.stop`, `vm.restart`) that
     * asks KubeVirt and waits for the target state. Starting checks the quota has room for the VM's pod.
     * `reason` (the platform's own stops: `AutoShutdown:Idle`, `UsageQuota:Exhausted`) goes into the
     * operation's input and, once done, its result.
     */
    async power(p: Principal, tenantId: string, name: string, action: VmPowerAction, options: { readonly reason?: string } = {}): Promise<Operation> {
      const { tenant, vm } = await load(p, tenantId, name, 'vm.power');
      refuse(vm, deriveVmState(vm.observation), action);
      if (action === 'start') await deps.startGate?.refuseStart(p, vm);
      if (action === 'start') refuseOverQuota(computeNeeds(vm), tenant.quota, await tenants.usage(tenantId), `Starting VM '${name}'`);
      return operations.start(p, {
        kind: VM_POWER_KINDS[action],
        tenant: tenantId,
        target: { type: 'vm', id: vmTargetId(tenantId, name), name },
        ownerId: vm.ownerId,
        input: { ...actionInput(vm), ...(options.reason === undefined ? {} : { reason: options.reason }) },
      });
    },

    /**
     * Live-migrates a running VM to another node (`vm.migrate`). Refused with 409 when the VM is
     * not live-migratable (NOT_LIVE_MIGRATABLE), not running (ACTION_NOT_ALLOWED), or the quota has
     * no room for the target pod (MIGRATION_NEEDS_HEADROOM). `parentId` ties it to a node evacuation.
     */
    async migrate(p: Principal, tenantId: string, name: string, options: { readonly parentId?: string } = {}): Promise<Operation> {
      const { tenant, vm } = await load(p, tenantId, name, 'vm.migrate');
      refuse(vm, deriveVmState(vm.observation), 'migrate');
      refuseWithoutHeadroom(vm, tenant.quota, await tenants.usage(tenantId));
      return operations.start(p, {
        kind: VM_MIGRATE_KIND,
        tenant: tenantId,
        target: { type: 'vm', id: vmTargetId(tenantId, name), name },
        ownerId: vm.ownerId,
        ...(options.parentId === undefined ? {} : { parentId: options.parentId }),
        input: actionInput(vm),
      });
    },
  };
}
