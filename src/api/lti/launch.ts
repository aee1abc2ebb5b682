import type { FastifyReply, FastifyRequest } from 'fastify';
import { MESSAGE_TYPE } from '../../domain/lti/claims.js';
import { checkLaunchClaims, LtiLaunchRefused, type LaunchClaims } from '../../domain/lti/launch.js';
import { launchRole } from '../../domain/lti/roles.js';
import type { LtiSession } from '../../domain/lti/ports.js';
import type { LtiRegistration } from '../../domain/lti/registration.js';
import { systemClock } from '../../domain/shared/ids.js';
import type { ApiModule } from '../module.js';
import { cookieValue } from '../plugins/auth.js';
import {
  fields,
  LAUNCH_STATE_TTL_SECONDS,
  LTI_DEEP_LINK_PATH,
  LTI_INSTRUCTOR_PATH,
  LTI_LAUNCH_PATH,
  LTI_LEARNER_PATH,
  LTI_SESSION_COOKIE,
  LTI_SESSION_TTL_MS,
  LTI_STATE_COOKIE_PREFIX,
  ltiCookie,
  MAX_ID_TOKEN,
  MAX_PARAM,
  NONCE_TTL_SECONDS,
  randomToken,
  REFUSAL_TITLES,
  sameSecret,
  sendPage,
  toolBase,
  type LtiLaunchDeps,
} from './common.js';
import { deepLinkHandlers } from './deep-link.js';
import { refusalPage } from './html.js';

export * from './common.js';

const STATE_FORMAT = /^[A-Za-z0-9_-]{1,512}$/;

interface Outcome {
  readonly registration?: LtiRegistration;
  readonly status: number;
  readonly reason?: string;
  readonly lab?: string;
  readonly who?: string;
}

