import { IMAGE_IMPORT_KIND, specFromInput } from '../../domain/images/image-import.js';
import type { ImageRepository } from '../../domain/images/image-repository.js';
import { ConflictError, UnprocessableError } from '../../domain/shared/errors.js';
import type { JobKind } from '../job-kind.js';

export interface ImageImportJobDeps {
  readonly repo: Pick<ImageRepository, 'create' | 'get'>;
  /** Delay between looks at the import's progress, ms (default 2000). */
  readonly followIntervalMs?: number;
}

/**
 * `image.import`: creates the image's DataVolume (a retry finds its own object: the operation id
 * is on it), then follows CDI's `status.progress` with delayed re-checks until Succeeded (done)
 * or Failed / an importer that keeps restarting (fails with CDI's reason, code IMAGE_IMPORT_FAILED).
 */
export function imageImportJob(deps: ImageImportJobDeps): JobKind {
  const interval = deps.followIntervalMs ?? 2_000;
  return {
    kind: IMAGE_IMPORT_KIND,
    firstStep: 'create-datavolume',
    retry: { attempts: 6, baseDelayMs: 1_000, maxDelayMs: 30_000 },
    steps: {
      'create-datavolume': async ({ operation }) => {
        await deps.repo.create(specFromInput(operation.input, operation.id));
        return { type: 'next', step: 'follow-import', progress: 1, delayMs: Math.min(interval, 500) };
      },
      'follow-import': async ({ operation }) => {
        const spec = specFromInput(operation.input, operation.id);
        const image = await deps.repo.get(spec.owner, spec.name);
        if (image === undefined) {
          throw new ConflictError('IMAGE_DELETED', `Image '${spec.name}' was deleted while it was being imported.`);
        }
        if (image.operationId !== undefined && image.operationId !== operation.id) {
          throw new ConflictError('IMAGE_EXISTS', `Image '${spec.name}' belongs to another import now.`);
        }
        if (image.phase === 'Ready') {
          return {
            type: 'done',
            result: {
              image: image.name,
              scope: image.scope,
              ...(image.tenant === undefined ? {} : { tenant: image.tenant }),
              phase: image.phase,
              sizeGi: image.sizeGi,
            },
          };
        }
        if (image.phase === 'Failed') {
          throw new UnprocessableError('IMAGE_IMPORT_FAILED', `The import of '${spec.name}' failed: ${image.failureReason ?? 'no reason given'}`, {
            details: { reason: image.failureReason ?? '' },
          });
        }
        // Never backwards (a restarted importer starts again from 0 %), never 100 before done.
        return { type: 'recheck', delayMs: interval, progress: Math.min(99, Math.max(1, operation.progress.percent, image.progress)) };
      },
    },
  };
}
