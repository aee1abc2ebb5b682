import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { decide } from '../../domain/auth/policy.js';
import { makePrincipal, type Principal } from '../../domain/auth/principal.js';
import { studentVmName } from '../../domain/labs/lab-rules.js';
import type { LabService } from '../../domain/labs/lab-service.js';
import type { LabView, StudentView } from '../../domain/labs/lab-view.js';
import type { LtiSyncStatus, UnresolvedMember } from '../../domain/lti/binding.js';
import type { LtiRosterSync, LtiSession, LtiSessionStore } from '../../domain/lti/ports.js';
import { isDomainError, NotFoundError, type DomainError } from '../../domain/shared/errors.js';
import type { Clock } from '../../domain/shared/ids.js';
import { MAX_PAGE_LIMIT } from '../../domain/shared/page.js';
import type { VmView } from '../../domain/vms/vm.js';
import type { VmService } from '../../domain/vms/vm-service.js';
import type { ApiModule } from '../module.js';
import { cookieValue } from '../plugins/auth.js';
import { statusOf } from '../problem.js';
import { identityDto } from '../rest/vms.js';
import { escapeHtml, LTI_CSS, ltiCsp, page, refusalPage } from './html.js';

/** The cookie a successful launch sets (HttpOnly, Secure, SameSite=None, Path=/lti): the session id. */
export const LTI_SESSION_COOKIE = 'lp_lti_session';
/** The page forms carry one token: a few hundred bytes. Larger bodies are refused (413). */
export const LTI_FORM_BODY_LIMIT = 4 * 1024;
export const LEARNER_PATH = '/lti/learner';
export const INSTRUCTOR_PATH = '/lti/instructor';
/** A lab's roster is read whole for the instructor page, at most this many students. */
const MAX_STUDENTS = 20 * MAX_PAGE_LIMIT;

export interface LtiPagesDeps {
  readonly sessions: Pick<LtiSessionStore, 'get'>;
  readonly labs: Pick<LabService, 'get' | 'students' | 'retryStudent'>;
  readonly vms: Pick<VmService, 'get' | 'power'>;
  readonly rosterSync: LtiRosterSync;
  readonly clock: Clock;
  /** CSP `frame-ancestors` of the pages (setting LTI_FRAME_ANCESTORS, default `*`): the LMS frames them. */
  readonly frameAncestors: string;
}

type Req<P = unknown, Q = unknown> = FastifyRequest<{ Params: P; Querystring: Q; Body: unknown }>;
type NoticeQuery = { notice?: string };

/** Short messages after an action (the query names one; its text never comes from the request). */
const NOTICES: Readonly<Record<string, string>> = {
  started: 'Your VM is starting. This page shows its state; reload it in a moment.',
  stopped: 'Your VM is stopping.',
  retried: 'Provisioning of the student started again.',
  'sync-started': 'A roster sync from the course started. Reload this page in a moment to see its outcome.',
};

/** A refusal the pages answer with a plain page (status, title, message). */
class PageRefusal extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    message: string,
  ) {
    super(message);
  }
}

const sessionEnded = () => new PageRefusal(401, 'Session ended', 'Your session has ended. Launch labplane again from your course.');

/** The learner as a tenant member: they may read and power their own VM and nothing else. */
export function learnerPrincipal(s: LtiSession & { readonly userId: string }): Principal {
  return makePrincipal({ id: s.userId, ...(s.name === undefined ? {} : { name: s.name }), tenantRoles: [[s.tenant, 'member']] });
}

/** The LMS integration acting for the instructor: `labs.manage` in the session's tenant only. */
export function instructorPrincipal(s: LtiSession): Principal {
  return {
    ...makePrincipal({ id: `lti:${s.registrationId}`, kind: 'service', integrationRoles: ['labs.manage'], integrationTenants: [s.tenant] }),
    onBehalfOf: personOf(s),
  };
}

/**
 * The tool reading a lab for a learner's page (their own roster entry and the lab's sync state;
 * nothing else of the lab is shown): `read` in the session's tenant, for the learner.
 */
