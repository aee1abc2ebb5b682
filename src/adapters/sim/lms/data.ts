import { ROLE } from '../../../domain/lti/claims.js';
import { SIM_PEOPLE, type SimPerson } from '../directory.js';

export type SimMemberStatus = 'Active' | 'Inactive';

/** A member of a simulated course. */
export interface SimMember {
  /** The LMS's user id (`sub`, NRPS `user_id`): opaque, stable. */
  readonly userId: string;
  readonly name: string;
  /** Absent: the user hides their email from tools (privacy setting). */
  readonly email?: string;
  /** Context role URIs. */
  readonly roles: readonly string[];
  status: SimMemberStatus;
}

/** A resource link placed in a course (by Deep Linking, or programmatically). */
export interface SimResourceLink {
  readonly id: string;
  readonly title: string;
  /** The tool URL it launches (content item `url`; the tool's launch URL when absent). */
  readonly url?: string;
  /** Custom parameters (string values), e.g. `{ labplane_lab: 'linux-101' }`. */
  readonly custom: Readonly<Record<string, string>>;
}

export interface SimCourse {
  /** Context id (also in the page URL). */
  readonly id: string;
  readonly label: string;
  readonly title: string;
  readonly members: SimMember[];
  readonly links: SimResourceLink[];
}

function byKey(key: string): SimPerson {
  const p = SIM_PEOPLE.find((x) => x.key === key);
  if (p === undefined) throw new Error(`no simulated person '${key}'`);
  return p;
}

function member(key: string, roles: readonly string[]): SimMember {
  const p = byKey(key);
  return { userId: `sim-${key}`, name: p.name, email: p.email, roles, status: 'Active' };
}

/**
 * The demo courses (deterministic, fresh objects on every call):
 * - `CS101` Introduction to Linux: one instructor, one teaching assistant, 30 learners whose emails
 *   are in the simulated directory, 2 learners whose emails are not (visiting students), and 1
 *   learner who hides their email;
 * - `NET210` Computer Networks: the same instructor and 5 learners.
 */
export function demoCourses(): SimCourse[] {
  const learners = Array.from({ length: 30 }, (_, i) => member(`learner-${String(i + 1).padStart(2, '0')}`, [ROLE.learner]));
  return [
    {
      id: 'CS101',
      label: 'CS101',
      title: 'Introduction to Linux',
      members: [
        member('instructor', [ROLE.instructor]),
        member('ta', [ROLE.teachingAssistant]),
        ...learners,
        { userId: 'sim-visitor-1', name: 'Vera Visitor', email: 'vera.visitor@partner.labplane.example', roles: [ROLE.learner], status: 'Active' },
        { userId: 'sim-visitor-2', name: 'Victor Guest', email: 'victor.guest@partner.labplane.example', roles: [ROLE.learner], status: 'Active' },
        { userId: 'sim-private-1', name: 'Pat Private', roles: [ROLE.learner], status: 'Active' },
      ],
      links: [],
    },
    {
      id: 'NET210',
      label: 'NET210',
      title: 'Computer Networks',
      members: [member('instructor', [ROLE.instructor]), ...Array.from({ length: 5 }, (_, i) => member(`net-learner-${i + 1}`, [ROLE.learner]))],
      links: [],
    },
  ];
}

/** Instructors, teaching assistants, content developers and administrators may place tools (Deep Linking). */
export function isInstructorLike(m: SimMember): boolean {
  return m.roles.some((r) => r !== ROLE.learner && r.startsWith('http://purl.imsglobal.org/vocab/lis/v2/membership'));
}
