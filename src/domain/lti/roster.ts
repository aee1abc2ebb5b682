import type { LabPerson } from '../labs/lab.js';
import type { UnresolvedMember } from './binding.js';
import type { Directory, DirectoryMatch, LtiMember } from './ports.js';
import { labRoleOf, type LabRole } from './roles.js';

/** The lab role of a member: instructor when any role says so, else student when any says so. */
export function memberRole(member: Pick<LtiMember, 'roles'>): LabRole | undefined {
  const roles = member.roles.map(labRoleOf);
  if (roles.includes('instructor')) return 'instructor';
  if (roles.includes('student')) return 'student';
  return undefined;
}

/** Addresses per `Directory.lookup` call. */
export const DIRECTORY_BATCH = 100;
/** Unresolved members kept in the lab's status (the counts say how many there were in all). */
export const MAX_LISTED_UNRESOLVED = 1000;

/** How a course's membership maps onto a lab. */
export interface LtiRoster {
  /** Active members with a lab role. */
  readonly members: number;
  /** Resolved, unique by directory id, sorted by id. */
  readonly students: readonly LabPerson[];
  readonly instructors: readonly LabPerson[];
  /** Members with a lab role who got no directory user (so no VM), sorted by LMS user id. */
  readonly unresolved: readonly UnresolvedMember[];
}

function clip(text: string | undefined, max: number): string | undefined {
  if (text === undefined) return undefined;
  // No control characters in stored names (the lab rules refuse them).
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, ' ').trim();
  return clean.length === 0 ? undefined : clean.slice(0, max);
}

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,253}$/;

/** Looks addresses up in batches of {@link DIRECTORY_BATCH}; keys of the result are lower-case. */
export async function lookupAll(directory: Directory, addresses: readonly string[], signal?: AbortSignal): Promise<Map<string, DirectoryMatch>> {
  const unique = [...new Set(addresses.map((a) => a.toLowerCase()))];
  const found = new Map<string, DirectoryMatch>();
  for (let i = 0; i < unique.length; i += DIRECTORY_BATCH) {
    signal?.throwIfAborted();
    const batch = unique.slice(i, i + DIRECTORY_BATCH);
    const res = await directory.lookup(batch, signal);
    for (const a of batch) found.set(a, res.get(a) ?? 'not-found');
  }
  return found;
}

/**
 * Maps NRPS members to lab people: inactive and deleted members, and those without a lab role, are
 * left out; the rest are matched to directory users by email (`Directory.lookup`, in batches). A
 * member without an email, whose address no directory user has, or several have, is listed as
 * unresolved. A directory user reached by two members is taken once, as instructor if either is one.
 */
export async function rosterFromMembers(members: readonly LtiMember[], directory: Directory, signal?: AbortSignal): Promise<LtiRoster> {
  const active = members
    .filter((m) => m.status === 'Active')
    .map((m) => ({ member: m, role: memberRole(m) }))
    .filter((x): x is { member: LtiMember; role: LabRole } => x.role !== undefined)
    .sort((a, b) => (a.member.lmsUserId < b.member.lmsUserId ? -1 : a.member.lmsUserId > b.member.lmsUserId ? 1 : 0));
  const emailOf = (m: LtiMember): string | undefined => {
    const e = m.email?.trim().toLowerCase();
    return e !== undefined && EMAIL.test(e) && e.length <= 320 ? e : undefined;
  };
  const found = await lookupAll(
    directory,
    active.map((x) => emailOf(x.member)).filter((e): e is string => e !== undefined),
    signal,
  );
  const people = new Map<string, { person: LabPerson; role: LabRole }>();
  const unresolved: UnresolvedMember[] = [];
  for (const { member, role } of active) {
    const email = emailOf(member);
    const match = email === undefined ? undefined : found.get(email);
    if (email === undefined || match === undefined || typeof match === 'string') {
      const name = clip(member.name, 256);
      const rawEmail = clip(member.email, 320);
      unresolved.push({
        lmsUserId: member.lmsUserId.slice(0, 255),
        ...(rawEmail === undefined ? {} : { email: rawEmail }),
        ...(name === undefined ? {} : { name }),
        role,
        reason: email === undefined ? 'no-email' : match === 'ambiguous' ? 'ambiguous' : 'not-in-directory',
      });
      continue;
    }
    const id = match.id.toLowerCase();
    const displayName = clip(member.name, 256) ?? clip(match.displayName, 256);
    const person: LabPerson = { id, email, ...(displayName === undefined ? {} : { displayName }), lmsUserId: member.lmsUserId.slice(0, 255) };
    const before = people.get(id);
    if (before === undefined || (before.role === 'student' && role === 'instructor')) people.set(id, { person, role });
  }
  const byId = (a: LabPerson, b: LabPerson) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  const all = [...people.values()];
  return {
    members: active.length,
    students: all
      .filter((p) => p.role === 'student')
      .map((p) => p.person)
      .sort(byId),
    instructors: all
      .filter((p) => p.role === 'instructor')
      .map((p) => p.person)
      .sort(byId),
    unresolved,
  };
}
