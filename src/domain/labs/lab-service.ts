import type { Principal } from '../auth/principal.js';
import type { AccessRole } from '../identity/access.js';
import type { ImageRef } from '../images/image.js';
import type { Operation } from '../operations/operation.js';
import type { Page, PageRequest } from '../shared/page.js';
import type { CourseRef, LabPerson, LabSchedule } from './lab.js';
import type { LabPhase, LabProgressEvent, LabView, RosterDiff, StudentStatus, StudentView } from './lab-view.js';

/** A lab template as callers give it (defaults: arc false, studentRole user, no SSH keys). */
export interface LabTemplateInput {
  readonly image: ImageRef;
  readonly instanceType?: string;
  readonly cpu?: number;
  readonly memoryGi?: number;
  readonly diskGi: number;
  readonly storageClass: string;
  readonly arc?: boolean;
  readonly studentRole?: AccessRole;
  readonly sshPublicKeys?: readonly string[];
}

export interface CreateLabInput {
  readonly name: string;
  readonly displayName?: string;
  readonly course?: CourseRef;
  readonly template: LabTemplateInput;
  readonly instructors?: readonly LabPerson[];
  readonly students?: readonly LabPerson[];
  readonly schedules?: readonly LabSchedule[];
  readonly endsAt?: string;
  /** Default 72. */
  readonly dropGracePeriodHours?: number;
  /** Default 14. */
  readonly endGracePeriodDays?: number;
}

/** A PATCH: absent fields stay; `null` clears an optional one. The template applies to VMs made from now on. */
export interface UpdateLabInput {
  readonly displayName?: string | null;
  readonly course?: CourseRef | null;
  readonly template?: LabTemplateInput;
  readonly instructors?: readonly LabPerson[];
  readonly schedules?: readonly LabSchedule[];
  readonly endsAt?: string | null;
  readonly dropGracePeriodHours?: number;
  readonly endGracePeriodDays?: number;
}

export interface LabListFilter {
  readonly lms?: string;
  readonly courseId?: string;
  readonly phase?: LabPhase;
}

/**
 * Lab use cases. Every method authorizes first (`lab.read` / `lab.write`; another tenant's labs
 * are 404), validates, checks the quota for the whole lab before anything is written, then writes
 * the lab object and starts operations.
 */
export interface LabService {
  list(p: Principal, tenant: string, filter: LabListFilter, page: PageRequest): Promise<Page<LabView>>;
  get(p: Principal, tenant: string, name: string): Promise<LabView>;
  /** Writes the lab and starts its provisioning (`lab.sync`, one `lab.student` child per student). */
  create(p: Principal, tenant: string, input: CreateLabInput): Promise<Operation>;
  /** With `ifMatch` (the lab's `version`), a stale version is PreconditionFailedError. Instructor changes start a `lab.sync`. */
  update(p: Principal, tenant: string, name: string, input: UpdateLabInput, ifMatch?: string): Promise<LabView>;
  /** Starts `lab.delete`: every student VM goes (with its Arc machine), then the lab. */
  delete(p: Principal, tenant: string, name: string): Promise<Operation>;
  /**
   * Replaces the roster (idempotent): added students are provisioned, removed ones dropped (VM
   * stopped and access revoked at once, VM deleted after the grace period), unchanged ones untouched.
   */
  syncRoster(p: Principal, tenant: string, name: string, students: readonly LabPerson[]): Promise<{ readonly operation: Operation; readonly diff: RosterDiff }>;
  /** Roster students (and dropped students still holding a VM) with their status, sorted by id. */
  students(p: Principal, tenant: string, name: string, filter: { readonly status?: StudentStatus }, page: PageRequest): Promise<Page<StudentView>>;
  /** Provisions one failed (or pending) student again, alone. */
  retryStudent(p: Principal, tenant: string, name: string, studentId: string): Promise<Operation>;
  /** Delivers the lab's progress as its VMs and operations change; authorizes at subscription time. */
  watchProgress(p: Principal, tenant: string, name: string, listener: (event: LabProgressEvent) => void): Promise<{ unsubscribe(): void }>;
}
