import { LAB_STUDENT_KIND, LAB_SYNC_KIND, studentTargetId, type LabRecord, type StudentFailure } from '../../domain/labs/lab.js';
import { studentVmName } from '../../domain/labs/lab-rules.js';
import { enrolledOf, labVmsByStudent, studentViews, summaryOf } from '../../domain/labs/lab-status.js';
import { desiredPower } from '../../domain/labs/schedule.js';
import { isTerminal, type JsonObject, type OperationRecord } from '../../domain/operations/operation.js';
import { WAIT_ON_CHILDREN, type JobKind } from '../job-kind.js';
import { LAB_RETRY, labSettings, str, strings, systemPrincipal, type LabJobDeps } from './lab-job-support.js';
import type { StudentMode } from './lab-student.js';

interface Work {
  readonly student: string;
  readonly mode: StudentMode;
}

const keyOf = (w: Work) => `${w.mode}:${w.student}`;
const MAX_LISTED_FAILURES = 100;

/** What a sync has to do now, from the roster and the VMs that exist (level-triggered: a re-run converges). */
function workFor(op: OperationRecord, lab: LabRecord, vms: ReturnType<typeof labVmsByStudent>, now: Date): Work[] {
  const reason = str(op, 'reason');
  // After the end of course nobody is provisioned any more (drops still apply).
  const ended = lab.endsAt !== undefined && Date.parse(lab.endsAt) <= now.getTime();
  const roster = new Set(lab.students.map((s) => s.id));
  const work: Work[] = [];
  for (const [student, vm] of vms) {
    if (!roster.has(student) && vm.droppedAt === undefined && !vm.deleting) work.push({ student, mode: 'drop' });
  }
  const wanted = ended ? [] : reason === 'retry' ? strings(op, 'students').filter((s) => roster.has(s)) : lab.students.map((s) => s.id);
  for (const student of wanted) {
    const vm = vms.get(student);
    if (reason === 'retry') work.push({ student, mode: 'provision' });
    else if (lab.status.failures[student] === undefined && (vm === undefined || vm.droppedAt !== undefined))
      work.push({ student, mode: 'provision' });
  }
  const instructors = op.input['instructors'];
  if (reason === 'update' && typeof instructors === 'object' && instructors !== null) {
    for (const [student, vm] of vms) if (roster.has(student) && vm.droppedAt === undefined) work.push({ student, mode: 'access' });
  }
  return work;
}

/**
 * VMs are provisioned running (the Arc agent must connect); when the lab's schedules say its VMs
 * are off now, the new ones are stopped once made, so a lab created outside its hours stays off.
 */
async function followSchedule(deps: LabJobDeps, lab: LabRecord, now: Date): Promise<void> {
  if (desiredPower(lab, now) !== 'stopped') return;
  const running = [...labVmsByStudent(lab, await deps.vmRepo.list(lab.tenant)).values()].filter((vm) => vm.runStrategy !== 'Halted' && !vm.deleting);
  await Promise.all(running.map((vm) => deps.vmRepo.update(lab.tenant, vm.name, { running: false })));
}

/**
 * `lab.sync`: brings a lab's VMs in line with its roster (create, roster sync, instructor change,
 * retry of one student): starts one `lab.student` child per student to provision, drop or re-grant,
 * at most `parallelism` at once, records each failed student on the lab (with the reason), and ends
 * with the lab's summary: `ready` when every student is ready. Children already started are read
 * back, never started twice, so a re-run after a crash goes on where it was.
 */
