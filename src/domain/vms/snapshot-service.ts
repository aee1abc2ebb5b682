import { randomBytes } from 'node:crypto';
import type { Principal } from '../auth/principal.js';
import type { Operation } from '../operations/operation.js';
import type { OperationService } from '../operations/operation-service.js';
import { ConflictError, NotFoundError } from '../shared/errors.js';
import { systemClock, type Clock } from '../shared/ids.js';
import type { TenantRepository } from '../tenants/tenant-repository.js';
import {
  DEFAULT_SNAPSHOT_LIMITS,
  generatedSnapshotName,
  snapshotNameIssues,
  VM_RESTORE_KIND,
  VM_SNAPSHOT_KIND,
  type SnapshotLimits,
  type SnapshotRecord,
} from './snapshot.js';
import { usageWithSnapshots } from './snapshot-quota.js';
import type { SnapshotRepository } from './snapshot-repository.js';
import { vmTargetId } from './vm.js';
import type { VmLoader } from './vm-actions.js';
import { refuseOverQuota } from './vm-quota.js';
import { refuseIssues } from './vm-rules.js';
import { deriveVmState } from './vm-state.js';
import type { Precondition } from '../shared/precondition.js';

export interface SnapshotServiceDeps {
  /** Loads the VM a snapshot route is about (see `createVmLoader`). */
  readonly load: VmLoader;
  readonly tenants: Pick<TenantRepository, 'usage'>;
  readonly snapshots: SnapshotRepository;
  readonly operations: Pick<OperationService, 'start'>;
  readonly limits?: SnapshotLimits;
  readonly clock?: Clock;
  /** Suffix of generated names (default 4 random hex digits). */
  readonly suffix?: () => string;
}

export interface CreateSnapshotInput {
  /** DNS label unique in the tenant; generated (`<vm>-<yyyymmdd>-<hhmmss>-<hex>`) when absent. */
  readonly name?: string;
}

export interface RestoreInput {
  readonly snapshot: string;
  /** Stop the VM first when it runs (default false: a VM that is not stopped is refused with 409). */
  readonly stopFirst?: boolean;
}

export type SnapshotService = ReturnType<typeof createSnapshotService>;

/**
 * Snapshots of a VM and restores from them. Reading needs `vm.read` on the VM; taking, deleting
 * and restoring need `vm.update` (they change what the VM's disk holds or the tenant's storage):
 * tenant owners and `vms.manage` integrations, not members (students), whose role has `vm.power`
 * only. Every route authorizes on the VM first (another tenant's VM, or for members another's
 * VM, is 404), then refuses with 409 `SNAPSHOTS_NOT_SUPPORTED` on a cluster that cannot snapshot.
 */
