import { randomUUID } from 'node:crypto';
import { authorize } from '../auth/policy.js';
import type { Principal } from '../auth/principal.js';
import { imageId, type Image, type ImageOwner } from '../images/image.js';
import type { ImageRepository } from '../images/image-repository.js';
import { imageNameIssues } from '../images/image-rules.js';
import type { Operation } from '../operations/operation.js';
import type { OperationService } from '../operations/operation-service.js';
import { ConflictError } from '../shared/errors.js';
import { uuidV5 } from '../shared/ids.js';
import type { TenantRepository } from '../tenants/tenant-repository.js';
import { VM_CLONE_KIND, VM_PUBLISH_KIND } from './vm-copy.js';
import type { VmCopyRepository } from './vm-copy-repository.js';
import { vmTargetId, type VmAccessPlan } from './vm.js';
import type { VmLoader } from './vm-actions.js';
import { accessToInput } from './vm-job-input.js';
import { createNeeds, refuseOverQuota } from './vm-quota.js';
import type { VmRepository } from './vm-repository.js';
import { ownerIssues, refuseIssues, sshKeyIssues, vmNameIssues } from './vm-rules.js';
import { stageCloudInit, type VmServiceDeps } from './vm-service.js';
import { deriveVmState } from './vm-state.js';

export interface CloneVmInput {
  /** The new VM's name (DNS label, at most 54 characters, free in the tenant). */
  readonly name: string;
  /** Principal id of the clone's owner; defaults to the caller. */
  readonly owner?: string;
  /** Start the clone once it exists (default true). */
  readonly running?: boolean;
  /** More authorized keys for the clone (the disk keeps the source's `authorized_keys`). */
  readonly sshPublicKeys?: readonly string[];
}

export interface PublishVmInput {
  /** The tenant image to publish to: a new image, or the next version of an existing one. */
  readonly image: string;
  /** Defaults to the existing image's, else the image name. */
  readonly displayName?: string;
  /** Stop the VM first when it is not stopped (default false: such a VM is refused with 409). */
  readonly stopFirst?: boolean;
}

export interface VmCopyServiceDeps {
  readonly load: VmLoader;
  readonly repo: Pick<VmRepository, 'get' | 'putCloudInit'>;
  /** With the tenant's snapshot storage counted (see `usageWithSnapshots`). */
  readonly tenants: Pick<TenantRepository, 'usage'>;
  readonly images: Pick<ImageRepository, 'get'>;
  readonly copies: Pick<VmCopyRepository, 'cloneSupport'>;
  readonly operations: Pick<OperationService, 'start'>;
  readonly onboarding?: VmServiceDeps['onboarding'];
  /** SMBIOS serials of clones (default random UUIDs). */
  readonly serial?: () => string;
}

export type VmCopyService = ReturnType<typeof createVmCopyService>;

/**
 * Copies of a VM: clones (new VMs of the tenant) and published images (tenant images). Both need
 * `vm.update` on the source VM (a copy reads everything its disk holds: tenant owners and
 * `vms.manage` integrations, not members) and the right to create what they make (`vm.create`,
 * `image.write`) in the same tenant: there is no way to name another tenant's VM or image (its VMs
 * are 404). Quota is checked before anything is written.
 */
