import type { ErrorCode } from '../shared/error-codes.js';
import type { AccessRole } from '../identity/access.js';
import type { ImageRef, StorageClass } from '../images/image.js';
import type { LabLtiBinding, LtiSyncStatus } from '../lti/binding.js';
import type { LabCostControls } from '../usage/cost-controls.js';

/** Days of a weekly recurrence, in the schedule's own time zone. */
export type Weekday = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';
export const WEEKDAYS: readonly Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

/** A person of a lab: an Azure AD user (object id, a GUID) with what the LMS knows of them. */
export interface LabPerson {
  /** Azure AD object id (lower-case GUID). It is the VM owner and the principal of role assignments. */
  readonly id: string;
  readonly email?: string;
  readonly displayName?: string;
  /** The LMS's id of this person (LTI `sub` / NRPS `user_id`), when the roster comes from an LMS. */
  readonly lmsUserId?: string;
}

/** The LMS course a lab belongs to (informational; filterable). */
export interface CourseRef {
  /** e.g. `canvas`, `moodle`. */
  readonly lms: string;
  readonly courseId: string;
}

/** What every student VM of a lab is built from. CPU in cores, memory and disk in GiB. */
export interface LabTemplate {
  readonly image: ImageRef;
  readonly instanceType?: string;
  readonly cpu: number;
  readonly memoryGi: number;
  readonly diskGi: number;
  readonly storageClass: StorageClass;
  /** Onboard every VM to Azure Arc, install the SSH login extension and grant access. */
  readonly arc: boolean;
  /** What students get on their own VM (default `user`: SSH without sudo). Instructors always get `administrator`. */
  readonly studentRole: AccessRole;
  /** Public keys put on every VM (instructors' break-glass access); optional. */
  readonly sshPublicKeys: readonly string[];
}

/**
 * A weekly window: VMs are started at `startTime` and stopped at `stopTime` (either may be absent:
 * start-only or stop-only), on `days`, wall-clock in `timeZone` (IANA), from `startDate` to
 * `endDate` inclusive (local dates, `YYYY-MM-DD`).
 */
export interface LabSchedule {
  /** DNS-label name, unique within the lab. */
  readonly name: string;
  readonly days: readonly Weekday[];
  /** `HH:MM` (24 h) local time. */
  readonly startTime?: string;
  readonly stopTime?: string;
  readonly timeZone: string;
  readonly startDate?: string;
  readonly endDate?: string;
}

/** What is asked of a lab (the spec of its `labs.labplane.io` object). */
export interface LabSpec {
  readonly tenant: string;
  /** DNS label of at most 40 characters (student VM names add 11 and must stay within 54). */
  readonly name: string;
  readonly displayName?: string;
  readonly course?: CourseRef;
  readonly template: LabTemplate;
  /** Get `administrator` on every VM of the lab. */
  readonly instructors: readonly LabPerson[];
  /** The roster: one VM each. Ids are unique. */
  readonly students: readonly LabPerson[];
  readonly schedules: readonly LabSchedule[];
  /** End of course (ISO 8601 with offset): VMs are stopped then, removed `endGracePeriodDays` later. */
  readonly endsAt?: string;
  /** A dropped student's VM is stopped at once and deleted this many hours later (0: at once). */
  readonly dropGracePeriodHours: number;
  /** After `endsAt`, VMs are deleted this many days later. */
  readonly endGracePeriodDays: number;
  /** The LMS course (LTI context) the lab is bound to by Deep Linking; its roster then follows the course (NRPS). */
  readonly lti?: LabLtiBinding;
  /** Auto-shutdown and usage quota of the lab's VMs; absent on labs stored before they existed (then off). */
  readonly costControls?: LabCostControls;
}

/** Why a student's provisioning failed (kept until the student is retried or dropped). */
export interface StudentFailure {
  /** From the catalogue (error-codes.ts). */
  readonly code: ErrorCode;
  readonly reason: string;
  readonly operationId: string;
  /** ISO 8601. */
  readonly at: string;
}

/** The schedule action last applied to a lab (so a restart neither repeats nor misses one). */
export interface AppliedScheduleEvent {
  readonly action: LabScheduleAction;
  /** When the event was due (ISO 8601). */
  readonly dueAt: string;
  /** Set once the event's operation was started (the claim is then settled). */
  readonly operationId?: string;
  /** While unsettled: when the claim was written (ISO 8601), so a claim whose writer died expires. */
  readonly claimedAt?: string;
  /** While unsettled: which scheduler wrote the claim. */
  readonly claimant?: string;
}

export type LabScheduleAction = 'start' | 'stop' | 'end' | 'remove';

/** What the platform records about a lab (the `status` of its object). */
export interface LabStoredStatus {
  /** `metadata.generation` the last sync was started for. */
  readonly observedGeneration?: number;
  /** Latest sync (create, roster, update, retry) operation. */
  readonly lastOperationId?: string;
  /** Student id → failure of their last provisioning. */
  readonly failures: Readonly<Record<string, StudentFailure>>;
  readonly schedule?: AppliedScheduleEvent;
  /** Generation at which `lab.ready` was last announced (announced once per generation). */
  readonly readyAnnouncedGeneration?: number;
  /** Set when deletion started (ISO 8601): the VMs go first, then the lab object. */
  readonly deletionRequestedAt?: string;
  /** The last roster sync from the LMS (labs bound to an LTI context). */
  readonly ltiSync?: LtiSyncStatus;
}

/** A lab as stored. */
export interface LabRecord extends LabSpec {
  readonly uid: string;
  /** ISO 8601. */
  readonly createdAt: string;
  /** Opaque version (resourceVersion): updates may require it. */
  readonly version: string;
  /** Grows with every spec change (metadata.generation). */
  readonly generation: number;
  readonly deleting: boolean;
  readonly status: LabStoredStatus;
}

/** A change of a lab's spec (PATCH); the roster changes through a roster sync only. */
export type LabChange = Partial<
  Pick<LabSpec, 'displayName' | 'course' | 'template' | 'instructors' | 'schedules' | 'endsAt' | 'dropGracePeriodHours' | 'endGracePeriodDays'>
>;

/** Job kinds of the lab use cases. */
export const LAB_SYNC_KIND = 'lab.sync';
export const LAB_STUDENT_KIND = 'lab.student';
export const LAB_POWER_KIND = 'lab.power';
export const LAB_DELETE_KIND = 'lab.delete';

/** Operation target id of a lab, and of one student of it. */
export function labTargetId(tenant: string, lab: string): string {
  return `${tenant}/${lab}`;
}
export function studentTargetId(tenant: string, lab: string, student: string): string {
  return `${tenant}/${lab}/${student}`;
}