export function labSyncJob(deps: LabJobDeps): JobKind {
  const { clock, recheckMs, parallelism } = labSettings(deps);

  async function recordFailures(lab: LabRecord, children: readonly OperationRecord[]): Promise<void> {
    const latest = new Map<string, OperationRecord>();
    for (const c of children) if (c.input['mode'] === 'provision') latest.set(String(c.input['student']), c);
    const failed = [...latest.values()].filter(
      (c) => (c.status === 'failed' || c.status === 'canceled') && lab.status.failures[String(c.input['student'])]?.operationId !== c.id,
    );
    if (failed.length === 0) return;
    await deps.labs.updateStatus(lab.tenant, lab.name, (s) => {
      const failures: Record<string, StudentFailure> = { ...s.failures };
      for (const c of failed) {
        failures[String(c.input['student'])] = {
          code: c.error?.code ?? 'FAILED',
          reason: c.error?.detail ?? c.error?.title ?? `provisioning ${c.status}`,
          operationId: c.id,
          at: c.finishedAt ?? clock.now().toISOString(),
        };
      }
      return { ...s, failures };
    });
  }

  return {
    kind: LAB_SYNC_KIND,
    firstStep: 'dispatch',
    retry: LAB_RETRY,
    wait: WAIT_ON_CHILDREN,
    steps: {
      dispatch: async ({ operation }) => {
        const tenant = str(operation, 'tenant');
        const name = str(operation, 'lab');
        const reason = str(operation, 'reason');
        const lab = await deps.labs.get(tenant, name);
        if (lab === undefined || lab.status.deletionRequestedAt !== undefined) {
          // No more students are started; those under way finish first, so every VM they make
          // exists before the deletion looks for them.
          if ((await deps.children(operation.id)).some((c) => !isTerminal(c.status))) return { type: 'recheck', delayMs: recheckMs, progress: 99 };
          return { type: 'done', result: { tenant, lab: name, reason, skipped: 'the lab is being deleted' } };
        }
        // Syncs of one lab run one after the other: the one before reads the latest roster too.
        const previous = operation.input['previous'];
        if (typeof previous === 'string') {
          const before = await deps.getOperation(previous);
          if (before !== undefined && !isTerminal(before.status)) return { type: 'recheck', delayMs: recheckMs, progress: 0 };
        }
        const children = await deps.children(operation.id);
        const started = new Set(children.map((c) => `${String(c.input['mode'])}:${String(c.input['student'])}`));
        let running = children.filter((c) => !isTerminal(c.status)).length;
        const todo = workFor(operation, lab, labVmsByStudent(lab, await deps.vmRepo.list(tenant)), clock.now()).filter((w) => !started.has(keyOf(w)));
        const instructors = (operation.input['instructors'] ?? {}) as JsonObject;
        let launched = 0;
        for (const w of todo) {
          if (running >= parallelism) break;
          await deps.operations.start(systemPrincipal(operation), {
            kind: LAB_STUDENT_KIND,
            tenant,
            target: { type: 'lab-student', id: studentTargetId(tenant, name, w.student), name: w.student },
            parentId: operation.id,
            input: {
              tenant,
              lab: name,
              student: w.student,
              vm: studentVmName(name, w.student),
              mode: w.mode,
              ...(reason === 'retry' ? { retry: true } : {}),
              ...(w.mode === 'access' ? { instructorsAdded: instructors['added'] ?? [], instructorsRemoved: instructors['removed'] ?? [] } : {}),
            },
          });
          running += 1;
          launched += 1;
        }
        await recordFailures(lab, children);
        const remaining = todo.length - launched;
        if (running > 0 || remaining > 0) {
          const finished = children.filter((c) => isTerminal(c.status)).length;
          const total = children.length + todo.length;
          return { type: 'recheck', delayMs: recheckMs, progress: total === 0 ? 99 : Math.min(99, (finished / total) * 100) };
        }
        const latest = (await deps.labs.get(tenant, name)) ?? lab;
        await followSchedule(deps, latest, clock.now());
        const students = studentViews(latest, await deps.vmRepo.list(tenant));
        const summary = summaryOf(students);
        const failed = students
          .filter((s) => s.status === 'failed')
          .slice(0, MAX_LISTED_FAILURES)
          .map((s) => ({ student: s.id, code: s.code ?? 'FAILED', reason: s.reason ?? '' }));
        const diff = operation.input['diff'];
        return {
          type: 'done',
          result: {
            tenant,
            lab: name,
            reason,
            ...(diff === undefined ? {} : { diff }),
            summary: { ...summary },
            ready: enrolledOf(summary) > 0 && summary.ready === enrolledOf(summary),
            failed,
          },
        };
      },
    },
  };
}