function readerFor(s: LtiSession): Principal {
  return {
    ...makePrincipal({ id: `lti:${s.registrationId}`, kind: 'service', integrationRoles: ['read'], integrationTenants: [s.tenant] }),
    onBehalfOf: personOf(s),
  };
}

/** Who the session is: the directory object id, else the LMS user id. */
function personOf(s: LtiSession): string {
  return s.userId ?? `lms:${s.lmsUserId}`;
}

/** Constant-time comparison of two strings of any length (digests compared, not the strings). */
function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b) && given.length === expected.length;
}

function formField(body: unknown, name: string): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const v = (body as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : undefined;
}

/**
 * A form post must come from a page of this host: `Origin` absent (older clients) or naming this
 * host. The LMS frames the pages, but their forms post from our own origin (the pages send
 * `Referrer-Policy: same-origin`, so browsers name it rather than `null`).
 */
function refuseCrossOrigin(request: FastifyRequest): void {
  const origin = request.headers.origin;
  if (origin === undefined) return;
  let host: string | undefined;
  try {
    const url = new URL(origin);
    host = url.protocol === 'https:' || url.protocol === 'http:' ? url.host : undefined;
  } catch {
    host = undefined;
  }
  if (host === undefined || host !== request.host.toLowerCase())
    throw new PageRefusal(403, 'Request refused', 'The form was not sent from a labplane page. Reload the page and try again.');
}

