import type { AuditLog } from '../../domain/audit/audit.js';
import { makePrincipal, type Principal } from '../../domain/auth/principal.js';
import type { LabRepository } from '../../domain/labs/lab-repository.js';
import type { LabService } from '../../domain/labs/lab-service.js';
import type { LabPerson, LabRecord } from '../../domain/labs/lab.js';
import { MAX_INSTRUCTORS } from '../../domain/labs/lab-rules.js';
import type { LtiSyncStatus } from '../../domain/lti/binding.js';
import type { Directory, LtiRegistrationRepository, MembershipSource } from '../../domain/lti/ports.js';
import { MAX_LISTED_UNRESOLVED, rosterFromMembers } from '../../domain/lti/roster.js';
import { LTI_ROSTER_SYNC_KIND, LTI_SYNC_TRIGGERS, refuseUnbound, type LtiSyncTrigger } from '../../domain/lti/roster-sync.js';
import { isTerminal, type JsonObject, type OperationRecord } from '../../domain/operations/operation.js';
import type { OperationStore } from '../../domain/operations/operation-store.js';
import { problemOf } from '../../domain/operations/problem.js';
import { ERROR_CODES } from '../../domain/shared/error-codes.js';
import { ConflictError, isRetryable, NotFoundError } from '../../domain/shared/errors.js';
import { systemClock, type Clock } from '../../domain/shared/ids.js';
import type { Logger } from '../../domain/shared/logger.js';
import type { JobKind, RetryPolicy } from '../job-kind.js';
import { mayRetry } from '../retry-policy.js';

/** NRPS and the directory are outside: transient failures are retried a few times with backoff. */
export const LTI_ROSTER_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 2_000, maxDelayMs: 60_000 };

export interface LtiRosterSyncJobDeps {
  readonly labs: Pick<LabRepository, 'get' | 'updateStatus'>;
  /** The roster goes through the lab's own roster sync (diff, grace periods, webhooks) and instructor update. */
  readonly labService: Pick<LabService, 'syncRoster' | 'update'>;
  readonly registrations: Pick<LtiRegistrationRepository, 'get'>;
  readonly membershipSource: MembershipSource;
  readonly directory: Directory;
  /** Syncs of one lab run one after the other (the earlier unfinished one first). */
  readonly operationStore: Pick<OperationStore, 'list'>;
  readonly auditLog?: Pick<AuditLog, 'append'>;
  readonly logger?: Logger;
  readonly clock?: Clock;
  /** Delay between looks while an earlier sync of the lab runs, ms (default 1000). */
  readonly recheckMs?: number;
}

function input(op: OperationRecord): { tenant: string; lab: string; trigger: LtiSyncTrigger; requestedBy: string } {
  const { tenant, lab, trigger, requestedBy } = op.input;
  if (typeof tenant !== 'string' || typeof lab !== 'string') throw new TypeError('lti.roster-sync input: tenant and lab are required');
  const t = LTI_SYNC_TRIGGERS.find((x) => x === trigger) ?? 'manual';
  return { tenant, lab, trigger: t, requestedBy: typeof requestedBy === 'string' ? requestedBy : op.createdBy };
}

/** The principal the sync acts as: the platform, on behalf of whoever started the operation. */
function actingPrincipal(op: OperationRecord, trigger: LtiSyncTrigger, requestedBy: string): Principal {
  const p = makePrincipal({ id: op.createdBy, kind: trigger === 'manual' ? 'user' : 'service', platformAdmin: true });
  return trigger === 'launch' ? { ...p, name: 'LMS integration', onBehalfOf: requestedBy } : p;
}

/** Instructors after the sync: the course's, plus those added by hand (without an LMS id) who are not in it. */
function nextInstructors(lab: LabRecord, fromLms: readonly LabPerson[]): LabPerson[] {
  const lms = new Set(fromLms.map((p) => p.id));
  const kept = lab.instructors.filter((p) => p.lmsUserId === undefined && !lms.has(p.id));
  return [...kept, ...fromLms].slice(0, MAX_INSTRUCTORS);
}

function samePeople(a: readonly LabPerson[], b: readonly LabPerson[]): boolean {
  const key = (p: LabPerson) => JSON.stringify([p.id, p.email ?? null, p.displayName ?? null, p.lmsUserId ?? null]);
  const as = a.map(key).sort();
  const bs = b.map(key).sort();
  return as.length === bs.length && as.every((k, i) => k === bs[i]);
}

/**
 * `lti.roster-sync`: makes a lab bound to an LMS course follow the course's membership. Reads the
 * members through NRPS (`MembershipSource`), keeps the active Learners as students and the active
 * Instructors / TeachingAssistants as instructors, matches them to directory users by email, then
 * hands the students to the lab's own roster sync (`LabService.syncRoster`: the same diff, grace
 * periods and `lab.roster-synced` webhook as any roster change) and updates the instructors when
 * they changed. Members that match no single directory user get no VM and are listed in
 * `status.ltiSync.unresolved`. The outcome (or the failure, with its code) is written to
 * `status.ltiSync` and to the audit log. Idempotent: a second run with the same course changes nothing.
 */
