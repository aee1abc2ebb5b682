import { arcResourceId } from '../../domain/identity/arc-machine.js';
import { arcMachineName } from '../../domain/identity/arc-machine.js';
import { LAB_STUDENT_KIND, type LabRecord } from '../../domain/labs/lab.js';
import { labVmInput } from '../../domain/labs/lab-template.js';
import { isTerminal, type OperationRecord } from '../../domain/operations/operation.js';
import { ConflictError, UpstreamRejectedError } from '../../domain/shared/errors.js';
import { VM_CREATE_KIND, vmTargetId, type VmRecord } from '../../domain/vms/vm.js';
import { toView } from '../../domain/vms/vm-view.js';
import { WAIT_ON_CHILDREN, type JobKind, type StepOutcome } from '../job-kind.js';
import { identityInput, VM_IDENTITY_KIND } from './vm-identity.js';
import { accessPlan, childFailure, LAB_RETRY, labSettings, str, strings, systemPrincipal, type LabJobDeps } from './lab-job-support.js';

/** How a `lab.student` operation works on its student. */
export type StudentMode = 'provision' | 'drop' | 'access';

/** Where the Arc machine of a VM is, from what `vm.identity` recorded on it. */
function machineScope(vm: VmRecord): string | undefined {
  const id = vm.identity?.machineResourceId;
  return id === undefined || id === '' ? undefined : id;
}

/** A VM a retry must make again: in error, or with Arc on but never connected (its onboarding token is spent). */
function needsRecreate(vm: VmRecord, lab: LabRecord): boolean {
  if (toView(vm, false).state === 'Error') return true;
  return lab.template.arc && vm.identity !== undefined && vm.identity.arcStatus !== 'Connected';
}

/**
 * `lab.student`: one student of a lab, as a child of `lab.sync`.
 * - `provision`: creates the student's VM through the VM use case (deterministic name, so a retry
 *   converges; `vm.create` chains `vm.identity` with the lab's access plan), waits until it is
 *   ready (with Arc on: connected, extension installed, student and instructors granted) and fails
 *   with the reason of whatever failed. A re-added student's stopped VM is started and re-granted;
 *   a retry remakes a VM in error or one whose Arc agent never connected.
 * - `drop`: stops the VM at once, marks it dropped (deleted after the grace period) and revokes the
 *   student's access.
 * - `access`: grants added instructors `administrator` and revokes removed ones.
 * Every step is idempotent: it looks at the VM and the child operations before acting.
 */