export function createVmCopyService(deps: VmCopyServiceDeps) {
  const { load, operations } = deps;
  const serial = deps.serial ?? (() => randomUUID());

  return {
    /**
     * Clones a VM into a new VM of the tenant as an operation (`vm.clone`): a KubeVirt
     * VirtualMachineClone with new MAC addresses and a new SMBIOS serial; the clone gets its own
     * cloud-init Secret, written here (generalisation: new SSH host keys, machine id, Arc agent
     * identity reset; see `GENERALIZE_COMMANDS`), its own labels and owner and, with Arc on (as its
     * source), its own Arc machine through the usual `vm.identity` onboarding. Refused with 409
     * `CLONES_NOT_SUPPORTED` on a cluster that cannot clone, `VM_EXISTS` for a taken name,
     * `QUOTA_EXCEEDED` when the copy does not fit.
     */
    async clone(
      p: Principal,
      tenantId: string,
      vmName: string,
      input: CloneVmInput,
      options: { readonly parentId?: string; readonly access?: VmAccessPlan } = {},
    ): Promise<Operation> {
      const { tenant, vm } = await load(p, tenantId, vmName, 'vm.update');
      authorize(p, 'vm.create', { tenant: tenantId });
      const owner = input.owner ?? p.id;
      const keys = input.sshPublicKeys ?? [];
      refuseIssues('The clone is not acceptable.', [...vmNameIssues(input.name), ...ownerIssues(owner), ...sshKeyIssues(keys, { required: false })]);
      const support = await deps.copies.cloneSupport();
      if (!support.supported) throw new ConflictError('CLONES_NOT_SUPPORTED', `This cluster cannot clone VMs: ${support.reason}`);
      if ((await deps.repo.get(tenantId, input.name)) !== undefined) {
        throw new ConflictError('VM_EXISTS', `A VM named '${input.name}' already exists in tenant '${tenantId}'.`);
      }
      const running = input.running ?? true;
      refuseOverQuota(
        createNeeds({ cpu: vm.cpu, memoryGi: vm.memoryGi, diskGi: vm.diskGi, running }),
        tenant.quota,
        await deps.tenants.usage(tenantId),
        `A clone of VM '${vmName}'`,
      );
      const id = uuidV5(`vm:${tenantId}/${input.name}`);
      if (vm.arc && deps.onboarding === undefined) {
        throw new ConflictError(
          'ARC_ONBOARDING_NOT_CONFIGURED',
          `VM '${vmName}' has Arc on and Azure Arc onboarding is not configured on this platform: its clone could not get an Arc machine of its own.`,
        );
      }
      await stageCloudInit(
        { repo: deps.repo, ...(deps.onboarding === undefined ? {} : { onboarding: deps.onboarding }) },
        { tenant: tenantId, name: input.name, id, arc: vm.arc, base: { hostname: input.name, sshPublicKeys: keys, generalize: true } },
      );
      return operations.start(p, {
        kind: VM_CLONE_KIND,
        tenant: tenantId,
        target: { type: 'vm', id: vmTargetId(tenantId, input.name), name: input.name },
        ownerId: owner,
        ...(options.parentId === undefined ? {} : { parentId: options.parentId }),
        input: {
          tenant: tenantId,
          name: input.name,
          source: vmName,
          id,
          ownerId: owner,
          arc: vm.arc,
          running,
          serial: serial(),
          ...(vm.lab === undefined ? {} : { lab: vm.lab }),
          ...(options.access === undefined ? {} : { access: accessToInput(options.access) }),
        },
      });
    },

    /**
     * Publishes the VM's root disk as a tenant image (`vm.publish`): a CDI clone of the disk in the
     * tenant namespace, marked `generalize` (VMs from it generalise their copy on first boot) and
     * showing its source VM and version (1 for a new name, the previous version + 1 for an existing
     * image, whose disk the new version replaces). The VM must be stopped (409 `ACTION_NOT_ALLOWED`)
     * unless `stopFirst`. 409 `IMAGE_NOT_READY` while the image is still importing or being
     * published, `QUOTA_EXCEEDED` when the copy does not fit in the storage quota.
     * Lab templates call it with `parentId`.
     */
    async publish(
      p: Principal,
      tenantId: string,
      vmName: string,
      input: PublishVmInput,
      options: { readonly parentId?: string } = {},
    ): Promise<Operation> {
      const { tenant, vm } = await load(p, tenantId, vmName, 'vm.update');
      authorize(p, 'image.write', { tenant: tenantId });
      refuseIssues('The publish request is not acceptable.', [
        ...imageNameIssues(input.image, '/image'),
        ...(input.displayName !== undefined && (input.displayName.length === 0 || input.displayName.length > 200)
          ? [{ field: '/displayName', message: 'must be 1-200 characters' }]
          : []),
      ]);
      const owner: ImageOwner = { scope: 'tenant', tenant: tenantId };
      const previous: Image | undefined = await deps.images.get(owner, input.image);
      if (previous !== undefined && previous.phase === 'Importing') {
        throw new ConflictError('IMAGE_NOT_READY', `Image '${input.image}' is still being imported or published; publish again once it is Ready.`);
      }
      const d = deriveVmState(vm.observation);
      const stopFirst = input.stopFirst === true;
      if (d.state !== 'Stopped' && !stopFirst) {
        throw new ConflictError(
          'ACTION_NOT_ALLOWED',
          `Cannot publish VM '${vmName}' while it is ${d.state}: stop it first, or pass stopFirst: true.`,
          {
            details: { state: d.state, availableActions: [...d.availableActions] },
          },
        );
      }
      // The new version replaces the previous one's disk: only the growth counts.
      refuseOverQuota(
        { storageGi: Math.max(0, vm.diskGi - (previous?.sizeGi ?? 0)), persistentVolumeClaims: previous === undefined ? 1 : 0 },
        tenant.quota,
        await deps.tenants.usage(tenantId),
        `Image '${input.image}' published from VM '${vmName}'`,
      );
      const version = previous === undefined ? 1 : (previous.source.type === 'vm' ? previous.source.version : 1) + 1;
      return operations.start(p, {
        kind: VM_PUBLISH_KIND,
        tenant: tenantId,
        target: { type: 'image', id: imageId(owner, input.image), name: input.image },
        ownerId: vm.ownerId,
        ...(options.parentId === undefined ? {} : { parentId: options.parentId }),
        input: {
          tenant: tenantId,
          name: vmName,
          image: input.image,
          displayName: input.displayName ?? previous?.displayName ?? input.image,
          version,
          sizeGi: vm.diskGi,
          storageClass: vm.storageClass,
          stopFirst,
        },
      });
    },
  };
}