/** The login, launch and asset handlers, and the Deep Linking pages, over injected ports. */
export function ltiLaunchModule(deps: LtiLaunchDeps): ApiModule {
  const clock = deps.clock ?? systemClock;

  function refusalReply(reply: FastifyReply, err: LtiLaunchRefused): FastifyReply {
    return sendPage(reply, err.status, refusalPage(REFUSAL_TITLES[err.status], err.message), deps.frameAncestors);
  }

  function audit(request: FastifyRequest, action: string, outcome: Outcome): void {
    const r = outcome.registration;
    deps.auditLog
      .append({
        at: clock.now().toISOString(),
        actor:
          r === undefined
            ? { id: 'anonymous', kind: 'user', name: 'anonymous' }
            : { id: `lti:${r.id}`, kind: 'service', name: r.displayName ?? r.issuer },
        ...(outcome.who === undefined ? {} : { onBehalfOf: outcome.who }),
        action,
        method: request.method,
        path: request.url.split('?')[0] ?? '/',
        ...(r === undefined ? {} : { tenant: r.tenant }),
        ...(outcome.lab === undefined ? {} : { target: { type: 'lab', id: outcome.lab } }),
        result: { status: outcome.status, ...(outcome.reason === undefined ? {} : { code: outcome.reason }) },
        requestId: String(request.id),
      })
      .catch((err: unknown) => deps.logger.error({ err }, 'audit event not stored'));
  }

  async function login(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const f = { ...fields(request.query), ...(request.method === 'POST' ? fields(request.body) : {}) };
    let registration: LtiRegistration | undefined;
    try {
      const iss = f['iss'];
      const loginHint = f['login_hint'];
      const target = f['target_link_uri'];
      if (iss === undefined || loginHint === undefined || target === undefined) {
        throw new LtiLaunchRefused(400, 'login_params', 'A login initiation needs iss, login_hint and target_link_uri.');
      }
      if (Object.values(f).some((v) => v.length > MAX_PARAM)) throw new LtiLaunchRefused(400, 'login_params', 'A login parameter is too long.');
      const clientId = f['client_id'];
      if (clientId !== undefined) {
        registration = await deps.registrations.findByClient(iss, clientId);
      } else {
        const all = await deps.registrations.findByIssuer(iss);
        if (all.length > 1) {
          throw new LtiLaunchRefused(400, 'client_id', 'This platform has several registrations here: the login initiation must name its client_id.');
        }
        registration = all[0];
      }
      if (registration === undefined) throw new LtiLaunchRefused(403, 'registration', 'This platform is not registered with labplane.');
      const deploymentId = f['lti_deployment_id'];
      if (deploymentId !== undefined && !registration.deploymentIds.includes(deploymentId)) {
        throw new LtiLaunchRefused(403, 'deployment', 'This deployment of the tool is not registered for this platform.');
      }
      const base = toolBase(request, deps.publicUrl);
      let targetUrl: URL;
      try {
        targetUrl = new URL(target);
      } catch {
        throw new LtiLaunchRefused(400, 'target_link_uri', 'target_link_uri is not a URL.');
      }
      if (targetUrl.origin !== new URL(base).origin) throw new LtiLaunchRefused(400, 'target_link_uri', 'target_link_uri must point to this tool.');

      const state = randomToken();
      const nonce = randomToken();
      await deps.states.put(
        state,
        { registrationId: registration.id, tenant: registration.tenant, nonce, targetLinkUri: targetUrl.href, createdAt: clock.now().getTime() },
        LAUNCH_STATE_TTL_SECONDS,
      );
      const auth = new URL(registration.authLoginUrl);
      const params: Record<string, string> = {
        scope: 'openid',
        response_type: 'id_token',
        response_mode: 'form_post',
        prompt: 'none',
        client_id: registration.clientId,
        redirect_uri: `${base}${LTI_LAUNCH_PATH}`,
        login_hint: loginHint,
        state,
        nonce,
      };
      const messageHint = f['lti_message_hint'];
      if (messageHint !== undefined) params['lti_message_hint'] = messageHint;
      for (const [k, v] of Object.entries(params)) auth.searchParams.set(k, v);
      reply.removeHeader('x-frame-options');
      return reply
        .code(302)
        .header('set-cookie', ltiCookie(`${LTI_STATE_COOKIE_PREFIX}${state.slice(0, 8)}`, state, LAUNCH_STATE_TTL_SECONDS))
        .header('cache-control', 'no-store')
        .header('location', auth.href)
        .send();
    } catch (err) {
      if (!(err instanceof LtiLaunchRefused)) throw err;
      deps.logger.warn({ lti: { reason: err.reason, registrationId: registration?.id } }, 'LTI login initiation refused');
      audit(request, 'ltiLogin', { ...(registration === undefined ? {} : { registration }), status: err.status, reason: err.reason });
      return refusalReply(reply, err);
    }
  }

  async function resolveUser(claims: LaunchClaims): Promise<Pick<LtiSession, 'userId' | 'userUnresolved'>> {
    if (claims.email === undefined) return { userUnresolved: 'no-email' };
    try {
      const match = (await deps.directory.lookup([claims.email])).get(claims.email.toLowerCase());
      if (match === undefined || match === 'not-found') return { userUnresolved: 'not-in-directory' };
      if (match === 'ambiguous') return { userUnresolved: 'ambiguous' };
      return { userId: match.id };
    } catch (err) {
      deps.logger.warn({ err }, 'LTI launch: the directory lookup failed');
      return { userUnresolved: 'directory-unavailable' };
    }
  }

  /** The lab a launch reaches: the `labplane_lab` custom parameter (within the registration's tenant), else the lab bound to its context. */
  async function resolveLab(registration: LtiRegistration, claims: LaunchClaims): Promise<string | undefined> {
    if (claims.messageType !== MESSAGE_TYPE.resourceLink) return undefined;
    const named = claims.custom['labplane_lab'];
    if (named !== undefined) {
      const lab = await deps.labRepo.get(registration.tenant, named);
      if (lab === undefined) throw new LtiLaunchRefused(404, 'lab', `This link names a lab ('${named}') that does not exist (any more).`);
      return lab.name;
    }
    if (claims.context === undefined) return undefined;
    const contextId = claims.context.id;
    const bound = (await deps.labRepo.list(registration.tenant)).find(
      (l) => l.lti?.registrationId === registration.id && l.lti.contextId === contextId,
    );
    return bound?.name;
  }

  async function launch(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const f = fields(request.body);
    let registration: LtiRegistration | undefined;
    let who: string | undefined;
    try {
      const given = f['state'];
      // Our states are base64url: anything else is no state of ours (and must not reach a cookie name).
      const state = given !== undefined && STATE_FORMAT.test(given) ? given : undefined;
      if (given !== undefined && state === undefined) throw new LtiLaunchRefused(400, 'launch_params', 'The state of this launch is malformed.');
      const cookieName = state === undefined ? undefined : `${LTI_STATE_COOKIE_PREFIX}${state.slice(0, 8)}`;
      if (cookieName !== undefined) reply.header('set-cookie', ltiCookie(cookieName, '', 0));
      if (f['error'] !== undefined) {
        if (state !== undefined) await deps.states.take(state);
        const description = f['error_description'];
        throw new LtiLaunchRefused(
          400,
          'platform_error',
          `The platform did not sign you in: ${f['error'].slice(0, 200)}${description === undefined ? '' : ` (${description.slice(0, 500)})`}.`,
        );
      }
      const idToken = f['id_token'];
      if (state === undefined || idToken === undefined) throw new LtiLaunchRefused(400, 'launch_params', 'A launch needs id_token and state.');
      if (state.length > MAX_PARAM || idToken.length > MAX_ID_TOKEN)
        throw new LtiLaunchRefused(400, 'launch_params', 'A launch parameter is too long.');
      const cookie = cookieValue(request.headers.cookie, cookieName as string);
      if (cookie === undefined || !sameSecret(cookie, state)) {
        throw new LtiLaunchRefused(
          401,
          'state_cookie',
          'This launch was not started in this browser (its state cookie is missing or does not match). If your browser blocks third-party cookies, open the tool in a new window.',
        );
      }
      const launchState = await deps.states.take(state);
      if (launchState === undefined)
        throw new LtiLaunchRefused(401, 'state', 'This launch is unknown or was already used; launch again from the course.');
      registration = await deps.registrations.get(launchState.tenant, launchState.registrationId);
      if (registration === undefined) throw new LtiLaunchRefused(403, 'registration', 'This platform is no longer registered with labplane.');
      const payload = await deps.verifier.verify(idToken, registration);
      const claims = checkLaunchClaims(payload, registration, launchState.nonce);
      who = `lms:${claims.sub}`;
      if (!(await deps.nonces.useOnce(`${registration.issuer} ${launchState.nonce}`, NONCE_TTL_SECONDS))) {
        throw new LtiLaunchRefused(401, 'replay', 'This launch was already used; launch again from the course.');
      }
      const role = launchRole(claims.roles);
      if (claims.messageType === MESSAGE_TYPE.deepLinkingRequest) {
        if (role !== 'instructor') throw new LtiLaunchRefused(403, 'role', 'Only instructors can choose a lab for the course.');
        if (!claims.deepLinking?.acceptTypes.includes('ltiResourceLink')) {
          audit(request, 'ltiLaunch', { registration, status: 200, reason: 'accept_types', who });
          return await deepLink.answerUnsupported(reply, registration, claims);
        }
      }
      const user = await resolveUser(claims);
      if (user.userId !== undefined) who = user.userId;
      const lab = await resolveLab(registration, claims);
      const session: LtiSession = {
        id: randomToken(),
        tenant: registration.tenant,
        registrationId: registration.id,
        deploymentId: claims.deploymentId,
        ...(claims.context === undefined
          ? {}
          : { contextId: claims.context.id, ...(claims.context.title === undefined ? {} : { contextTitle: claims.context.title }) }),
        lmsUserId: claims.sub,
        ...(claims.name === undefined ? {} : { name: claims.name }),
        ...(claims.email === undefined ? {} : { email: claims.email }),
        role,
        ...user,
        ...(lab === undefined ? {} : { lab }),
        ...(claims.membershipsUrl === undefined ? {} : { membershipsUrl: claims.membershipsUrl }),
        csrf: randomToken(),
        expiresAt: clock.now().getTime() + LTI_SESSION_TTL_MS,
        ...(claims.deepLinking === undefined
          ? {}
          : {
              deepLinking: {
                returnUrl: claims.deepLinking.returnUrl,
                ...(claims.deepLinking.data === undefined ? {} : { data: claims.deepLinking.data }),
                ...(claims.deepLinking.acceptMultiple === undefined ? {} : { acceptMultiple: claims.deepLinking.acceptMultiple }),
              },
            }),
      };
      await deps.sessions.put(session);
      if (role === 'instructor' && lab !== undefined && claims.messageType === MESSAGE_TYPE.resourceLink && claims.membershipsUrl !== undefined) {
        await startRosterSync(registration, lab, claims);
      }
      deps.logger.info(
        {
          lti: {
            registrationId: registration.id,
            messageType: claims.messageType,
            role,
            lab,
            userResolved: user.userId !== undefined,
            userUnresolved: user.userUnresolved,
          },
        },
        'LTI launch accepted',
      );
      audit(request, 'ltiLaunch', { registration, status: 303, who, ...(lab === undefined ? {} : { lab }) });
      const next = session.deepLinking !== undefined ? LTI_DEEP_LINK_PATH : role === 'instructor' ? LTI_INSTRUCTOR_PATH : LTI_LEARNER_PATH;
      reply.removeHeader('x-frame-options');
      return reply
        .code(303)
        .header('set-cookie', ltiCookie(LTI_SESSION_COOKIE, session.id, LTI_SESSION_TTL_MS / 1000))
        .header('cache-control', 'no-store')
        .header('location', next)
        .send();
    } catch (err) {
      if (!(err instanceof LtiLaunchRefused)) throw err;
      deps.logger.warn({ lti: { reason: err.reason, registrationId: registration?.id } }, 'LTI launch refused');
      audit(request, 'ltiLaunch', {
        ...(registration === undefined ? {} : { registration }),
        status: err.status,
        reason: err.reason,
        ...(who === undefined ? {} : { who }),
      });
      return refusalReply(reply, err);
    }
  }

  /** Only when the lab is bound to this very course: a roster sync follows the instructor's launch. Its failure never breaks the launch. */
  async function startRosterSync(registration: LtiRegistration, labName: string, claims: LaunchClaims): Promise<void> {
    try {
      const lab = await deps.labRepo.get(registration.tenant, labName);
      if (lab?.lti?.registrationId !== registration.id || lab.lti.contextId !== claims.context?.id) return;
      await deps.rosterSync.start(registration.tenant, labName, 'launch', `lms:${claims.sub}`);
    } catch (err) {
      deps.logger.warn({ err, lti: { registrationId: registration.id, lab: labName } }, 'LTI launch: the roster sync did not start');
    }
  }

  const deepLink = deepLinkHandlers({ ...deps, clock, sendPage, refusalReply });

  return {
    name: 'lti-launch',
    handlers: {
      ltiLoginGet: login,
      ltiLoginPost: login,
      ltiLaunch: launch,
      ltiDeepLinkPage: deepLink.page,
      ltiDeepLinkUse: deepLink.use,
      ltiDeepLinkCreate: deepLink.create,
      getLtiDeepLinkScript: async (_request: FastifyRequest, reply: FastifyReply) =>
        reply.header('cache-control', 'public, max-age=3600').type('text/javascript; charset=utf-8').send(DEEP_LINK_RETURN_JS),
    },
  };
}

/** Submits the Deep Linking answer to the platform at once; the page's button does the same without scripts. */
export const DEEP_LINK_RETURN_JS = `'use strict';
(function () {
  var form = document.getElementById('lp-deep-link-return');
  if (form) form.submit();
})();
`;