export function labStudentJob(deps: LabJobDeps): JobKind {
  const { clock, recheckMs } = labSettings(deps);
  const recheck = (progress: number): StepOutcome => ({ type: 'recheck', delayMs: recheckMs, progress });

  async function context(op: OperationRecord) {
    const tenant = str(op, 'tenant');
    const labName = str(op, 'lab');
    const student = str(op, 'student');
    const vmName = str(op, 'vm');
    const lab = await deps.labs.get(tenant, labName);
    const vm = await deps.vmRepo.get(tenant, vmName);
    return { tenant, labName, student, vmName, lab, vm };
  }

  async function latestIdentity(children: readonly OperationRecord[]): Promise<OperationRecord | undefined> {
    const own = children.filter((c) => c.kind === VM_IDENTITY_KIND);
    const chained = (await Promise.all(children.filter((c) => c.kind === VM_CREATE_KIND).map((c) => deps.children(c.id))))
      .flat()
      .filter((c) => c.kind === VM_IDENTITY_KIND);
    return [...own, ...chained].sort((a, b) => a.createdAt.localeCompare(b.createdAt)).at(-1);
  }

  async function startIdentity(op: OperationRecord, lab: LabRecord, vm: VmRecord): Promise<void> {
    await deps.operations.start(systemPrincipal(op), {
      kind: VM_IDENTITY_KIND,
      tenant: vm.tenant,
      target: { type: 'vm', id: vmTargetId(vm.tenant, vm.name), name: vm.name },
      ownerId: vm.ownerId,
      parentId: op.id,
      input: identityInput({ tenant: vm.tenant, name: vm.name, ownerId: vm.ownerId, lab: lab.name, access: accessPlan(lab) }),
    });
  }

  const done = (op: OperationRecord, extra: Record<string, string | boolean>): StepOutcome => ({
    type: 'done',
    result: { tenant: str(op, 'tenant'), lab: str(op, 'lab'), student: str(op, 'student'), vm: str(op, 'vm'), ...extra },
  });

  return {
    kind: LAB_STUDENT_KIND,
    firstStep: 'start',
    retry: LAB_RETRY,
    wait: WAIT_ON_CHILDREN,
    steps: {
      start: async ({ operation }) => {
        const mode = str(operation, 'mode') as StudentMode;
        return { type: 'next', step: mode === 'drop' ? 'stop' : mode === 'access' ? 'access' : 'ensure-vm', progress: 5 };
      },

      'ensure-vm': async ({ operation }) => {
        const { tenant, student, vmName, lab, vm } = await context(operation);
        if (lab === undefined || lab.status.deletionRequestedAt !== undefined) return done(operation, { skipped: 'lab deleted' });
        if (!lab.students.some((s) => s.id === student)) return done(operation, { skipped: 'not on the roster' });
        if (vm?.deleting === true) return recheck(10);
        if (vm !== undefined && operation.input['retry'] === true && needsRecreate(vm, lab) && deps.vmRepo.delete !== undefined) {
          await deps.vmRepo.delete(tenant, vmName, { retainDisks: false });
          return recheck(10);
        }
        if (vm?.droppedAt !== undefined) {
          // Back on the roster before the grace period ended: the same VM, started and granted again.
          await deps.vmRepo.update(tenant, vmName, { droppedAt: null, running: true });
          return { type: 'next', step: 'regrant', progress: 30 };
        }
        if (vm !== undefined) return { type: 'next', step: 'wait', progress: 20 };
        // A re-run of this step (the worker died, or Redis went away, after the create was asked) can
        // come before the VM reaches the cache: the create already asked is followed, not asked again
        // (a second one would fail VM_EXISTS and fail the student whose VM the first one made).
        const asked = (await deps.children(operation.id)).some(
          (c) => c.kind === VM_CREATE_KIND && (c.status === 'succeeded' || !isTerminal(c.status)),
        );
        if (asked) return { type: 'next', step: 'wait', progress: 20 };
        try {
          await deps.vms.create(systemPrincipal(operation), tenant, labVmInput(lab, vmName, student), {
            parentId: operation.id,
            access: accessPlan(lab),
          });
        } catch (err) {
          if (!(err instanceof ConflictError && err.code === 'VM_EXISTS')) throw err;
        }
        return { type: 'next', step: 'wait', progress: 20 };
      },

      wait: async ({ operation }) => {
        const { vmName, lab, vm } = await context(operation);
        if (lab === undefined) return done(operation, { skipped: 'lab deleted' });
        const children = await deps.children(operation.id);
        const create = children.filter((c) => c.kind === VM_CREATE_KIND).at(-1);
        if (create !== undefined && !isTerminal(create.status)) return recheck(30);
        if (create !== undefined && create.status !== 'succeeded') throw childFailure(create);
        if (vm === undefined) {
          if (create === undefined) return { type: 'next', step: 'ensure-vm', progress: 10 };
          throw new UpstreamRejectedError('VM_GONE', `VM '${vmName}' was deleted while it was being provisioned.`);
        }
        const state = toView(vm, false).state;
        if (state === 'Error')
          throw new UpstreamRejectedError(
            'VM_FAILED',
            `VM '${vmName}' is in error: ${toView(vm, false).message ?? toView(vm, false).reason ?? 'unknown reason'}.`,
          );
        if (!lab.template.arc) return state === 'Running' || state === 'Stopped' ? done(operation, { ready: true }) : recheck(50);
        const identity = await latestIdentity(children);
        if (identity !== undefined && !isTerminal(identity.status)) return recheck(70);
        if (identity?.status === 'succeeded') return done(operation, { ready: true });
        if (identity !== undefined) throw childFailure(identity);
        if (state !== 'Running') return recheck(50);
        // Running without an identity operation (a VM made earlier, or a retry): start one here.
        await startIdentity(operation, lab, vm);
        return recheck(60);
      },

      regrant: async ({ operation }) => {
        const { student, lab, vm } = await context(operation);
        if (lab === undefined || vm === undefined) return { type: 'next', step: 'wait', progress: 30 };
        const scope = machineScope(vm);
        if (!lab.template.arc || deps.access === undefined || scope === undefined || vm.identity?.ready !== true)
          return { type: 'next', step: 'wait', progress: 30 };
        const plan = accessPlan(lab);
        await deps.access.grant({ scope, role: plan.ownerRole, principalId: student, principalType: 'User' });
        for (const g of plan.grants) await deps.access.grant({ scope, role: g.role, principalId: g.principalId, principalType: 'User' });
        return done(operation, { ready: true, regranted: true });
      },

      stop: async ({ operation }) => {
        const { tenant, vmName, vm } = await context(operation);
        if (vm === undefined || vm.deleting) return done(operation, { dropped: false });
        await deps.vmRepo.update(tenant, vmName, { running: false, ...(vm.droppedAt === undefined ? { droppedAt: clock.now().toISOString() } : {}) });
        return { type: 'next', step: 'revoke', progress: 50 };
      },

      revoke: async ({ operation }) => {
        const { student, vm } = await context(operation);
        const scope = vm === undefined ? undefined : machineScope(vm);
        if (scope !== undefined && deps.access !== undefined) {
          await deps.access.revoke({ scope, role: 'user', principalId: student });
          await deps.access.revoke({ scope, role: 'administrator', principalId: student });
        }
        return done(operation, { dropped: true });
      },

      access: async ({ operation }) => {
        const { student, lab, vm } = await context(operation);
        const scope = vm === undefined ? undefined : machineScope(vm);
        if (lab === undefined || scope === undefined || deps.access === undefined || vm?.identity?.ready !== true)
          return done(operation, { skipped: 'no identity' });
        const current = new Set(lab.instructors.map((i) => i.id));
        for (const id of strings(operation, 'instructorsAdded')) {
          if (current.has(id)) await deps.access.grant({ scope, role: 'administrator', principalId: id, principalType: 'User' });
        }
        for (const id of strings(operation, 'instructorsRemoved')) {
          // The student keeps their own role even when they were an instructor too.
          if (!current.has(id) && !(id === student && lab.template.studentRole === 'administrator'))
            await deps.access.revoke({ scope, role: 'administrator', principalId: id });
        }
        return done(operation, { ready: true });
      },
    },
  };
}

/** ARM id of a student VM's Arc machine (for tests and views). */
export function studentMachineScope(
  settings: { readonly subscriptionId: string; readonly resourceGroup: string },
  tenant: string,
  vmName: string,
): string {
  return arcResourceId(settings.subscriptionId, settings.resourceGroup, arcMachineName(tenant, vmName));
}
