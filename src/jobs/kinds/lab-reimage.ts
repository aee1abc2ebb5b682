import type { LabRepository } from '../../domain/labs/lab-repository.js';
import { studentVmName } from '../../domain/labs/lab-rules.js';
import { LAB_REIMAGE_KIND, LAB_TEMPLATE_PUBLISH_KIND, type LabTemplateService, type VmImagePublisher } from '../../domain/labs/lab-template.js';
import { isTerminal, type OperationRecord } from '../../domain/operations/operation.js';
import { DomainError, QuotaExceededError, UpstreamRejectedError } from '../../domain/shared/errors.js';
import type { OperationStore } from '../../domain/operations/operation-store.js';
import { WAIT_ON_CHILDREN, type JobKind } from '../job-kind.js';
import { LAB_RETRY, str, strings, systemPrincipal } from './lab-job-support.js';

export interface LabReimageJobDeps {
  readonly labs: Pick<LabRepository, 'get'>;
  readonly templates: Pick<LabTemplateService, 'reimageStudent' | 'adoptTemplateImage'>;
  /** Present once VMs can be published as images. */
  readonly publisher?: VmImagePublisher;
  readonly children: (parentId: string) => Promise<readonly OperationRecord[]>;
  /** Where students whose reimage could not start are kept (on the operation record). */
  readonly store: Pick<OperationStore, 'mutate'>;
  /** Delay between looks at the children, ms (default 1000). */
  readonly recheckMs?: number;
  /** Student VMs reimaged at once per lab operation (config.labs.parallelism; default 50). */
  readonly parallelism?: number;
}

const MAX_LISTED_FAILURES = 100;

/**
 * `lab.reimage`: one `vm.reimage` child per student of the input (their VM rebuilt from the lab's
 * current template image), at most `parallelism` at once. A child the quota refuses now waits for
 * those under way (each holds a second disk until its old one goes); refused with nothing under
 * way, the student is failed. Children already started are read back, never started twice. Ends
 * with `{ total, succeeded, failed: [{ student, code, reason }] }`.
 */
export function labReimageJob(deps: LabReimageJobDeps): JobKind {
  const recheckMs = deps.recheckMs ?? 1_000;
  const parallelism = Math.max(1, deps.parallelism ?? 50);
  return {
    kind: LAB_REIMAGE_KIND,
    firstStep: 'dispatch',
    retry: LAB_RETRY,
    wait: WAIT_ON_CHILDREN,
    steps: {
      dispatch: async ({ operation }) => {
        const tenant = str(operation, 'tenant');
        const name = str(operation, 'lab');
        const students = strings(operation, 'students');
        const refused = { ...((operation.input['refused'] ?? {}) as Record<string, { code: string; reason: string }>) };
        const lab = await deps.labs.get(tenant, name);
        const children = await deps.children(operation.id);
        const byStudent = new Map(children.map((c) => [String(c.input['name']), c]));
        let running = children.filter((c) => !isTerminal(c.status)).length;
        const failures: { student: string; code: string; reason: string }[] = [];
        if (lab !== undefined && lab.status.deletionRequestedAt === undefined) {
          for (const student of students) {
            const vm = studentVmName(name, student);
            if (byStudent.has(vm) || refused[student] !== undefined || failures.some((f) => f.student === student)) continue;
            if (running >= parallelism) break;
            try {
              await deps.templates.reimageStudent(systemPrincipal(operation), lab, vm, operation.id);
              running += 1;
            } catch (err) {
              // The quota frees up as reimages under way drop their old disks: wait for them.
              if (err instanceof QuotaExceededError && running > 0) break;
              if (!(err instanceof DomainError)) throw err;
              failures.push({ student, code: err.code, reason: err.message });
            }
          }
        }
        if (failures.length > 0) {
          Object.assign(refused, Object.fromEntries(failures.map((f) => [f.student, { code: f.code, reason: f.reason }])));
          await deps.store.mutate(operation.id, (current) => ({ ...current, input: { ...current.input, refused } }));
        }
        const started = (await deps.children(operation.id)).length;
        const settled = Object.keys(refused).length;
        const left = lab === undefined || lab.status.deletionRequestedAt !== undefined ? 0 : students.length - started - settled;
        if (running > 0 || left > 0) {
          const finished = children.filter((c) => isTerminal(c.status)).length + settled;
          return { type: 'recheck', delayMs: recheckMs, progress: students.length === 0 ? 99 : Math.min(99, (finished / students.length) * 100) };
        }
        const done = await deps.children(operation.id);
        const failed = [
          ...done
            .filter((c) => c.status !== 'succeeded')
            .map((c) => ({
              student: String(students.find((s) => studentVmName(name, s) === c.input['name']) ?? c.input['name']),
              code: c.error?.code ?? 'FAILED',
              reason: c.error?.detail ?? c.status,
            })),
          ...Object.entries(refused).map(([student, r]) => ({ student, code: r.code, reason: r.reason })),
        ];
        return {
          type: 'done',
          result: {
            tenant,
            lab: name,
            image: operation.input['image'] ?? null,
            total: students.length,
            succeeded: done.filter((c) => c.status === 'succeeded').length,
            failed: failed.slice(0, MAX_LISTED_FAILURES),
            ...(lab === undefined || lab.status.deletionRequestedAt !== undefined ? { skipped: 'the lab is being deleted' } : {}),
          },
        };
      },
    },
  };
}

