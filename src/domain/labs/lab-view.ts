import type { ErrorCode } from '../shared/error-codes.js';
import type { VmState } from '../vms/vm-state.js';
import type { LtiSyncStatus } from '../lti/binding.js';
import type { LabPerson, LabScheduleAction, LabSpec } from './lab.js';

/**
 * Where one student stands:
 * - `pending`: on the roster, nothing created yet;
 * - `provisioning`: the VM (or its Azure identity and access) is being made;
 * - `ready`: the VM exists and is usable (with Arc on: connected, extension installed, access granted);
 * - `failed`: the last provisioning failed (`reason`); retry the student alone;
 * - `dropped`: no longer on the roster; the VM is stopped, access revoked, deleted at `deleteAfter`.
 */
export type StudentStatus = 'pending' | 'provisioning' | 'ready' | 'failed' | 'dropped';
export const STUDENT_STATUSES: readonly StudentStatus[] = ['pending', 'provisioning', 'ready', 'failed', 'dropped'];

export interface StudentView extends LabPerson {
  readonly status: StudentStatus;
  /** The student's VM name (deterministic: the same for every retry). */
  readonly vm: string;
  /** The VM's state when it exists. */
  readonly vmState?: VmState;
  /** Arc / access progress of a lab with Arc on. */
  readonly identityReady?: boolean;
  /** Stable code and text of a failure. */
  readonly code?: ErrorCode;
  readonly reason?: string;
  readonly operationId?: string;
  /** For dropped students: when the VM will be deleted (ISO 8601). */
  readonly deleteAfter?: string;
}

/** Lab-wide counts by student status. */
export interface LabSummary {
  /** Every student listed: pending + provisioning + ready + failed + dropped. */
  readonly total: number;
  readonly pending: number;
  readonly provisioning: number;
  readonly ready: number;
  readonly failed: number;
  readonly dropped: number;
}

/**
 * `Provisioning` while any student is pending or provisioning, `Degraded` when none is but some
 * failed, `Ready` when every student is ready, `Empty` with no students, `Ended` after the end of
 * course, `Deleting` once deletion started.
 */
export type LabPhase = 'Empty' | 'Provisioning' | 'Ready' | 'Degraded' | 'Ended' | 'Deleting';

/** A lab as the API shows it: its spec without the roster (paged at `…/students`), with where it stands. */
export interface LabView extends Omit<LabSpec, 'students'> {
  readonly createdAt: string;
  readonly version: string;
  readonly phase: LabPhase;
  readonly summary: LabSummary;
  readonly lastOperationId?: string;
  /** The next schedule action due, if any. */
  readonly nextScheduledEvent?: { readonly action: LabScheduleAction; readonly at: string };
  /** The last roster sync from the LMS, for a lab bound to a course (`lti`). */
  readonly ltiSync?: LtiSyncStatus;
}

/** What a roster sync changes, by student id (sorted). */
export interface RosterDiff {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  /** Same student, other email or display name (no VM change). */
  readonly updated: readonly string[];
  readonly unchanged: number;
}

/** One update of `labProgress`: the summary and the students whose status changed. */
export interface LabProgressEvent {
  readonly tenant: string;
  readonly lab: string;
  readonly phase: LabPhase;
  readonly summary: LabSummary;
  readonly students: readonly StudentView[];
}
