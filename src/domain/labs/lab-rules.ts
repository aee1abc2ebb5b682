import { createHash } from 'node:crypto';
import { ACCESS_ROLES, type AccessRole } from '../identity/access.js';
import { isStorageClass } from '../images/image-rules.js';
import type { FieldIssue } from '../shared/errors.js';
import { costControlsIssues } from '../usage/cost-controls.js';
import { DNS_LABEL } from '../shared/ids.js';
import { diskIssues, sshKeyIssues } from '../vms/vm-rules.js';
import type { LabPerson } from './lab.js';
import type { RosterDiff } from './lab-view.js';
import type { CreateLabInput, LabPersonInput, LabTemplateInput, UpdateLabInput } from './lab-inputs.js';

/** Student VM names add `-` and 10 hex digits to the lab name and must stay within 54 (Arc). */
export const MAX_LAB_NAME = 40;
export const MAX_STUDENTS = 2000;
export const MAX_INSTRUCTORS = 50;
export const DEFAULT_DROP_GRACE_HOURS = 72;
export const DEFAULT_END_GRACE_DAYS = 14;
const MAX_DROP_GRACE_HOURS = 24 * 90;
const MAX_END_GRACE_DAYS = 365;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,253}$/;
const LMS = /^[a-z][a-z0-9-]{0,31}$/;

/** True when the text holds a control character (C0 or DEL). */
function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/**
 * The VM of a student in a lab: deterministic (a retry converges on the same VM), free of personal
 * data (a hash of the object id), a DNS label of at most 51 characters.
 */
export function studentVmName(lab: string, studentId: string): string {
  const digest = createHash('sha256').update(`labplane-student:${studentId.toLowerCase()}`).digest('hex');
  return `${lab}-${digest.slice(0, 10)}`;
}

/** Object ids are compared and stored lower-case. */
export function normalizePerson(p: LabPerson): LabPerson {
  return {
    id: p.id.toLowerCase(),
    ...(p.email === undefined ? {} : { email: p.email }),
    ...(p.displayName === undefined ? {} : { displayName: p.displayName }),
    ...(p.lmsUserId === undefined ? {} : { lmsUserId: p.lmsUserId }),
  };
}

export function labNameIssues(name: string): FieldIssue[] {
  return name.length <= MAX_LAB_NAME && DNS_LABEL.test(name)
    ? []
    : [{ field: '/name', message: `must be a DNS label of at most ${MAX_LAB_NAME} characters` }];
}

/** Issues of a list of people (ids are Azure AD object ids, unique). */
export function peopleIssues(people: readonly LabPersonInput[], field: string, max: number): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (people.length > max) return [{ field, message: `at most ${max} entries` }];
  const seen = new Set<string>();
  people.forEach((p, i) => {
    const id = typeof p.id === 'string' ? p.id.toLowerCase() : '';
    if (!GUID.test(id)) issues.push({ field: `${field}/${i}/id`, message: 'must be an Azure AD object id (a GUID)' });
    else if (seen.has(id)) issues.push({ field: `${field}/${i}/id`, message: 'appears twice' });
    seen.add(id);
    if (p.email !== undefined && !EMAIL.test(p.email)) issues.push({ field: `${field}/${i}/email`, message: 'must be an email address' });
    if (p.displayName !== undefined && (p.displayName.length > 256 || hasControl(p.displayName))) {
      issues.push({ field: `${field}/${i}/displayName`, message: 'at most 256 characters, no control characters' });
    }
    if (p.lmsUserId !== undefined && (p.lmsUserId.length < 1 || p.lmsUserId.length > 255 || hasControl(p.lmsUserId))) {
      issues.push({ field: `${field}/${i}/lmsUserId`, message: '1-255 characters, no control characters' });
    }
  });
  return issues;
}

/** Issues of a template that do not need the tenant (size and image are checked against it later). */
export function templateIssues(t: LabTemplateInput): FieldIssue[] {
  const issues: FieldIssue[] = diskIssues(t.diskGi).map((i) => ({ ...i, field: `/template${i.field}` }));
  if (!isStorageClass(t.storageClass)) issues.push({ field: '/template/storageClass', message: 'must be kv-premium-retain or kv-standard' });
  if (t.studentRole !== undefined && !ACCESS_ROLES.includes(t.studentRole))
    issues.push({ field: '/template/studentRole', message: 'must be user or administrator' });
  issues.push(...sshKeyIssues(t.sshPublicKeys ?? [], { required: t.arc !== true }).map((i) => ({ ...i, field: `/template${i.field}` })));
  return issues;
}