export function ltiRosterSyncJob(deps: LtiRosterSyncJobDeps): JobKind {
  const clock = deps.clock ?? systemClock;
  const recheckMs = deps.recheckMs ?? 1_000;

  async function writeStatus(tenant: string, lab: string, status: LtiSyncStatus): Promise<void> {
    try {
      await deps.labs.updateStatus(tenant, lab, (s) => ({ ...s, ltiSync: status }));
    } catch (err) {
      // The lab went away meanwhile: nothing to record on.
      if (!(err instanceof NotFoundError)) throw err;
    }
  }

  async function audit(op: OperationRecord, p: Principal, tenant: string, lab: string, result: { status: number; code?: string }): Promise<void> {
    if (deps.auditLog === undefined) return;
    const event = {
      at: clock.now().toISOString(),
      actor: { id: p.id, kind: p.kind, name: p.name },
      ...(p.onBehalfOf === undefined ? {} : { onBehalfOf: p.onBehalfOf }),
      action: LTI_ROSTER_SYNC_KIND,
      method: 'JOB',
      path: `/v1/tenants/${tenant}/labs/${lab}/lti/sync`,
      tenant,
      target: { type: 'lab', id: lab },
      result,
      requestId: op.id,
    };
    deps.logger?.info({ audit: true, event }, 'audit');
    await deps.auditLog.append(event).catch((err: unknown) => deps.logger?.error({ err, event }, 'audit event not stored'));
  }

  /** True while an earlier unfinished sync of the same lab exists (it runs first). */
  async function earlierRunning(op: OperationRecord): Promise<boolean> {
    const res = await deps.operationStore.list(
      { kind: LTI_ROSTER_SYNC_KIND, target: { type: op.target.type, id: op.target.id }, status: ['queued', 'running'] },
      { limit: 50 },
    );
    return res.items.some(
      (o) => o.id !== op.id && !isTerminal(o.status) && (o.createdAt < op.createdAt || (o.createdAt === op.createdAt && o.id < op.id)),
    );
  }

  async function run(op: OperationRecord, signal: AbortSignal): Promise<JsonObject> {
    const { tenant, lab: name, trigger, requestedBy } = input(op);
    const p = actingPrincipal(op, trigger, requestedBy);
    const lab = await deps.labs.get(tenant, name);
    if (lab === undefined) throw new NotFoundError('lab', name);
    refuseUnbound(lab);
    const binding = lab.lti as NonNullable<LabRecord['lti']>;
    const membershipsUrl = binding.membershipsUrl as string;
    const registration = await deps.registrations.get(tenant, binding.registrationId);
    if (registration === undefined)
      throw new ConflictError('LTI_REGISTRATION_GONE', `The LMS registration lab '${name}' is bound through no longer exists; bind the lab again.`);
    const members = await deps.membershipSource.members(registration, membershipsUrl, signal);
    // An empty answer is far likelier a platform fault than a course without anyone (not even its
    // instructor): it must not drop every student at once.
    if (members.length === 0 && lab.students.length > 0)
      throw new ConflictError(
        'LTI_EMPTY_MEMBERSHIP',
        `The LMS answered an empty membership for the course of lab '${name}'; its ${lab.students.length} student(s) are kept.`,
      );
    const roster = await rosterFromMembers(members, deps.directory, signal);
    const { operation, diff } = await deps.labService.syncRoster(p, tenant, name, roster.students);
    const current = (await deps.labs.get(tenant, name)) ?? lab;
    const instructors = nextInstructors(current, roster.instructors);
    const instructorsChanged = !samePeople(current.instructors, instructors);
    if (instructorsChanged) await deps.labService.update(p, tenant, name, { instructors });
    const status: LtiSyncStatus = {
      at: clock.now().toISOString(),
      trigger,
      outcome: 'succeeded',
      operationId: op.id,
      members: roster.members,
      students: roster.students.length,
      instructors: roster.instructors.length,
      unresolved: roster.unresolved.slice(0, MAX_LISTED_UNRESOLVED),
    };
    await writeStatus(tenant, name, status);
    await audit(op, p, tenant, name, { status: 200 });
    return {
      tenant,
      lab: name,
      trigger,
      members: roster.members,
      students: roster.students.length,
      instructors: roster.instructors.length,
      unresolved: roster.unresolved.length,
      instructorsChanged,
      rosterOperationId: operation.id,
      diff: { added: [...diff.added], removed: [...diff.removed], updated: [...diff.updated], unchanged: diff.unchanged },
    };
  }

  return {
    kind: LTI_ROSTER_SYNC_KIND,
    firstStep: 'sync',
    retry: LTI_ROSTER_RETRY,
    steps: {
      sync: async ({ operation, attempt, signal }) => {
        if (await earlierRunning(operation)) return { type: 'recheck', delayMs: recheckMs, progress: 0 };
        try {
          return { type: 'done', result: await run(operation, signal) };
        } catch (err) {
          // A transient failure is tried again; the last try, or any other failure, is recorded.
          if (isRetryable(err) && mayRetry(attempt, LTI_ROSTER_RETRY) && !signal.aborted) throw err;
          if (signal.aborted) throw err;
          const { tenant, lab, trigger, requestedBy } = input(operation);
          const { problem, internal } = problemOf(err);
          if (internal) deps.logger?.error({ err, operationId: operation.id }, 'LMS roster sync failed');
          await writeStatus(tenant, lab, {
            at: clock.now().toISOString(),
            trigger,
            outcome: 'failed',
            code: problem.code,
            message: problem.title.slice(0, 4096),
            operationId: operation.id,
          });
          await audit(operation, actingPrincipal(operation, trigger, requestedBy), tenant, lab, {
            status: ERROR_CODES[problem.code].status,
            code: problem.code,
          });
          throw err;
        }
      },
    },
  };
}
