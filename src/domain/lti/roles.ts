/** Context roles of LTI 1.3 (Core §A.2.3, the LIS v2 membership vocabulary), read in one place. */

const MEMBERSHIP = 'http://purl.imsglobal.org/vocab/lis/v2/membership';
/** LTI 1.1 / LIS v1 role URNs some platforms still send. */
const LIS_V1 = 'urn:lti:role:ims/lis/';

/** A context role's principal role (`Instructor`, `Learner`, ...) and sub-role, if any. */
export interface ContextRole {
  readonly principal: string;
  readonly sub?: string;
}

/**
 * Reads a context role in any of its forms: full URI (`…/membership#Instructor`,
 * `…/membership/Instructor#TeachingAssistant`), the deprecated short forms (`Instructor`,
 * `Instructor#TeachingAssistant`) and LIS v1 URNs (`urn:lti:role:ims/lis/Instructor/TeachingAssistant`).
 * System and institution roles, and anything else, give undefined.
 */
export function contextRole(role: string): ContextRole | undefined {
  const r = role.trim();
  let rest: string;
  let separator: string;
  if (r.startsWith(`${MEMBERSHIP}#`)) return { principal: r.slice(MEMBERSHIP.length + 1) };
  if (r.startsWith(`${MEMBERSHIP}/`)) [rest, separator] = [r.slice(MEMBERSHIP.length + 1), '#'];
  else if (r.startsWith(LIS_V1)) [rest, separator] = [r.slice(LIS_V1.length), '/'];
  else if (!r.includes(':') && !r.includes('/')) [rest, separator] = [r, '#'];
  else return undefined;
  const [principal, sub] = rest.split(separator, 2);
  if (principal === undefined || principal === '') return undefined;
  return sub === undefined ? { principal } : { principal, sub };
}

/** What a course member becomes in a lab. */
export type LabRole = 'student' | 'instructor';

/**
 * The lab role of one context role: Learner and its sub-roles are students; Instructor and its
 * sub-roles (TeachingAssistant, Lecturer, ...) and the short `TeachingAssistant` are instructors; any
 * other role (Mentor, ContentDeveloper, Administrator, ...) gives nothing.
 */
export function labRoleOf(role: string): LabRole | undefined {
  const c = contextRole(role);
  if (c === undefined) return undefined;
  if (c.principal === 'Instructor' || (c.sub === undefined && c.principal === 'TeachingAssistant')) return 'instructor';
  if (c.principal === 'Learner') return 'student';
  return undefined;
}

/** Context roles that manage the course without teaching it: they get the instructor's pages too. */
const COURSE_STAFF: ReadonlySet<string> = new Set(['ContentDeveloper', 'Administrator']);

/**
 * Who a launch is: instructors (with their sub-roles and teaching assistants), content developers and
 * administrators of the context are `instructor`; everyone else a learner.
 */
export function launchRole(roles: readonly string[]): 'learner' | 'instructor' {
  return roles.some((r) => labRoleOf(r) === 'instructor' || COURSE_STAFF.has(contextRole(r)?.principal ?? '')) ? 'instructor' : 'learner';
}
