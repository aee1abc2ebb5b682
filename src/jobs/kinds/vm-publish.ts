import type { ImageRepository } from '../../domain/images/image-repository.js';
import { NotFoundError, UpstreamRejectedError } from '../../domain/shared/errors.js';
import type { OperationRecord } from '../../domain/operations/operation.js';
import { VM_PUBLISH_KIND } from '../../domain/vms/vm-copy.js';
import type { VmCopyRepository } from '../../domain/vms/vm-copy-repository.js';
import { optionalString, vmOfInput } from '../../domain/vms/vm-job-input.js';
import type { JobKind } from '../job-kind.js';
import { refuseTimeout, settings, stopFirstSteps, VM_RETRY, type VmJobDeps } from './vm-job-support.js';

export interface PublishJobDeps extends VmJobDeps {
  readonly copies: VmCopyRepository;
  readonly images: Pick<ImageRepository, 'get' | 'delete'>;
}

function publishOfInput(op: OperationRecord) {
  const { tenant, name } = vmOfInput(op.input);
  const i = op.input;
  return {
    tenant,
    name,
    image: optionalString(i, 'image') ?? '',
    displayName: optionalString(i, 'displayName') ?? '',
    version: typeof i['version'] === 'number' ? i['version'] : 1,
    sizeGi: typeof i['sizeGi'] === 'number' ? i['sizeGi'] : 0,
    storageClass: optionalString(i, 'storageClass') ?? 'kv-standard',
    stopFirst: i['stopFirst'] === true,
    owner: { scope: 'tenant', tenant } as const,
  };
}

/**
 * `vm.publish`, in steps: `stop` (asks KubeVirt to stop the VM when `stopFirst`; without it, a VM
 * started meanwhile fails the operation with `ACTION_NOT_ALLOWED`), `wait-stopped` (a disk is
 * copied only while nothing writes to it), `replace` (deletes the previous version's DataVolume,
 * one not written by this operation), `copy-disk` (the image DataVolume: a CDI clone of the VM's
 * root disk, annotated with its source VM, version and `generalize`) and `wait` (until CDI says
 * Succeeded; Failed fails the operation with `PUBLISH_FAILED`). The VM stays stopped.
 */
export function vmPublishJob(deps: PublishJobDeps): JobKind {
  const { recheckMs } = settings(deps);
  return {
    kind: VM_PUBLISH_KIND,
    firstStep: 'stop',
    retry: VM_RETRY,
    steps: {
      ...stopFirstSteps(deps, { action: 'publish', next: 'replace', stopFirst: (op) => publishOfInput(op).stopFirst }),
      replace: async ({ operation }) => {
        const p = publishOfInput(operation);
        const previous = await deps.images.get(p.owner, p.image);
        if (previous !== undefined && previous.operationId !== operation.id) {
          await deps.images.delete(p.owner, p.image);
          return { type: 'recheck', delayMs: recheckMs, progress: 32 };
        }
        return { type: 'next', step: 'copy-disk', progress: 35 };
      },
      'copy-disk': async ({ operation }) => {
        const p = publishOfInput(operation);
        const disk = await deps.copies.rootDisk(p.tenant, p.name);
        if (disk === undefined) throw new NotFoundError('vm', p.name);
        await deps.copies.publish({
          tenant: p.tenant,
          image: p.image,
          displayName: p.displayName,
          vm: p.name,
          sourcePvc: disk,
          version: p.version,
          sizeGi: p.sizeGi,
          storageClass: p.storageClass,
          operationId: operation.id,
        });
        return { type: 'next', step: 'wait', progress: 40 };
      },
      wait: async ({ operation }) => {
        const p = publishOfInput(operation);
        const image = await deps.images.get(p.owner, p.image);
        if (image?.phase === 'Ready' && image.operationId === operation.id) {
          return { type: 'done', result: { tenant: p.tenant, name: p.name, image: p.image, version: p.version, sizeGi: image.sizeGi } };
        }
        if (image?.phase === 'Failed') {
          throw new UpstreamRejectedError(
            'PUBLISH_FAILED',
            `Publishing VM '${p.name}' as image '${p.image}' failed: ${image.failureReason ?? 'no reason given'}.`,
            {
              details: { image: p.image },
            },
          );
        }
        refuseTimeout(deps, operation, `the disk of VM '${p.name}' to be copied into image '${p.image}'`);
        return { type: 'recheck', delayMs: recheckMs, progress: 40 + Math.round((image?.progress ?? 0) / 2) };
      },
    },
  };
}
