import type { FastifyReply, FastifyRequest } from 'fastify';
import { SignJWT } from 'jose';
import { CLAIM, LTI_VERSION, MESSAGE_TYPE } from '../../domain/lti/claims.js';
import { LtiLaunchRefused, type LaunchClaims } from '../../domain/lti/launch.js';
import type { LtiSession } from '../../domain/lti/ports.js';
import type { LtiRegistration } from '../../domain/lti/registration.js';
import type { LabRecord } from '../../domain/labs/lab.js';
import type { Image, ImageOwner } from '../../domain/images/image.js';
import { isDomainError, ValidationError } from '../../domain/shared/errors.js';
import { statusOfCode } from '../../domain/shared/error-codes.js';
import type { Clock } from '../../domain/shared/ids.js';
import { cookieValue } from '../plugins/auth.js';
import { escapeHtml, page } from './html.js';
import {
  fields,
  integrationPrincipal,
  LTI_DEEP_LINK_PATH,
  LTI_DEEP_LINK_SCRIPT,
  LTI_LAUNCH_PATH,
  LTI_SESSION_COOKIE,
  randomToken,
  sameSecret,
  toolBase,
  type LtiLaunchDeps,
} from './common.js';

/** Size presets of the "new lab" form: CPU cores, memory and disk GiB of every student VM. */
export const LAB_SIZES = {
  small: { cpu: 1, memoryGi: 2, diskGi: 20 },
  medium: { cpu: 2, memoryGi: 4, diskGi: 40 },
  large: { cpu: 4, memoryGi: 8, diskGi: 80 },
} as const;
type LabSize = keyof typeof LAB_SIZES;

/** A Deep Linking response is valid this long, seconds. */
const RESPONSE_TTL_SECONDS = 300;

interface DeepLinkDeps extends LtiLaunchDeps {
  readonly clock: Clock;
  sendPage(reply: FastifyReply, status: number, html: string, frameAncestors: string, formAction?: readonly string[]): FastifyReply;
  refusalReply(reply: FastifyReply, err: LtiLaunchRefused): FastifyReply;
}

interface DeepLinkSession extends LtiSession {
  readonly deepLinking: NonNullable<LtiSession['deepLinking']>;
}

