import { makePrincipal, type Principal } from '../../domain/auth/principal.js';
import type { AccessPort } from '../../domain/identity/access.js';
import type { LabRepository } from '../../domain/labs/lab-repository.js';
import type { LabRecord } from '../../domain/labs/lab.js';
import { studentAccessPlan } from '../../domain/labs/lab-template.js';
import type { OperationRecord } from '../../domain/operations/operation.js';
import type { OperationService } from '../../domain/operations/operation-service.js';
import { isErrorCode } from '../../domain/shared/error-codes.js';
import { ChildOperationFailedError } from '../../domain/shared/errors.js';
import { systemClock, type Clock } from '../../domain/shared/ids.js';
import type { VmRepository } from '../../domain/vms/vm-repository.js';
import type { VmService } from '../../domain/vms/vm-service.js';
import type { VmAccessPlan } from '../../domain/vms/vm.js';
import type { RetryPolicy } from '../job-kind.js';

/** What the lab job kinds need. */
export interface LabJobDeps {
  readonly labs: Pick<LabRepository, 'get' | 'updateStatus' | 'delete'>;
  readonly vmRepo: Pick<VmRepository, 'get' | 'list' | 'update'> & Partial<Pick<VmRepository, 'delete'>>;
  /** VM use cases: creating goes through them (cloud-init, onboarding token, quota), and so does deleting. */
  readonly vms: Pick<VmService, 'create' | 'delete'>;
  /** Present when VMs can have an Azure identity. */
  readonly access?: AccessPort;
  readonly operations: Pick<OperationService, 'start'>;
  /** Child operations of a parent, oldest first. */
  readonly children: (parentId: string) => Promise<readonly OperationRecord[]>;
  /** One operation by id (a sync waits for the one before it). */
  readonly getOperation: (id: string) => Promise<OperationRecord | undefined>;
  readonly clock?: Clock;
  /** Delay between looks while waiting, ms (default 1000). */
  readonly recheckMs?: number;
  /** Students worked on at once per lab operation (default 50). */
  readonly parallelism?: number;
}

export const LAB_RETRY: RetryPolicy = { attempts: 8, baseDelayMs: 1_000, maxDelayMs: 60_000 };

export function labSettings(deps: LabJobDeps) {
  return { clock: deps.clock ?? systemClock, recheckMs: deps.recheckMs ?? 1_000, parallelism: Math.max(1, deps.parallelism ?? 50) };
}

/** The principal lab jobs act as: the platform, on behalf of whoever started the operation. */
export function systemPrincipal(op: OperationRecord): Principal {
  return makePrincipal({ id: op.createdBy, platformAdmin: true });
}

/** Who gets which role on a student's VM: the student the lab's role, instructors `administrator`. */
export const accessPlan: (lab: LabRecord) => VmAccessPlan = studentAccessPlan;

export function str(op: OperationRecord, key: string): string {
  const v = op.input[key];
  if (typeof v !== 'string') throw new TypeError(`lab job input: '${key}' is missing`);
  return v;
}

export function strings(op: OperationRecord, key: string): string[] {
  const v = op.input[key];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** Fails a lab operation with the failure of one of its children (its code and text). */
export function childFailure(child: OperationRecord): ChildOperationFailedError {
  // A code outside the catalogue can only come from a record written by an older version.
  const recorded = child.error?.code;
  const code = isErrorCode(recorded) ? recorded : child.status === 'canceled' ? 'CANCELED' : 'FAILED';
  const detail = child.error?.detail ?? child.error?.title ?? `${child.kind} ${child.status}`;
  return new ChildOperationFailedError(code, detail, { details: { operationId: child.id, kind: child.kind } });
}