function graceIssues(input: { readonly dropGracePeriodHours?: number; readonly endGracePeriodDays?: number }): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const h = input.dropGracePeriodHours;
  if (h !== undefined && (!Number.isInteger(h) || h < 0 || h > MAX_DROP_GRACE_HOURS))
    issues.push({ field: '/dropGracePeriodHours', message: `must be a whole number of hours, 0-${MAX_DROP_GRACE_HOURS}` });
  const d = input.endGracePeriodDays;
  if (d !== undefined && (!Number.isInteger(d) || d < 0 || d > MAX_END_GRACE_DAYS))
    issues.push({ field: '/endGracePeriodDays', message: `must be a whole number of days, 0-${MAX_END_GRACE_DAYS}` });
  return issues;
}

function courseIssues(course: { readonly lms: string; readonly courseId: string } | null | undefined): FieldIssue[] {
  if (course === undefined || course === null) return [];
  const issues: FieldIssue[] = [];
  if (!LMS.test(course.lms)) issues.push({ field: '/course/lms', message: 'must be a lower-case name like canvas or moodle' });
  if (course.courseId.length < 1 || course.courseId.length > 128 || hasControl(course.courseId)) {
    issues.push({ field: '/course/courseId', message: '1-128 characters, no control characters' });
  }
  return issues;
}

function displayNameIssues(displayName: string | null | undefined): FieldIssue[] {
  if (displayName === undefined || displayName === null) return [];
  return displayName.length <= 256 && !hasControl(displayName)
    ? []
    : [{ field: '/displayName', message: 'at most 256 characters, no control characters' }];
}

/** Everything about a create request that needs neither the tenant nor the cluster (schedules aside). */
export function createIssues(input: CreateLabInput): FieldIssue[] {
  return [
    ...labNameIssues(input.name),
    ...displayNameIssues(input.displayName),
    ...courseIssues(input.course),
    ...templateIssues(input.template),
    ...peopleIssues(input.instructors ?? [], '/instructors', MAX_INSTRUCTORS),
    ...peopleIssues(input.students ?? [], '/students', MAX_STUDENTS),
    ...graceIssues(input),
    ...(input.costControls === undefined ? [] : costControlsIssues(input.costControls, '/costControls', { lab: true })),
  ];
}

export function updateIssues(input: UpdateLabInput): FieldIssue[] {
  return [
    ...displayNameIssues(input.displayName),
    ...courseIssues(input.course),
    ...(input.template === undefined ? [] : templateIssues(input.template)),
    ...(input.instructors === undefined ? [] : peopleIssues(input.instructors, '/instructors', MAX_INSTRUCTORS)),
    ...graceIssues(input),
    ...(input.costControls === undefined ? [] : costControlsIssues(input.costControls, '/costControls', { lab: true, update: true })),
  ];
}

/** Two students of a lab whose VM names collide (40 bits of hash: practically never); the second must not be provisioned. */
export function vmNameCollisions(lab: string, students: readonly LabPerson[]): FieldIssue[] {
  const seen = new Map<string, number>();
  const issues: FieldIssue[] = [];
  students.forEach((s, i) => {
    const vm = studentVmName(lab, s.id);
    if (seen.has(vm))
      issues.push({ field: `/students/${i}/id`, message: `its VM name collides with student ${seen.get(vm)}; contact the platform team` });
    seen.set(vm, i);
  });
  return issues;
}

/** What replacing `before` by `after` changes (by normalized id). */
export function rosterDiff(before: readonly LabPerson[], after: readonly LabPerson[]): RosterDiff {
  const old = new Map(before.map((p) => [p.id, p]));
  const next = new Map(after.map((p) => [p.id, p]));
  const added = [...next.keys()].filter((id) => !old.has(id)).sort();
  const removed = [...old.keys()].filter((id) => !next.has(id)).sort();
  const updated = [...next.entries()]
    .filter(([id, p]) => {
      const o = old.get(id);
      return o !== undefined && (o.email !== p.email || o.displayName !== p.displayName || o.lmsUserId !== p.lmsUserId);
    })
    .map(([id]) => id)
    .sort();
  const unchanged = [...next.keys()].filter((id) => old.has(id)).length - updated.length;
  return { added, removed, updated, unchanged };
}

export function isAccessRole(v: unknown): v is AccessRole {
  return v === 'administrator' || v === 'user';
}