function dateText(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function noticeHtml(query: NoticeQuery): string {
  const text = query.notice === undefined ? undefined : NOTICES[query.notice];
  return text === undefined ? '' : `      <p class="note" role="status">${escapeHtml(text)}</p>\n`;
}

function csrfField(s: LtiSession): string {
  return `<input type="hidden" name="csrf" value="${escapeHtml(s.csrf)}">`;
}

function button(action: string, label: string, s: LtiSession, extra = ''): string {
  return `<form method="post" action="${escapeHtml(action)}" class="inline">${csrfField(s)}<button type="submit"${extra}>${escapeHtml(label)}</button></form>`;
}

/** A definition list of label/value pairs (values are text, escaped here). */
function facts(rows: readonly (readonly [string, string])[]): string {
  return `      <dl>\n${rows.map(([k, v]) => `        <dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('\n')}\n      </dl>\n`;
}

const STUDENT_STATUS_TEXT: Readonly<Record<StudentView['status'], string>> = {
  pending: 'Waiting to be provisioned',
  provisioning: 'Being provisioned',
  ready: 'Ready',
  failed: 'Failed',
  dropped: 'Dropped from the course',
};

const REASON_TEXT: Readonly<Record<UnresolvedMember['reason'], string>> = {
  'no-email': 'The course gives no email address for them',
  'not-in-directory': 'Not found in the university directory',
  ambiguous: 'More than one directory user matches their email',
};

function syncSection(sync: LtiSyncStatus | undefined, heading: string, detailed: boolean): string {
  if (sync === undefined) return `      <h2>${escapeHtml(heading)}</h2>\n      <p>No roster sync from the course has run yet.</p>\n`;
  const outcome = sync.outcome === 'succeeded' ? 'Succeeded' : `Failed${sync.message === undefined ? '' : `: ${sync.message}`}`;
  const rows: [string, string][] = [
    ['Last sync', dateText(sync.at)],
    ['Started by', sync.trigger === 'manual' ? 'an instructor' : sync.trigger === 'launch' ? 'a launch from the course' : 'the schedule'],
    ['Outcome', outcome],
  ];
  if (detailed && sync.members !== undefined) rows.push(['Course members', String(sync.members)]);
  if (detailed && sync.students !== undefined) rows.push(['Students', String(sync.students)]);
  if (detailed && sync.instructors !== undefined) rows.push(['Instructors', String(sync.instructors)]);
  let out = `      <h2>${escapeHtml(heading)}</h2>\n${facts(rows)}`;
  const unresolved = sync.unresolved ?? [];
  if (detailed && unresolved.length > 0) {
    out += `      <h3>Members without a VM (${unresolved.length})</h3>
      <table>
        <caption>Course members who could not be matched to a university directory user</caption>
        <thead><tr><th scope="col">Name</th><th scope="col">Email</th><th scope="col">Role</th><th scope="col">Reason</th></tr></thead>
        <tbody>
${unresolved
  .map(
    (m) =>
      `          <tr><td>${escapeHtml(m.name ?? m.lmsUserId)}</td><td>${escapeHtml(m.email ?? '—')}</td><td>${escapeHtml(m.role)}</td><td>${escapeHtml(REASON_TEXT[m.reason])}</td></tr>`,
  )
  .join('\n')}
        </tbody>
      </table>\n`;
  }
  return out;
}

/** Every student of the lab (pages read in turn, at most {@link MAX_STUDENTS}). */
async function allStudents(labs: LtiPagesDeps['labs'], p: Principal, tenant: string, lab: string): Promise<StudentView[]> {
  const out: StudentView[] = [];
  let cursor: string | undefined;
  do {
    const res = await labs.students(p, tenant, lab, {}, { limit: MAX_PAGE_LIMIT, ...(cursor === undefined ? {} : { cursor }) });
    out.push(...res.items);
    cursor = res.nextCursor;
  } while (cursor !== undefined && out.length < MAX_STUDENTS);
  return out;
}

function learnerVmHtml(s: LtiSession & { readonly userId: string }, vm: VmView, student: StudentView | undefined): string {
  const p = learnerPrincipal(s);
  const mayPower = decide(p, 'vm.power', { tenant: s.tenant, ownerId: vm.ownerId }).effect === 'allow';
  const rows: [string, string][] = [
    ['VM name', vm.name],
    ['Power state', `${vm.state}${vm.running ? ' (set to run)' : ' (set to stay off)'}`],
  ];
  if (student !== undefined) rows.push(['Provisioning', STUDENT_STATUS_TEXT[student.status]]);
  if (student?.reason !== undefined) rows.push(['Why', student.reason]);
  if (vm.message !== undefined) rows.push(['Details', vm.message]);
  let out = `      <h2>Your VM</h2>\n${facts(rows)}`;
  const actions: string[] = [];
  if (mayPower && vm.availableActions.includes('start')) actions.push(button(`${LEARNER_PATH}/start`, 'Start VM', s));
  if (mayPower && vm.availableActions.includes('stop')) actions.push(button(`${LEARNER_PATH}/stop`, 'Stop VM', s, ' class="secondary"'));
  if (actions.length > 0) out += `      <p>${actions.join(' ')}</p>\n`;
  out += '      <h2>Signing in</h2>\n';
  if (!vm.arc || vm.identity === undefined) {
    out += vm.arc
      ? '      <p>Your VM is not connected to Azure yet; the sign-in command appears here once it is.</p>\n'
      : '      <p>This VM does not use university (Azure AD) sign-in; ask your instructor how to reach it.</p>\n';
    return out;
  }
  const identity = identityDto(vm.identity);
  const yesNo = (b: boolean) => (b ? 'Yes' : 'Not yet');
  out += facts([
    ['Azure Arc', identity.arc.status],
    ['SSH sign-in extension', identity.extension.state],
    ['Access granted (ready to sign in)', yesNo(identity.ready)],
  ]);
  if (identity.connectCommand !== undefined) {
    out += `      <p id="ssh-hint">Run this command in a terminal with the Azure CLI signed in to your university account (select it and copy it):</p>
      <pre aria-describedby="ssh-hint"><code>${escapeHtml(identity.connectCommand)}</code></pre>\n`;
  }
  return out;
}

function studentRow(st: StudentView, s: LtiSession): string {
  const name = st.displayName ?? st.id;
  const retry =
    st.status === 'failed'
      ? button(`${INSTRUCTOR_PATH}/students/${encodeURIComponent(st.id)}/retry`, 'Retry', s, ` aria-label="Retry ${escapeHtml(name)}"`)
      : '';
  return `          <tr><td>${escapeHtml(name)}</td><td>${escapeHtml(st.email ?? '—')}</td><td class="status">${escapeHtml(STUDENT_STATUS_TEXT[st.status])}</td><td>${escapeHtml(st.vmState ?? '—')}</td><td>${escapeHtml(st.reason ?? '')}</td><td>${retry}</td></tr>`;
}

function instructorHtml(s: LtiSession, lab: LabView, students: readonly StudentView[], notice: string): string {
  const sm = lab.summary;
  let out = notice;
  out += facts([
    ['Lab', lab.displayName === undefined ? lab.name : `${lab.displayName} (${lab.name})`],
    ['Course', lab.lti?.contextTitle ?? s.contextTitle ?? (lab.course === undefined ? '—' : `${lab.course.lms} ${lab.course.courseId}`)],
    ['Phase', lab.phase],
    [
      'Students',
      `${sm.total} in total: ${sm.ready} ready, ${sm.provisioning} being provisioned, ${sm.pending} waiting, ${sm.failed} failed, ${sm.dropped} dropped`,
    ],
  ]);
  out += `      <h2>Students</h2>\n`;
  out +=
    students.length === 0
      ? '      <p>No students on the roster yet.</p>\n'
      : `      <table>
        <caption>Students of the lab and their VMs</caption>
        <thead><tr><th scope="col">Name</th><th scope="col">Email</th><th scope="col">Status</th><th scope="col">VM state</th><th scope="col">Failure reason</th><th scope="col">Action</th></tr></thead>
        <tbody>
${students.map((st) => studentRow(st, s)).join('\n')}
        </tbody>
      </table>\n`;
  if (lab.lti === undefined) {
    out +=
      '      <h2>Roster from the course</h2>\n      <p>This lab is not linked to a course, so its roster does not follow a course. Add labplane to your course (Deep Linking) to link it.</p>\n';
    return out;
  }
  out += syncSection(lab.ltiSync, 'Roster from the course', true);
  out +=
    lab.lti.membershipsUrl === undefined
      ? '      <p>The course does not share its membership with labplane, so the roster cannot be synced.</p>\n'
      : `      <p>${button(`${INSTRUCTOR_PATH}/sync`, 'Sync roster now', s)}</p>\n`;
  return out;
}

/** The learner and instructor pages a launch lands on, and their actions (see the contract, tag `lti`). */
export function ltiPagesModule(deps: LtiPagesDeps): ApiModule {
  const { sessions, labs, vms, rosterSync, clock } = deps;
  const csp = ltiCsp(deps.frameAncestors);

  function send(reply: FastifyReply, status: number, html: string): FastifyReply {
    // Framed by the LMS: its own frame-ancestors policy instead of the app's X-Frame-Options.
    reply.removeHeader('x-frame-options');
    return reply
      .code(status)
      .header('content-security-policy', csp)
      .header('cache-control', 'no-store')
      .header('referrer-policy', 'same-origin')
      .type('text/html; charset=utf-8')
      .send(html);
  }

  function redirect(reply: FastifyReply, path: string, notice: string): FastifyReply {
    reply.removeHeader('x-frame-options');
    return reply.code(303).header('cache-control', 'no-store').header('location', `${path}?notice=${notice}`).send();
  }

  async function sessionOf(request: FastifyRequest, role: LtiSession['role']): Promise<LtiSession> {
    const id = cookieValue(request.headers.cookie, LTI_SESSION_COOKIE);
    if (id === undefined || id === '' || id.length > 256) throw sessionEnded();
    const s = await sessions.get(id);
    if (s === undefined || s.expiresAt <= clock.now().getTime()) throw sessionEnded();
    if (s.role !== role)
      throw new PageRefusal(
        403,
        'Not available',
        role === 'instructor' ? 'This page is for the instructors of the course.' : 'This page is for the students of the course.',
      );
    return s;
  }

  /** A POST's session, after the origin and the `csrf` form field are checked. */
  async function formSession(request: FastifyRequest, role: LtiSession['role']): Promise<LtiSession> {
    const s = await sessionOf(request, role);
    refuseCrossOrigin(request);
    const given = formField(request.body, 'csrf');
    if (given === undefined || !sameSecret(given, s.csrf))
      throw new PageRefusal(403, 'Request refused', 'The form has expired or was not sent from this page. Reload the page and try again.');
    return s;
  }

  /** Runs a page or an action; refusals and domain errors become plain pages, never a stack trace. */
  async function guarded(request: FastifyRequest, reply: FastifyReply, run: () => Promise<FastifyReply>): Promise<FastifyReply> {
    try {
      return await run();
    } catch (err) {
      if (err instanceof PageRefusal) {
        request.log.info({ status: err.status }, 'lti page refused');
        return send(reply, err.status, refusalPage(err.title, err.message));
      }
      if (isDomainError(err) && statusOf(err) < 500) {
        request.log.info({ code: err.code }, 'lti page action refused');
        return send(reply, statusOf(err), refusalPage(titleOf(err), err.message));
      }
      if (isDomainError(err)) {
        request.log.warn({ code: err.code }, 'lti page: a dependency is unavailable');
        return send(reply, statusOf(err), refusalPage('Try again later', 'labplane cannot do this right now. Try again in a minute.'));
      }
      request.log.error({ err }, 'lti page failed');
      return send(
        reply,
        500,
        refusalPage('Something went wrong', 'labplane could not show this page. Try again; if it keeps failing, tell your instructor.'),
      );
    }
  }

  async function learnerVm(s: LtiSession & { readonly userId: string; readonly lab: string }): Promise<VmView | undefined> {
    try {
      const vm = await vms.get(learnerPrincipal(s), s.tenant, studentVmName(s.lab, s.userId));
      return vm.lab === s.lab ? vm : undefined;
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }

  async function learnerPower(request: Req, reply: FastifyReply, action: 'start' | 'stop'): Promise<FastifyReply> {
    return guarded(request, reply, async () => {
      const s = await formSession(request, 'learner');
      if (s.userId === undefined || s.lab === undefined)
        throw new PageRefusal(409, 'No VM', 'You have no VM in this course, so there is nothing to start or stop.');
      const withVm = { ...s, userId: s.userId, lab: s.lab };
      const vm = await learnerVm(withVm);
      if (vm === undefined) throw new PageRefusal(409, 'No VM yet', 'Your VM is not there yet, so it cannot be started or stopped.');
      request.principal = learnerPrincipal(withVm);
      await vms.power(request.principal, s.tenant, vm.name, action);
      return redirect(reply, LEARNER_PATH, action === 'start' ? 'started' : 'stopped');
    });
  }

  /** The instructor's lab; a missing lab (or none) sends them to Deep Linking. */
  async function instructorLab(s: LtiSession): Promise<{ p: Principal; lab: LabView } | undefined> {
    const p = instructorPrincipal(s);
    if (s.lab === undefined) return undefined;
    let lab: LabView;
    try {
      lab = await labs.get(p, s.tenant, s.lab);
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
    // A lab bound to a course is managed from that course only (a link copied elsewhere reaches nothing).
    const bound = lab.lti;
    if (bound !== undefined && (bound.registrationId !== s.registrationId || bound.contextId !== s.contextId))
      throw new PageRefusal(403, 'Not available', 'This lab belongs to another course. Open it from the course it was added to.');
    return { p, lab };
  }

  const noLabPage = () =>
    page(
      'No lab in this course yet',
      '      <p>This course has no labplane lab yet. Add labplane to the course as an activity (the LMS offers it as an external tool): choosing a lab there links it to the course, and this page then shows it.</p>',
    );

  return {
    name: 'lti-pages',
    handlers: {
      async getLtiLearnerPage(request: Req<unknown, NoticeQuery>, reply: FastifyReply) {
        return guarded(request, reply, async () => {
          const s = await sessionOf(request, 'learner');
          if (s.userId === undefined) {
            return send(
              reply,
              200,
              page(
                'No VM for you',
                '      <p>You are not in the university directory (the email address your course gives for you matched no university account), so labplane made no VM for you. Ask your instructor or the IT service desk.</p>',
              ),
            );
          }
          if (s.lab === undefined)
            return send(
              reply,
              200,
              page('No lab yet', '      <p>Your course has no labplane lab yet. Your instructor has to add it; try again later.</p>'),
            );
          const withVm = { ...s, userId: s.userId, lab: s.lab };
          const reader = readerFor(s);
          const [lab, vm] = await Promise.all([labs.get(reader, s.tenant, s.lab), learnerVm(withVm)]);
          const student = (await allStudents(labs, reader, s.tenant, s.lab)).find((st) => st.id === s.userId);
          const title = `Your VM in ${lab.displayName ?? lab.name}`;
          if (vm !== undefined) return send(reply, 200, page(title, noticeHtml(request.query) + learnerVmHtml(withVm, vm, student)));
          const body =
            student === undefined
              ? '      <p class="status">You are not on the lab\u2019s roster yet.</p>\n      <p>The roster follows your course; once the next sync from the course adds you, your VM is prepared. Come back to this page later.</p>\n'
              : `      <p class="status">Your VM is being prepared (${escapeHtml(STUDENT_STATUS_TEXT[student.status])}).</p>\n${student.reason === undefined ? '' : `      <p>${escapeHtml(student.reason)}</p>\n`}      <p>Come back to this page in a few minutes.</p>\n`;
          return send(reply, 200, page(title, noticeHtml(request.query) + body + syncSection(lab.ltiSync, 'Roster from your course', false)));
        });
      },

      async startLtiLearnerVm(request: Req, reply: FastifyReply) {
        return learnerPower(request, reply, 'start');
      },

      async stopLtiLearnerVm(request: Req, reply: FastifyReply) {
        return learnerPower(request, reply, 'stop');
      },

      async getLtiInstructorPage(request: Req<unknown, NoticeQuery>, reply: FastifyReply) {
        return guarded(request, reply, async () => {
          const s = await sessionOf(request, 'instructor');
          const found = await instructorLab(s);
          if (found === undefined) return send(reply, 200, noLabPage());
          const students = await allStudents(labs, found.p, s.tenant, found.lab.name);
          return send(
            reply,
            200,
            page(`Lab ${found.lab.displayName ?? found.lab.name}`, instructorHtml(s, found.lab, students, noticeHtml(request.query))),
          );
        });
      },

      async retryLtiLabStudent(request: Req<{ student: string }>, reply: FastifyReply) {
        return guarded(request, reply, async () => {
          const s = await formSession(request, 'instructor');
          const found = await instructorLab(s);
          if (found === undefined) return send(reply, 404, noLabPage());
          request.principal = found.p;
          await labs.retryStudent(found.p, s.tenant, found.lab.name, request.params.student);
          return redirect(reply, INSTRUCTOR_PATH, 'retried');
        });
      },

      async syncLtiLabRoster(request: Req, reply: FastifyReply) {
        return guarded(request, reply, async () => {
          const s = await formSession(request, 'instructor');
          const found = await instructorLab(s);
          if (found === undefined) return send(reply, 404, noLabPage());
          if (found.lab.lti === undefined)
            throw new PageRefusal(
              409,
              'Not linked to a course',
              'This lab is not linked to a course; add labplane to the course (Deep Linking) first.',
            );
          request.principal = found.p;
          // The port starts the sync without checking the caller: the page did (lab.write on this lab, above).
          if (decide(found.p, 'lab.write', { tenant: s.tenant }).effect !== 'allow')
            throw new PageRefusal(403, 'Not available', 'You may not change this lab.');
          await rosterSync.start(s.tenant, found.lab.name, 'manual', personOf(s));
          return redirect(reply, INSTRUCTOR_PATH, 'sync-started');
        });
      },
    },
  };
}

/**
 * The pages' stylesheet (`/lti/assets/lti.css`). Served by whichever LTI module mounts first: the
 * launch module serves it as well, and an operationId is handled by one module only.
 */
export function ltiStylesheetModule(): ApiModule {
  return {
    name: 'lti-stylesheet',
    handlers: {
      async getLtiStylesheet(_request: FastifyRequest, reply: FastifyReply) {
        return reply.header('cache-control', 'public, max-age=3600').type('text/css; charset=utf-8').send(LTI_CSS);
      },
    },
  };
}

function titleOf(err: DomainError): string {
  switch (err.kind) {
    case 'not_found':
      return 'Not found';
    case 'conflict':
      return 'Not possible now';
    case 'forbidden':
      return 'Not allowed';
    default:
      return 'Request refused';
  }
}