/** The Deep Linking 2.0 pages: choose or create a lab, bind it to the course, answer the platform. */
export function deepLinkHandlers(deps: DeepLinkDeps) {
  async function sessionOf(request: FastifyRequest): Promise<DeepLinkSession> {
    const id = cookieValue(request.headers.cookie, LTI_SESSION_COOKIE);
    const session = id === undefined ? undefined : await deps.sessions.get(id);
    if (session === undefined) throw new LtiLaunchRefused(401, 'session', 'Your session has ended; choose the lab again from the course.');
    if (session.deepLinking === undefined)
      throw new LtiLaunchRefused(403, 'not_deep_linking', 'This page is for choosing a lab from the course editor.');
    if (session.role !== 'instructor') throw new LtiLaunchRefused(403, 'role', 'Only instructors can choose a lab for the course.');
    return session as DeepLinkSession;
  }

  async function registrationOf(session: LtiSession): Promise<LtiRegistration> {
    const r = await deps.registrations.get(session.tenant, session.registrationId);
    if (r === undefined) throw new LtiLaunchRefused(403, 'registration', 'This platform is no longer registered with labplane.');
    return r;
  }

  function principalFor(registration: LtiRegistration, session: LtiSession) {
    return integrationPrincipal(registration, session.userId ?? `lms:${session.lmsUserId}`);
  }

  async function visibleImages(registration: LtiRegistration, session: LtiSession): Promise<Image[]> {
    const p = principalFor(registration, session);
    const owners: ImageOwner[] = [{ scope: 'tenant', tenant: session.tenant }, { scope: 'platform' }];
    const out: Image[] = [];
    for (const owner of owners) {
      try {
        out.push(...(await deps.images.list(p, owner, {}, { limit: 500 })).items.filter((i) => i.phase === 'Ready'));
      } catch (err) {
        deps.logger.warn({ err }, 'LTI deep linking: images not listed');
      }
    }
    return out;
  }

  function boundTo(lab: LabRecord): string {
    if (lab.lti === undefined) return '';
    return escapeHtml(lab.lti.contextTitle ?? lab.lti.contextId);
  }

  async function renderPicker(reply: FastifyReply, session: DeepLinkSession, status = 200, alert?: string): Promise<FastifyReply> {
    const registration = await registrationOf(session);
    const labs = await deps.labRepo.list(session.tenant);
    const images = await visibleImages(registration, session);
    const csrf = `<input type="hidden" name="csrf" value="${escapeHtml(session.csrf)}">`;
    const rows = labs
      .map((l) => {
        const elsewhere = l.lti !== undefined && (l.lti.registrationId !== session.registrationId || l.lti.contextId !== session.contextId);
        const rebind = elsewhere ? `<label class="inline"><input type="checkbox" name="rebind" value="true"> Move it to this course</label>` : '';
        return `        <tr>
          <td><code>${escapeHtml(l.name)}</code></td>
          <td>${escapeHtml(l.displayName ?? '')}</td>
          <td>${l.students.length}</td>
          <td>${boundTo(l)}</td>
          <td><form class="inline" method="post" action="${LTI_DEEP_LINK_PATH}/use">${csrf}<input type="hidden" name="lab" value="${escapeHtml(l.name)}">${rebind}<button type="submit" aria-label="Use lab ${escapeHtml(l.name)}">Use this lab</button></form></td>
        </tr>`;
      })
      .join('\n');
    const table =
      labs.length === 0
        ? '      <p>There are no labs yet: create one below.</p>'
        : `      <table>
        <caption>Labs of this tenant</caption>
        <thead><tr><th scope="col">Name</th><th scope="col">Display name</th><th scope="col">Students</th><th scope="col">Bound course</th><th scope="col"><span class="visually-hidden">Action</span></th></tr></thead>
        <tbody>
${rows}
        </tbody>
      </table>`;
    const imageOptions = images
      .map((i) => `<option value="${escapeHtml(`${i.scope}/${i.name}`)}">${escapeHtml(i.displayName)} (${escapeHtml(i.scope)})</option>`)
      .join('');
    const body = `${alert === undefined ? '' : `      <p class="alert" role="alert">${escapeHtml(alert)}</p>\n`}      <p>Choose the lab this course link opens${session.contextTitle === undefined ? '' : ` in <strong>${escapeHtml(session.contextTitle)}</strong>`}.</p>
      <h2>Existing labs</h2>
${table}
      <h2>Create a new lab</h2>
      <form method="post" action="${LTI_DEEP_LINK_PATH}/create">${csrf}
        <label for="lp-name">Name (lower-case letters, digits and '-')</label>
        <input id="lp-name" name="name" required maxlength="40" pattern="[a-z0-9]([-a-z0-9]*[a-z0-9])?">
        <label for="lp-display">Display name</label>
        <input id="lp-display" name="displayName" maxlength="200">
        <label for="lp-image">Image</label>
        <select id="lp-image" name="image" required>${imageOptions}</select>
        <label for="lp-size">Size of each student VM</label>
        <select id="lp-size" name="size">
          <option value="small">Small (1 vCPU, 2 GiB, 20 GiB disk)</option>
          <option value="medium">Medium (2 vCPU, 4 GiB, 40 GiB disk)</option>
          <option value="large">Large (4 vCPU, 8 GiB, 80 GiB disk)</option>
        </select>
        <label><input type="checkbox" name="arc" value="true"> Sign in with the university account (Azure Arc)</label>
        <label for="lp-ssh">SSH public key for instructors (needed without Azure Arc)</label>
        <textarea id="lp-ssh" name="sshPublicKey" rows="2" cols="60"></textarea>
        <p><button type="submit">Create the lab and use it</button></p>
      </form>`;
    return deps.sendPage(reply, status, page('Choose a lab', body), deps.frameAncestors);
  }

  function checkCsrf(session: LtiSession, form: Record<string, string>): void {
    const given = form['csrf'];
    if (given === undefined || !sameSecret(given, session.csrf))
      throw new LtiLaunchRefused(403, 'csrf', 'This form has expired; reload the page and try again.');
  }

  async function signResponse(
    registration: LtiRegistration,
    deploymentId: string,
    data: string | undefined,
    extra: Record<string, unknown>,
  ): Promise<string> {
    const key = await deps.toolKeys.current();
    const now = Math.floor(deps.clock.now().getTime() / 1000);
    return new SignJWT({
      nonce: randomToken(),
      [CLAIM.deploymentId]: deploymentId,
      [CLAIM.messageType]: MESSAGE_TYPE.deepLinkingResponse,
      [CLAIM.version]: LTI_VERSION,
      ...(data === undefined ? {} : { [CLAIM.deepLinkingData]: data }),
      ...extra,
    })
      .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT' })
      .setIssuer(registration.clientId)
      .setAudience(registration.issuer)
      .setIssuedAt(now)
      .setExpirationTime(now + RESPONSE_TTL_SECONDS)
      .sign(key.privateKey);
  }

  /** The page that form-POSTs `JWT` to the platform: at once with our script, with its button without. */
  function returnPage(reply: FastifyReply, returnUrl: string, jwt: string, message: string): FastifyReply {
    const body = `      <p class="note" role="status">${escapeHtml(message)}</p>
      <form id="lp-deep-link-return" method="post" action="${escapeHtml(returnUrl)}">
        <input type="hidden" name="JWT" value="${escapeHtml(jwt)}">
        <button type="submit">Return to the course</button>
      </form>`;
    return deps.sendPage(reply, 200, page('Returning to the course', body, { scripts: [LTI_DEEP_LINK_SCRIPT] }), deps.frameAncestors, [
      new URL(returnUrl).origin,
    ]);
  }

  async function answerWithLab(
    request: FastifyRequest,
    reply: FastifyReply,
    session: DeepLinkSession,
    registration: LtiRegistration,
    lab: LabRecord,
  ) {
    const title = lab.displayName ?? lab.name;
    const jwt = await signResponse(registration, session.deploymentId, session.deepLinking.data, {
      [CLAIM.deepLinkingContentItems]: [
        { type: 'ltiResourceLink', title, url: `${toolBase(request, deps.publicUrl)}${LTI_LAUNCH_PATH}`, custom: { labplane_lab: lab.name } },
      ],
      [CLAIM.deepLinkingMsg]: `Lab '${title}' is linked to this course.`,
    });
    // The answer is single use: the session's deep linking part ends here.
    const { deepLinking: _dl, ...rest } = session;
    await deps.sessions.put(rest);
    return returnPage(reply, session.deepLinking.returnUrl, jwt, `Lab '${title}' is linked to this course. Returning to the course…`);
  }

  async function bind(session: DeepLinkSession, registration: LtiRegistration, labName: string, rebind: boolean): Promise<void> {
    if (session.contextId === undefined)
      throw new LtiLaunchRefused(400, 'context', 'The course editor sent no course (context): a lab cannot be bound.');
    await deps.labs.bindLti(
      principalFor(registration, session),
      session.tenant,
      labName,
      {
        registrationId: registration.id,
        deploymentId: session.deploymentId,
        contextId: session.contextId,
        ...(session.contextTitle === undefined ? {} : { contextTitle: session.contextTitle }),
        ...(session.membershipsUrl === undefined ? {} : { membershipsUrl: session.membershipsUrl }),
        boundAt: deps.clock.now().toISOString(),
      },
      { rebind },
    );
  }

  /** Runs a page action: refusals as their page, domain errors (name taken, bound elsewhere, invalid input) on the picker again. */
  async function action(
    request: FastifyRequest,
    reply: FastifyReply,
    run: (session: DeepLinkSession, form: Record<string, string>) => Promise<FastifyReply>,
  ) {
    let session: DeepLinkSession;
    try {
      session = await sessionOf(request);
      checkCsrf(session, fields(request.body));
    } catch (err) {
      if (err instanceof LtiLaunchRefused) return deps.refusalReply(reply, err);
      throw err;
    }
    try {
      return await run(session, fields(request.body));
    } catch (err) {
      if (err instanceof LtiLaunchRefused) return deps.refusalReply(reply, err);
      if (isDomainError(err) && err.kind !== 'upstream_unavailable') {
        const issues = err instanceof ValidationError ? err.issues.map((i) => i.message) : [];
        return renderPicker(reply, session, statusOfCode(err.code), [err.message, ...issues].join(' '));
      }
      throw err;
    }
  }

  return {
    async page(request: FastifyRequest, reply: FastifyReply) {
      try {
        return await renderPicker(reply, await sessionOf(request));
      } catch (err) {
        if (err instanceof LtiLaunchRefused) return deps.refusalReply(reply, err);
        throw err;
      }
    },

    async use(request: FastifyRequest, reply: FastifyReply) {
      return action(request, reply, async (session, form) => {
        const registration = await registrationOf(session);
        const name = form['lab'] ?? '';
        const lab = name === '' ? undefined : await deps.labRepo.get(session.tenant, name);
        if (lab === undefined) throw new LtiLaunchRefused(404, 'lab', 'That lab does not exist (any more).');
        await bind(session, registration, lab.name, form['rebind'] === 'true');
        return answerWithLab(request, reply, session, registration, (await deps.labRepo.get(session.tenant, lab.name)) ?? lab);
      });
    },

    async create(request: FastifyRequest, reply: FastifyReply) {
      return action(request, reply, async (session, form) => {
        const registration = await registrationOf(session);
        const size: LabSize = form['size'] === 'medium' || form['size'] === 'large' ? form['size'] : 'small';
        const [scope, imageName] = (form['image'] ?? '').split('/', 2);
        const images = await visibleImages(registration, session);
        const image = images.find((i) => i.scope === scope && i.name === imageName);
        if (image === undefined) return renderPicker(reply, session, 400, 'Choose one of the listed images.');
        const preset = LAB_SIZES[size];
        const name = (form['name'] ?? '').trim();
        const displayName = (form['displayName'] ?? '').trim();
        const sshKey = (form['sshPublicKey'] ?? '').trim();
        await deps.labs.create(principalFor(registration, session), session.tenant, {
          name,
          ...(displayName === '' ? {} : { displayName }),
          template: {
            image: { scope: image.scope, name: image.name },
            cpu: preset.cpu,
            memoryGi: preset.memoryGi,
            diskGi: Math.max(preset.diskGi, image.sizeGi),
            storageClass: image.storageClass,
            arc: form['arc'] === 'true',
            ...(sshKey === '' ? {} : { sshPublicKeys: [sshKey] }),
          },
        });
        await bind(session, registration, name, false);
        const lab = await deps.labRepo.get(session.tenant, name);
        if (lab === undefined) throw new LtiLaunchRefused(404, 'lab', 'The new lab could not be read back; try again.');
        return answerWithLab(request, reply, session, registration, lab);
      });
    },

    /** The platform asked for content we do not make (`accept_types` without `ltiResourceLink`): say so in the answer. */
    async answerUnsupported(reply: FastifyReply, registration: LtiRegistration, claims: LaunchClaims): Promise<FastifyReply> {
      const settings = claims.deepLinking as NonNullable<LaunchClaims['deepLinking']>;
      const message = 'labplane offers LTI resource links only, which this placement does not accept.';
      const jwt = await signResponse(registration, claims.deploymentId, settings.data, {
        [CLAIM.deepLinkingContentItems]: [],
        [CLAIM.deepLinkingErrorMsg]: message,
      });
      return returnPage(reply, settings.returnUrl, jwt, message);
    },
  };
}
