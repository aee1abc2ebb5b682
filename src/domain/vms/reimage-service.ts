import type { Principal } from '../auth/principal.js';
import type { ImageLocator } from '../images/image-repository.js';
import type { ImageRef } from '../images/image.js';
import type { Operation } from '../operations/operation.js';
import type { OperationService } from '../operations/operation-service.js';
import { ConflictError } from '../shared/errors.js';
import type { TenantRepository } from '../tenants/tenant-repository.js';
import { reimageToInput, VM_REIMAGE_KIND } from './reimage.js';
import { vmTargetId, type VmAccessPlan, type VmRecord } from './vm.js';
import type { VmLoader } from './vm-actions.js';
import { refuseOverQuota, type QuotaNeeds } from './vm-quota.js';
import type { VmRepository } from './vm-repository.js';
import { cloudInitIssues, diskIssues, refuseIssues, sshKeyIssues } from './vm-rules.js';
import { resolveVmImage, stageCloudInit, type VmServiceDeps } from './vm-service.js';
import { deriveVmState } from './vm-state.js';

export interface ReimageServiceDeps {
  readonly load: VmLoader;
  readonly repo: Pick<VmRepository, 'putCloudInit'>;
  /** Usage with the tenant's snapshots counted (see `usageWithSnapshots`). */
  readonly tenants: Pick<TenantRepository, 'usage'>;
  readonly images: ImageLocator;
  readonly operations: Pick<OperationService, 'start'>;
  /** Azure Arc onboarding: a reimaged VM with Arc on re-onboards under its machine (absent: such VMs are refused with 409). */
  readonly onboarding?: VmServiceDeps['onboarding'];
}

export interface ReimageVmInput {
  /** Default: the VM's own image. Another image needs `vm.update` (members may only reset to their VM's image). */
  readonly image?: ImageRef;
  /** A new cloud-init's keys (required to re-onboard an Arc VM with keys; default: the current cloud-init stays). */
  readonly sshPublicKeys?: readonly string[];
  /** A new cloud-init's extra user-data (it may hold credentials: it goes into the Secret only). */
  readonly cloudInit?: string;
}

/** For other use cases (labs): the parent operation and the access plan of the VM's identity. */
export interface ReimageOptions {
  readonly parentId?: string;
  readonly access?: VmAccessPlan;
}

/** What a reimage takes from the quota while it runs: the new disk, beside the old until the old goes. */
export function reimageNeeds(diskGi: number, disks = 1): QuotaNeeds {
  return { storageGi: diskGi * disks, persistentVolumeClaims: disks };
}

/** States in which a VM's disk may be replaced (it is stopped first when it runs). */
const REIMAGEABLE = new Set(['Running', 'Stopped', 'Stopping', 'Starting', 'Paused', 'Error']);

export type ReimageService = ReturnType<typeof createReimageService>;

/**
 * Reimage ("reset") of a VM: its root disk replaced by a fresh copy of an image, keeping the VM
 * object, its name, owner, Arc machine (the same machine name, so the same ARM resource and its
 * role assignments: access grants stay) and cloud-init. Resetting to the VM's own image needs
 * `vm.power` (what members hold on their own VM: a student resets their VM; another's is 404);
 * another image needs `vm.update`. Refused with 409 `ACTION_NOT_ALLOWED` while the VM is
 * provisioning, migrating or being deleted, `IMAGE_NOT_READY`, 422 `IMAGE_NOT_FOUND`, 400
 * `VALIDATION_FAILED` (the image is larger than the disk), `QUOTA_EXCEEDED` when the new disk does
 * not fit beside the old one (the old goes once the new is ready), and
 * `ARC_ONBOARDING_NOT_CONFIGURED` for a VM with Arc on where onboarding is not configured.
 */
export function createReimageService(deps: ReimageServiceDeps) {
  const { load } = deps;

  /** Refuses a VM whose disk cannot be replaced now. */
  function refuseState(vm: VmRecord): void {
    const d = deriveVmState(vm.observation);
    if (vm.deleting || !REIMAGEABLE.has(d.state) || vm.migration?.phase === 'Running') {
      throw new ConflictError('ACTION_NOT_ALLOWED', `Cannot reimage VM '${vm.name}' while it is ${vm.deleting ? 'being deleted' : d.state}.`, {
        details: { state: vm.deleting ? 'Deleting' : d.state, availableActions: [...d.availableActions] },
      });
    }
  }

  return {
    /** Starts `vm.reimage` (see {@link createReimageService}). */
    async reimage(p: Principal, tenantId: string, name: string, input: ReimageVmInput = {}, options: ReimageOptions = {}): Promise<Operation> {
      const { tenant, vm } = await load(p, tenantId, name, input.image === undefined ? 'vm.power' : 'vm.update');
      refuseIssues('The reimage is not acceptable.', [
        ...(input.sshPublicKeys === undefined ? [] : sshKeyIssues(input.sshPublicKeys)),
        ...cloudInitIssues(input.cloudInit),
      ]);
      refuseState(vm);
      const ref = input.image ?? vm.image;
      const image = await resolveVmImage(deps.images, tenantId, ref);
      refuseIssues('The disk is too small.', diskIssues(vm.diskGi, image.sizeGi));
      if (!image.ready) throw new ConflictError('IMAGE_NOT_READY', `Image '${ref.name}' is still importing; reimage once it is Ready.`);
      if (vm.arc && deps.onboarding === undefined) {
        throw new ConflictError(
          'ARC_ONBOARDING_NOT_CONFIGURED',
          `VM '${name}' has Azure Arc on and onboarding is not configured on this platform: its agent could not re-onboard after a reimage.`,
        );
      }
      refuseOverQuota(reimageNeeds(vm.diskGi), tenant.quota, await deps.tenants.usage(tenantId), `The new disk of VM '${name}'`);
      // A VM with Arc on gets a fresh onboarding token (the new disk has no agent identity), a
      // published image (another VM's disk) is generalised on first boot; other VMs keep their
      // cloud-init unless new keys or user-data are given.
      if (vm.arc || image.generalize || input.sshPublicKeys !== undefined || input.cloudInit !== undefined) {
        await stageCloudInit(deps, {
          tenant: vm.tenant,
          name,
          id: vm.id,
          arc: vm.arc,
          base: {
            hostname: name,
            sshPublicKeys: input.sshPublicKeys ?? [],
            ...(input.cloudInit === undefined ? {} : { extra: input.cloudInit }),
            ...(image.generalize ? { generalize: true } : {}),
          },
        });
      }
      return deps.operations.start(p, {
        kind: VM_REIMAGE_KIND,
        tenant: tenantId,
        target: { type: 'vm', id: vmTargetId(tenantId, name), name },
        ownerId: vm.ownerId,
        ...(options.parentId === undefined ? {} : { parentId: options.parentId }),
        input: reimageToInput({
          tenant: tenantId,
          name,
          ownerId: vm.ownerId,
          source: { image: { scope: ref.scope, name: ref.name }, namespace: image.namespace, pvcName: image.pvcName },
          wasRunning: vm.runStrategy !== 'Halted',
          arc: vm.arc,
          ...(vm.lab === undefined ? {} : { lab: vm.lab }),
          ...(options.access === undefined ? {} : { access: options.access }),
        }),
      });
    },
  };
}