/**
 * `lab.template-publish`: starts the template VM's `vm.publish` child (once), waits for it, then
 * points the lab's `template.image` at the published image (a spec change; students are not
 * reprovisioned). Its success is the `lab.template-published` webhook event.
 */
export function labTemplatePublishJob(deps: LabReimageJobDeps): JobKind {
  const recheckMs = deps.recheckMs ?? 1_000;
  return {
    kind: LAB_TEMPLATE_PUBLISH_KIND,
    firstStep: 'publish',
    retry: LAB_RETRY,
    wait: WAIT_ON_CHILDREN,
    steps: {
      publish: async ({ operation }) => {
        if ((await deps.children(operation.id)).length === 0) {
          if (deps.publisher === undefined) {
            throw new UpstreamRejectedError('TEMPLATE_PUBLISH_FAILED', 'Publishing a VM as an image is not available on this platform.');
          }
          await deps.publisher.publish(
            systemPrincipal(operation),
            str(operation, 'tenant'),
            str(operation, 'vm'),
            { image: str(operation, 'image') },
            {
              parentId: operation.id,
            },
          );
        }
        return { type: 'next', step: 'wait', progress: 10 };
      },
      wait: async ({ operation }) => {
        const tenant = str(operation, 'tenant');
        const lab = str(operation, 'lab');
        const child = (await deps.children(operation.id))[0];
        if (child === undefined || !isTerminal(child.status)) return { type: 'recheck', delayMs: recheckMs, progress: 50 };
        if (child.status !== 'succeeded') {
          throw new UpstreamRejectedError(
            'TEMPLATE_PUBLISH_FAILED',
            `Publishing the template VM of lab '${lab}' failed: ${child.error?.detail ?? child.error?.title ?? child.status}.`,
            { details: { operationId: child.id } },
          );
        }
        const result = child.result ?? {};
        // `vm.publish` names the tenant image it published (a string; an `{ scope, name }` is taken too).
        const image = result['image'];
        const named = typeof image === 'object' && image !== null && !Array.isArray(image) ? (image as Record<string, unknown>)['name'] : image;
        const imageName = typeof named === 'string' ? named : str(operation, 'image');
        await deps.templates.adoptTemplateImage(tenant, lab, { scope: 'tenant', name: imageName });
        return {
          type: 'done',
          result: {
            tenant,
            lab,
            vm: str(operation, 'vm'),
            image: { scope: 'tenant', name: imageName },
            ...(result['version'] === undefined ? {} : { version: result['version'] }),
            publishOperationId: child.id,
          },
        };
      },
    },
  };
}
