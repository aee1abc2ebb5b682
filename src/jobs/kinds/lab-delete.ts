import { LAB_DELETE_KIND, LAB_POWER_KIND, type LabRecord, type LabScheduleAction } from '../../domain/labs/lab.js';
import { labVmsByStudent } from '../../domain/labs/lab-status.js';
import { labTemplateVmName } from '../../domain/labs/lab-template.js';
import { isTerminal, type OperationRecord } from '../../domain/operations/operation.js';
import { NotFoundError } from '../../domain/shared/errors.js';
import { VM_DELETE_KIND } from '../../domain/vms/vm.js';
import { WAIT_ON_CHILDREN, type JobKind, type StepOutcome } from '../job-kind.js';
import { LAB_RETRY, labSettings, str, systemPrincipal, type LabJobDeps } from './lab-job-support.js';

/**
 * Deletes every VM of a lab (dropped ones and its template VM too) through `vm.delete` children (each takes its Arc
 * machine with it), at most `parallelism` at once; re-checks until none is left. Resolves the
 * outcome of one look: `undefined` once the lab holds no VM.
 */
async function deleteLabVms(deps: LabJobDeps, op: OperationRecord, lab: Pick<LabRecord, 'tenant' | 'name'>): Promise<StepOutcome | undefined> {
  const { recheckMs, parallelism } = labSettings(deps);
  const all = await deps.vmRepo.list(lab.tenant);
  // The lab's template VM goes with it too (it is the lab's, though never a student's).
  const template = all.find((vm) => vm.lab === lab.name && vm.name === labTemplateVmName(lab.name));
  const vms = [...labVmsByStudent(lab, all).values(), ...(template === undefined ? [] : [template])];
  if (vms.length === 0) return undefined;
  const children = (await deps.children(op.id)).filter((c) => c.kind === VM_DELETE_KIND);
  const asked = new Set(children.filter((c) => !isTerminal(c.status) || c.status === 'succeeded').map((c) => c.target.name));
  let running = children.filter((c) => !isTerminal(c.status)).length;
  for (const vm of vms) {
    if (running >= parallelism) break;
    if (vm.deleting || asked.has(vm.name)) continue;
    try {
      await deps.vms.delete(systemPrincipal(op), lab.tenant, vm.name, { parentId: op.id });
      running += 1;
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
  }
  const gone = children.filter((c) => c.status === 'succeeded').length;
  return { type: 'recheck', delayMs: recheckMs, progress: Math.min(95, (gone / Math.max(1, gone + vms.length)) * 100) };
}

/** `lab.delete`: every student VM and the template VM go (with their Arc machines and access), then the lab object. */
export function labDeleteJob(deps: LabJobDeps): JobKind {
  return {
    kind: LAB_DELETE_KIND,
    firstStep: 'delete-vms',
    retry: LAB_RETRY,
    wait: WAIT_ON_CHILDREN,
    steps: {
      'delete-vms': async ({ operation }) => {
        const lab = { tenant: str(operation, 'tenant'), name: str(operation, 'lab') };
        // A sync still running may be creating VMs: it stops starting students once deletion is
        // asked; wait for it, so no VM appears after the last one was deleted.
        const previous = operation.input['previous'];
        if (typeof previous === 'string') {
          const before = await deps.getOperation(previous);
          if (before !== undefined && !isTerminal(before.status)) return { type: 'recheck', delayMs: labSettings(deps).recheckMs, progress: 1 };
        }
        return (await deleteLabVms(deps, operation, lab)) ?? { type: 'next', step: 'delete-lab', progress: 95 };
      },
      'delete-lab': async ({ operation }) => {
        const tenant = str(operation, 'tenant');
        const name = str(operation, 'lab');
        const existed = await deps.labs.delete(tenant, name);
        return { type: 'done', result: { tenant, lab: name, deleted: existed } };
      },
    },
  };
}

/**
 * `lab.power`: what a schedule event does to the lab's VMs (dropped students' VMs stay stopped):
 * `start` starts them, `stop` and `end` (end of course) stop them, `remove` deletes them all while
 * the lab stays. Level-triggered: each look changes only the VMs not yet as wanted, a bounded
 * number at a time, so a re-run converges.
 */
export function labPowerJob(deps: LabJobDeps): JobKind {
  const { recheckMs, parallelism } = labSettings(deps);
  return {
    kind: LAB_POWER_KIND,
    firstStep: 'apply',
    retry: LAB_RETRY,
    wait: WAIT_ON_CHILDREN,
    steps: {
      apply: async ({ operation }) => {
        const tenant = str(operation, 'tenant');
        const name = str(operation, 'lab');
        const action = str(operation, 'action') as LabScheduleAction;
        const lab = await deps.labs.get(tenant, name);
        if (lab === undefined) return { type: 'done', result: { tenant, lab: name, action, skipped: 'lab deleted' } };
        if (action === 'remove') {
          const outcome = await deleteLabVms(deps, operation, lab);
          return outcome ?? { type: 'done', result: { tenant, lab: name, action, changed: 0 } };
        }
        const running = action === 'start';
        const roster = new Set(lab.students.map((s) => s.id));
        const vms = [...labVmsByStudent(lab, await deps.vmRepo.list(tenant)).entries()].filter(([student, vm]) => {
          if (vm.deleting) return false;
          if (running && (!roster.has(student) || vm.droppedAt !== undefined)) return false;
          return (vm.runStrategy !== 'Halted') !== running;
        });
        const batch = vms.slice(0, parallelism * 2);
        await Promise.all(batch.map(([, vm]) => deps.vmRepo.update(tenant, vm.name, { running })));
        if (vms.length > batch.length) return { type: 'recheck', delayMs: Math.min(recheckMs, 200), progress: 50 };
        return { type: 'done', result: { tenant, lab: name, action, dueAt: str(operation, 'dueAt'), running } };
      },
    },
  };
}
