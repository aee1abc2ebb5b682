import { rootDiskName } from '../../domain/vms/vm-disk-name.js';
import { ConflictError, UpstreamRejectedError } from '../../domain/shared/errors.js';
import type { OperationRecord } from '../../domain/operations/operation.js';
import type { OperationService } from '../../domain/operations/operation-service.js';
import { reimageOfInput, VM_REIMAGE_KIND, type VmDisks } from '../../domain/vms/reimage.js';
import { VM_IDENTITY_KIND, vmTargetId } from '../../domain/vms/vm.js';
import { identityInput } from '../../domain/vms/vm-job-input.js';
import type { JobKind } from '../job-kind.js';
import { systemPrincipal } from './lab-job-support.js';
import { refuseTimeout, settings, VM_RETRY, vmOf, type VmJobDeps } from './vm-job-support.js';

export interface ReimageJobDeps extends VmJobDeps {
  readonly disks: VmDisks;
  readonly operations: Pick<OperationService, 'start'>;
  readonly children: (parentId: string) => Promise<readonly OperationRecord[]>;
}

/**
 * `vm.reimage`, in steps the operation's progress shows: `stop` (asks KubeVirt to stop a VM that
 * runs), `wait-stopped`, `replace-disk` (points the VM's root disk at a new DataVolume named after
 * the operation, cloned from the image: KubeVirt creates it from the template, so a re-run finds
 * its own), `wait-disk` (until CDI says Succeeded; Failed fails the operation with
 * `REIMAGE_FAILED`), `cleanup` (deletes the old disk, places the staged cloud-init: a VM with Arc
 * on gets a fresh onboarding token under the same machine name) and `start` (starts the VM again
 * when it ran before; with Arc on, a `vm.identity` child waits for the agent to reconnect the same
 * Arc machine and re-grants access). The VM object, name, owner and Arc machine stay.
 */
export function vmReimageJob(deps: ReimageJobDeps): JobKind {
  const { recheckMs } = settings(deps);
  const diskOf = (op: OperationRecord) => {
    const i = reimageOfInput(op.input);
    return rootDiskName({ name: i.name, id: '', operationId: op.id });
  };
  return {
    kind: VM_REIMAGE_KIND,
    firstStep: 'stop',
    retry: VM_RETRY,
    steps: {
      stop: async ({ operation }) => {
        const { tenant, name, vm } = await vmOf(deps.repo, operation);
        if (vm.runStrategy !== 'Halted') {
          try {
            await deps.repo.update(tenant, name, { running: false });
          } catch (err) {
            if (!(err instanceof ConflictError)) throw err;
          }
        }
        return { type: 'next', step: 'wait-stopped', progress: 10 };
      },
      'wait-stopped': async ({ operation }) => {
        const { name, vm } = await vmOf(deps.repo, operation);
        if (vm.runStrategy === 'Halted' && vm.instance === undefined) return { type: 'next', step: 'replace-disk', progress: 20 };
        refuseTimeout(deps, operation, `VM '${name}' to stop before its reimage`);
        return { type: 'recheck', delayMs: recheckMs, progress: 15 };
      },
      'replace-disk': async ({ operation }) => {
        const i = reimageOfInput(operation.input);
        await deps.disks.replaceRootDisk(i.tenant, i.name, diskOf(operation), i.source);
        return { type: 'next', step: 'wait-disk', progress: 30 };
      },
      'wait-disk': async ({ operation }) => {
        const i = reimageOfInput(operation.input);
        const disk = await deps.disks.rootDisk(i.tenant, diskOf(operation));
        if (disk?.phase === 'Succeeded') return { type: 'next', step: 'cleanup', progress: 70 };
        if (disk?.phase === 'Failed') {
          throw new UpstreamRejectedError('REIMAGE_FAILED', `The new disk of VM '${i.name}' failed: ${disk.failure ?? 'CDI reported Failed'}.`, {
            details: { disk: disk.name },
          });
        }
        refuseTimeout(deps, operation, `the new disk of VM '${i.name}'`);
        return { type: 'recheck', delayMs: recheckMs, progress: 50 };
      },
      cleanup: async ({ operation }) => {
        const i = reimageOfInput(operation.input);
        await deps.disks.pruneDisks(i.tenant, i.name);
        await deps.repo.adoptCloudInit(i.tenant, i.name);
        return { type: 'next', step: 'start', progress: 80 };
      },
      start: async ({ operation }) => {
        const i = reimageOfInput(operation.input);
        const result = {
          tenant: i.tenant,
          name: i.name,
          image: { ...i.source.image },
          disk: diskOf(operation),
          ...(i.lab === undefined ? {} : { lab: i.lab }),
        };
        if (!i.wasRunning) return { type: 'done', result: { ...result, running: false } };
        await deps.repo.update(i.tenant, i.name, { running: true });
        if (i.arc && !(await deps.children(operation.id)).some((c) => c.kind === VM_IDENTITY_KIND)) {
          await deps.operations.start(systemPrincipal(operation), {
            kind: VM_IDENTITY_KIND,
            tenant: i.tenant,
            target: { type: 'vm', id: vmTargetId(i.tenant, i.name), name: i.name },
            ownerId: i.ownerId,
            parentId: operation.id,
            input: identityInput({ tenant: i.tenant, name: i.name, ownerId: i.ownerId, lab: i.lab, access: i.access }),
          });
        }
        return { type: 'done', result: { ...result, running: true, ...(i.arc ? { identityPending: true } : {}) } };
      },
    },
  };
}