export function createSnapshotService(deps: SnapshotServiceDeps) {
  const { load, snapshots, operations } = deps;
  const limits = deps.limits ?? DEFAULT_SNAPSHOT_LIMITS;
  const clock = deps.clock ?? systemClock;
  const suffix = deps.suffix ?? (() => randomBytes(2).toString('hex'));

  async function refuseUnsupported(): Promise<void> {
    const s = await snapshots.support();
    if (!s.supported) throw new ConflictError('SNAPSHOTS_NOT_SUPPORTED', `This cluster cannot snapshot VMs: ${s.reason}`);
  }

  /** The VM's snapshot `name` (another VM's is 404 here: names are per tenant, routes per VM). */
  async function snapshotOf(tenant: string, vm: string, name: string): Promise<SnapshotRecord> {
    const s = await snapshots.get(tenant, name);
    if (s === undefined || s.vm !== vm) throw new NotFoundError('snapshot', name);
    return s;
  }

  return {
    limits,

    /** The VM's snapshots, sorted by name (at most the per-VM limit, so not paged). */
    async list(p: Principal, tenant: string, vm: string): Promise<readonly SnapshotRecord[]> {
      await load(p, tenant, vm, 'vm.read');
      await refuseUnsupported();
      return snapshots.list(tenant, vm);
    },

    async get(p: Principal, tenant: string, vm: string, name: string): Promise<SnapshotRecord> {
      await load(p, tenant, vm, 'vm.read');
      await refuseUnsupported();
      return snapshotOf(tenant, vm, name);
    },

    /**
     * Takes a snapshot of the VM (running or not) as an operation (`vm.snapshot`) that ends once
     * KubeVirt says it is ready to use. Refused with 409 `SNAPSHOT_LIMIT_REACHED` when the VM or
     * the tenant has as many as allowed, `SNAPSHOT_EXISTS` for a name taken in the tenant, and
     * `QUOTA_EXCEEDED` when its storage (the VM's disk size) does not fit beside the tenant's disks
     * and other snapshots.
     */
    async create(p: Principal, tenantId: string, vmName: string, input: CreateSnapshotInput = {}): Promise<Operation> {
      const { tenant, vm } = await load(p, tenantId, vmName, 'vm.update');
      if (input.name !== undefined) refuseIssues('The snapshot is not acceptable.', snapshotNameIssues(input.name));
      await refuseUnsupported();
      const name = input.name ?? generatedSnapshotName(vmName, clock.now(), suffix());
      const all = await snapshots.list(tenantId);
      if (all.some((s) => s.name === name)) {
        throw new ConflictError('SNAPSHOT_EXISTS', `A snapshot named '${name}' already exists in tenant '${tenantId}'.`);
      }
      const ofVm = all.filter((s) => s.vm === vmName).length;
      if (ofVm >= limits.perVm) {
        throw new ConflictError('SNAPSHOT_LIMIT_REACHED', `VM '${vmName}' has ${ofVm} snapshots, the most a VM may have; delete one first.`, {
          details: { scope: 'vm', limit: limits.perVm },
        });
      }
      if (all.length >= limits.perTenant) {
        throw new ConflictError(
          'SNAPSHOT_LIMIT_REACHED',
          `Tenant '${tenantId}' has ${all.length} snapshots, the most a tenant may have; delete one first.`,
          { details: { scope: 'tenant', limit: limits.perTenant } },
        );
      }
      const usage = await usageWithSnapshots(deps.tenants, snapshots).usage(tenantId);
      refuseOverQuota({ storageGi: vm.diskGi }, tenant.quota, usage, `A snapshot of VM '${vmName}'`);
      return operations.start(p, {
        kind: VM_SNAPSHOT_KIND,
        tenant: tenantId,
        target: { type: 'vm', id: vmTargetId(tenantId, vmName), name: vmName },
        ownerId: vm.ownerId,
        input: { tenant: tenantId, name: vmName, snapshot: name, sizeGi: vm.diskGi },
      });
    },

    /** Deletes a snapshot (KubeVirt removes its volume snapshots); its storage no longer counts. */
    async delete(p: Principal, tenant: string, vm: string, name: string, precondition?: Precondition<SnapshotRecord>): Promise<void> {
      await load(p, tenant, vm, 'vm.update');
      await refuseUnsupported();
      precondition?.(await snapshotOf(tenant, vm, name));
      await snapshots.delete(tenant, name);
    },

    /**
     * Restores the VM's disks from one of its snapshots as an operation (`vm.restore`). The VM must
     * be stopped (409 `ACTION_NOT_ALLOWED` otherwise) unless `stopFirst`, when the operation stops
     * it first; it stays stopped afterwards. 409 `SNAPSHOT_NOT_READY` for a snapshot not ready to use.
     */
    async restore(p: Principal, tenantId: string, vmName: string, input: RestoreInput): Promise<Operation> {
      const { vm } = await load(p, tenantId, vmName, 'vm.update');
      refuseIssues('The restore is not acceptable.', snapshotNameIssues(input.snapshot, '/snapshot'));
      await refuseUnsupported();
      const snap = await snapshotOf(tenantId, vmName, input.snapshot);
      if (!snap.readyToUse) {
        throw new ConflictError('SNAPSHOT_NOT_READY', `Snapshot '${snap.name}' is ${snap.phase}, not ready to use; restore from a ready snapshot.`, {
          details: { phase: snap.phase },
        });
      }
      const d = deriveVmState(vm.observation);
      const stopFirst = input.stopFirst === true;
      if (d.state !== 'Stopped' && !stopFirst) {
        throw new ConflictError(
          'ACTION_NOT_ALLOWED',
          `Cannot restore VM '${vmName}' while it is ${d.state}: stop it first, or pass stopFirst: true.`,
          {
            details: { state: d.state, availableActions: [...d.availableActions] },
          },
        );
      }
      return operations.start(p, {
        kind: VM_RESTORE_KIND,
        tenant: tenantId,
        target: { type: 'vm', id: vmTargetId(tenantId, vmName), name: vmName },
        ownerId: vm.ownerId,
        input: { tenant: tenantId, name: vmName, snapshot: snap.name, stopFirst },
      });
    },
  };
}
