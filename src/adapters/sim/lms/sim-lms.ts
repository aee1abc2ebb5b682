import { createHmac, randomBytes, randomUUID, timingSafeEqual, type webcrypto } from 'node:crypto';
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { CLAIM, LTI_VERSION, MESSAGE_TYPE, NRPS_MEDIA_TYPE, NRPS_SCOPE } from '../../../domain/lti/claims.js';
import type { PlatformFetch } from '../../../domain/lti/ports.js';
import type { LtiRegistrationInput } from '../../../domain/lti/registration.js';
import { systemClock, type Clock } from '../../../domain/shared/ids.js';
import { demoCourses, isInstructorLike, type SimCourse, type SimMember, type SimMemberStatus, type SimResourceLink } from './data.js';

/** Path prefix the simulated LMS is served under. */
export const SIM_LMS_PATH = '/sim/lms';
export const SIM_LMS_CLIENT_ID = 'labplane-sim-lms';
export const SIM_LMS_DEPLOYMENT_ID = 'sim-deployment-1';
/** Lifetime of id_tokens the simulated LMS signs (LTI: short-lived). */
const ID_TOKEN_TTL_S = 300;
/** Lifetime of the opaque hints on the course pages' launch buttons. */
const HINT_TTL_S = 3600;
const CLOCK_TOLERANCE_S = 5;
const MAX_FIELD = 4096;

export interface SimLmsOptions {
  /**
   * Origin the simulated LMS is reached at (PUBLIC_URL of the server). When absent, the origin is
   * taken from `setBaseUrl` (call it once the server listens) or else from each request's own origin.
   */
  readonly baseUrl?: string;
  /** Origin of the tool (labplane). Default: the LMS's own origin (the embedded default serves both). */
  readonly toolBaseUrl?: string;
  readonly clientId?: string;
  readonly deploymentId?: string;
  /** How the LMS fetches the tool's JWKS (`<tool>/lti/jwks`). Default: the global fetch. */
  readonly fetch?: PlatformFetch;
  readonly clock?: Clock;
  /** Lifetime of NRPS access tokens, seconds. Default 3600. */
  readonly accessTokenTtlSeconds?: number;
}

/** A failure the LMS answers instead of the normal response (tests of retries and parsing). */
export interface SimLmsFault {
  readonly endpoint: 'token' | 'memberships';
  /** Default 503. */
  readonly status?: number;
  /** Raw body (default a short text); content type given by `contentType`. */
  readonly body?: string;
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** How many requests it answers (default 1). */
  readonly times?: number;
}

/** What a route answers (the plugin turns it into an HTTP reply). */
export interface SimAnswer {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body: string;
  /** `html`: body is a page; `json`: serialised already. */
  readonly kind: 'html' | 'json' | 'text';
}

/** The claims of an id_token the LMS issued (for tests and the page handlers). */
export type IdTokenClaims = JWTPayload & Record<string, unknown>;

/** A problem with a request to the LMS (shown as a 400 page or an OAuth error). */
export class SimLmsRefusal extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** RFC 6749 §5.2 error code, for the token endpoint. */
    readonly oauthError?: string,
  ) {
    super(message);
  }
}

interface HintPayload {
  /** course */
  readonly c: string;
  /** resource link id (resource link launches) */
  readonly l?: string;
  /** message: rl = LtiResourceLinkRequest, dl = LtiDeepLinkingRequest */
  readonly t: 'rl' | 'dl';
  /** user id */
  readonly u: string;
  /** expiry, epoch seconds */
  readonly e: number;
  /** random */
  readonly n: string;
}

export interface ToolConfig {
  readonly clientId: string;
  readonly deploymentId: string;
  readonly loginUrl: string;
  readonly launchUrl: string;
  readonly redirectUris: readonly string[];
  readonly jwksUrl: string;
}

export interface LaunchButton {
  readonly label: string;
  /** The tool's OIDC login initiation URL (GET form action). */
  readonly action: string;
  readonly fields: Readonly<Record<string, string>>;
}

export interface SimLms {
  readonly clientId: string;
  readonly deploymentId: string;
  /** Sets the origin once known (e.g. after `listen` on port 0). */
  setBaseUrl(origin: string): void;
  /** The configured origin, if any. */
  baseUrl(): string | undefined;
  /** `<origin>/sim/lms`; `origin` defaults to the configured one. */
  issuer(origin?: string): string;
  toolConfig(origin?: string): ToolConfig;
  /** The demo courses as they are now (live objects: do not mutate, use the methods). */
  courses(): readonly SimCourse[];
  course(id: string): SimCourse | undefined;
  addMember(course: string, member: { userId: string; name: string; email?: string; roles: readonly string[]; status?: SimMemberStatus }): void;
  removeMember(course: string, userId: string): boolean;
  setStatus(course: string, userId: string, status: SimMemberStatus): void;
  /** Places a resource link in a course (what a Deep Linking answer does). */
  placeLink(course: string, link: Omit<SimResourceLink, 'id'> & { id?: string }): SimResourceLink;
  /** Signs any claims with the LMS's key (hostile tests); `iat`/`exp` are added unless given. */
  signIdToken(claims: Record<string, unknown>, options?: { kid?: string; alg?: 'RS256' }): Promise<string>;
  /** The LMS's public keys (JWKS document). */
  jwks(): Promise<{ keys: Record<string, unknown>[] }>;
  /** Makes the next request(s) to an endpoint fail as described. */
  injectFault(fault: SimLmsFault): void;
  /** Access tokens issued so far (count; tokens themselves are never exposed). */
  readonly issuedTokens: () => number;
  /** Request handling for the plugin (not for other callers). */
  readonly handlers: SimLmsHandlers;
}

export interface SimLmsHandlers {
  /** Launch buttons for one member on the course page (resource links, and Deep Linking for instructors). */
  buttons(origin: string, course: SimCourse, member: SimMember): readonly LaunchButton[];
  /** OIDC authorization request → the id_token to post (or SimLmsRefusal). */
  authorize(origin: string, params: Readonly<Record<string, string | undefined>>): Promise<{ redirectUri: string; idToken: string; state?: string }>;
  /** Deep Linking response → the links placed (or SimLmsRefusal). */
  deepLinkReturn(
    origin: string,
    jwt: string | undefined,
  ): Promise<{ course: SimCourse; placed: readonly SimResourceLink[]; msg?: string; errormsg?: string }>;
  token(origin: string, form: Readonly<Record<string, string | undefined>>): Promise<SimAnswer>;
  memberships(origin: string, courseId: string, authorization: string | undefined, query: Readonly<Record<string, string | undefined>>): SimAnswer;
}

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

function stripSlash(s: string): string {
  return s.replace(/\/+$/, '');
}

function refuse(message: string): never {
  throw new SimLmsRefusal(400, message);
}

function field(params: Readonly<Record<string, string | undefined>>, name: string): string {
  const v = params[name];
  if (v === undefined || v === '') refuse(`'${name}' is missing.`);
  if (v.length > MAX_FIELD) refuse(`'${name}' is too long.`);
  return v;
}

/**
 * A simulated LMS (an LTI 1.3 platform) for the embedded default and for tests: demo courses, OIDC
 * login (authorization endpoint answering with a form_post id_token), Deep Linking 2.0 returns, an
 * OAuth 2 token endpoint (client credentials with a JWT client assertion) and NRPS 2.0 memberships.
 * Served by `simLmsPlugin` under `/sim/lms`. State lives in memory.
 */
export function createSimLms(options: SimLmsOptions = {}): SimLms {
  const clock = options.clock ?? systemClock;
  const clientId = options.clientId ?? SIM_LMS_CLIENT_ID;
  const deploymentId = options.deploymentId ?? SIM_LMS_DEPLOYMENT_ID;
  const fetchTool: PlatformFetch = options.fetch ?? ((url, init) => fetch(url, init));
  const accessTtl = options.accessTokenTtlSeconds ?? 3600;
  let configuredBase = options.baseUrl === undefined ? undefined : stripSlash(options.baseUrl);
  const hmacKey = randomBytes(32);
  const courses = demoCourses();
  const faults: (SimLmsFault & { left: number })[] = [];
  const usedNonces = new Map<string, number>();
  const usedJtis = new Map<string, number>();
  const accessTokens = new Map<string, { scopes: readonly string[]; exp: number }>();
  let issued = 0;
  const keyPair = (async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const jwk = await exportJWK(publicKey);
    const kid = `sim-lms-${randomUUID().slice(0, 8)}`;
    return { privateKey: privateKey as webcrypto.CryptoKey, publicJwk: { ...jwk, kid, alg: 'RS256', use: 'sig' }, kid };
  })();

  const nowS = (): number => Math.floor(clock.now().getTime() / 1000);
  const base = (origin?: string): string => {
    const b = configuredBase ?? (origin === undefined ? undefined : stripSlash(origin));
    if (b === undefined) throw new Error('the simulated LMS does not know its origin yet (setBaseUrl)');
    return b;
  };
  const issuer = (origin?: string): string => `${base(origin)}${SIM_LMS_PATH}`;
  const toolBase = (origin?: string): string => (options.toolBaseUrl === undefined ? base(origin) : stripSlash(options.toolBaseUrl));
  const toolConfig = (origin?: string): ToolConfig => {
    const t = toolBase(origin);
    return {
      clientId,
      deploymentId,
      loginUrl: `${t}/lti/login`,
      launchUrl: `${t}/lti/launch`,
      redirectUris: [`${t}/lti/launch`],
      jwksUrl: `${t}/lti/jwks`,
    };
  };

  const sweep = (m: Map<string, number>): void => {
    const now = nowS();
    for (const [k, exp] of m) if (exp < now) m.delete(k);
  };
  const useOnce = (m: Map<string, number>, key: string, exp: number): boolean => {
    sweep(m);
    if (m.has(key)) return false;
    m.set(key, exp);
    return true;
  };

  const sign = (payload: object): string => {
    const body = b64url(JSON.stringify(payload));
    return `${body}.${b64url(createHmac('sha256', hmacKey).update(body).digest())}`;
  };
  const unsign = <T>(token: string): T | undefined => {
    const [body, mac] = token.split('.');
    if (body === undefined || mac === undefined) return undefined;
    const want = createHmac('sha256', hmacKey).update(body).digest();
    const got = Buffer.from(mac, 'base64url');
    if (got.length !== want.length || !timingSafeEqual(got, want)) return undefined;
    try {
      const v = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as T & { e?: unknown };
      return typeof v.e === 'number' && v.e >= nowS() ? v : undefined;
    } catch {
      return undefined;
    }
  };

  const courseOrThrow = (id: string): SimCourse => {
    const c = courses.find((x) => x.id === id);
    if (c === undefined) throw new Error(`no simulated course '${id}'`);
    return c;
  };

  const signJwt = async (claims: Record<string, unknown>, kidOverride?: string): Promise<string> => {
    const k = await keyPair;
    const now = nowS();
    return new SignJWT({ iat: now, exp: now + ID_TOKEN_TTL_S, ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: kidOverride ?? k.kid, typ: 'JWT' })
      .sign(k.privateKey);
  };

  const takeFault = (endpoint: SimLmsFault['endpoint']): SimAnswer | undefined => {
    const f = faults.find((x) => x.endpoint === endpoint && x.left > 0);
    if (f === undefined) return undefined;
    f.left -= 1;
    return {
      status: f.status ?? 503,
      headers: { 'content-type': f.contentType ?? 'text/plain; charset=utf-8', ...f.headers },
      body: f.body ?? 'simulated failure',
      kind: 'text',
    };
  };

  const toolKeys = async (origin: string) => {
    let doc: { keys?: unknown };
    try {
      const res = await fetchTool(toolConfig(origin).jwksUrl, { headers: { accept: 'application/json' } });
      if (!res.ok) throw new SimLmsRefusal(502, `The tool's JWKS could not be fetched (HTTP ${res.status}).`);
      doc = (await res.json()) as { keys?: unknown };
    } catch (err) {
      if (err instanceof SimLmsRefusal) throw err;
      throw new SimLmsRefusal(502, "The tool's JWKS could not be fetched.");
    }
    if (!Array.isArray(doc.keys)) throw new SimLmsRefusal(400, "The tool's JWKS is not a key set.");
    return createLocalJWKSet(doc as Parameters<typeof createLocalJWKSet>[0]);
  };

  const verifyToolJwt = async (origin: string, jwt: string, audience: string): Promise<JWTPayload> => {
    const keys = await toolKeys(origin);
    try {
      const { payload } = await jwtVerify(jwt, keys, {
        issuer: clientId,
        audience,
        algorithms: ['RS256'],
        currentDate: clock.now(),
        clockTolerance: CLOCK_TOLERANCE_S,
        requiredClaims: ['iat', 'exp'],
      });
      return payload;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      throw new SimLmsRefusal(400, `The tool's JWT was not accepted (${typeof code === 'string' ? code : 'invalid'}).`);
    }
  };

  const handlers: SimLmsHandlers = {
    buttons(origin, course, m) {
      if (m.status !== 'Active') return [];
      const cfg = toolConfig(origin);
      const common = { iss: issuer(origin), login_hint: m.userId, client_id: clientId, lti_deployment_id: deploymentId };
      const exp = nowS() + HINT_TTL_S;
      const out: LaunchButton[] = course.links.map((l) => ({
        label: `Launch ${l.title} as ${m.name}`,
        action: cfg.loginUrl,
        fields: {
          ...common,
          target_link_uri: l.url ?? cfg.launchUrl,
          lti_message_hint: sign({ c: course.id, l: l.id, t: 'rl', u: m.userId, e: exp, n: b64url(randomBytes(6)) } satisfies HintPayload),
        },
      }));
      if (isInstructorLike(m)) {
        out.push({
          label: `Add labplane to this course as ${m.name}`,
          action: cfg.loginUrl,
          fields: {
            ...common,
            target_link_uri: cfg.launchUrl,
            lti_message_hint: sign({ c: course.id, t: 'dl', u: m.userId, e: exp, n: b64url(randomBytes(6)) } satisfies HintPayload),
          },
        });
      }
      return out;
    },

    async authorize(origin, params) {
      if (params.scope !== 'openid') refuse("'scope' must be 'openid'.");
      if (params.response_type !== 'id_token') refuse("'response_type' must be 'id_token'.");
      if (params.response_mode !== 'form_post') refuse("'response_mode' must be 'form_post'.");
      if (params.prompt !== 'none') refuse("'prompt' must be 'none'.");
      const cfg = toolConfig(origin);
      if (field(params, 'client_id') !== clientId) refuse("'client_id' is not a tool registered here.");
      const redirectUri = field(params, 'redirect_uri');
      if (!cfg.redirectUris.includes(redirectUri)) refuse("'redirect_uri' is not registered for this tool.");
      const nonce = field(params, 'nonce');
      const loginHint = field(params, 'login_hint');
      const hint = unsign<HintPayload>(field(params, 'lti_message_hint'));
      if (hint === undefined) refuse("'lti_message_hint' was not issued here or has expired.");
      if (hint.u !== loginHint) refuse("'login_hint' does not match the launch it started from.");
      const course = courses.find((c) => c.id === hint.c);
      if (course === undefined) refuse('The course no longer exists.');
      const m = course.members.find((x) => x.userId === loginHint);
      if (m === undefined || m.status !== 'Active') throw new SimLmsRefusal(403, 'You are not an active member of this course.');
      const state = params.state;
      if (state !== undefined && state.length > MAX_FIELD) refuse("'state' is too long.");
      const iss = issuer(origin);
      const claims: Record<string, unknown> = {
        iss,
        aud: clientId,
        sub: m.userId,
        nonce,
        name: m.name,
        ...(m.email === undefined ? {} : { email: m.email }),
        [CLAIM.deploymentId]: deploymentId,
        [CLAIM.version]: LTI_VERSION,
        [CLAIM.roles]: [...m.roles],
        [CLAIM.context]: {
          id: course.id,
          label: course.label,
          title: course.title,
          type: ['http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering'],
        },
        [CLAIM.toolPlatform]: { guid: 'labplane-sim-lms', name: 'Simulated LMS', product_family_code: 'labplane-sim', version: '1.0' },
        [CLAIM.launchPresentation]: { document_target: 'window', return_url: `${iss}/courses/${encodeURIComponent(course.id)}`, locale: 'en' },
        [CLAIM.nrps]: { context_memberships_url: `${iss}/courses/${encodeURIComponent(course.id)}/memberships`, service_versions: ['2.0'] },
      };
      if (hint.t === 'rl') {
        const link = course.links.find((l) => l.id === hint.l);
        if (link === undefined) refuse('The resource link no longer exists.');
        claims[CLAIM.messageType] = MESSAGE_TYPE.resourceLink;
        claims[CLAIM.targetLinkUri] = link.url ?? cfg.launchUrl;
        claims[CLAIM.resourceLink] = { id: link.id, title: link.title };
        if (Object.keys(link.custom).length > 0) claims[CLAIM.custom] = { ...link.custom };
      } else {
        if (!isInstructorLike(m)) throw new SimLmsRefusal(403, 'Only instructors may add tools to a course.');
        claims[CLAIM.messageType] = MESSAGE_TYPE.deepLinkingRequest;
        claims[CLAIM.targetLinkUri] = cfg.launchUrl;
        claims[CLAIM.deepLinkingSettings] = {
          deep_link_return_url: `${iss}/deep-link-return`,
          accept_types: ['ltiResourceLink'],
          accept_presentation_document_targets: ['iframe', 'window'],
          accept_multiple: false,
          auto_create: true,
          title: 'labplane',
          data: sign({ c: course.id, u: m.userId, e: nowS() + HINT_TTL_S, n: b64url(randomBytes(6)) }),
        };
      }
      const idToken = await signJwt(claims);
      return { redirectUri, idToken, ...(state === undefined ? {} : { state }) };
    },

    async deepLinkReturn(origin, jwt) {
      if (jwt === undefined || jwt === '') refuse("The form field 'JWT' is missing.");
      if (jwt.length > 64 * 1024) refuse('The JWT is too large.');
      const iss = issuer(origin);
      const claims = await verifyToolJwt(origin, jwt, iss);
      const c = claims as Record<string, unknown>;
      if (typeof claims.nonce !== 'string' || claims.nonce === '') refuse("The JWT has no 'nonce'.");
      if (c[CLAIM.messageType] !== MESSAGE_TYPE.deepLinkingResponse) refuse(`The message type is not ${MESSAGE_TYPE.deepLinkingResponse}.`);
      if (c[CLAIM.version] !== LTI_VERSION) refuse(`The LTI version is not ${LTI_VERSION}.`);
      if (c[CLAIM.deploymentId] !== deploymentId) refuse('The deployment id is not this tool deployment.');
      const data = c[CLAIM.deepLinkingData];
      const settings = typeof data === 'string' ? unsign<{ c: string; u: string }>(data) : undefined;
      if (settings === undefined) refuse("The 'data' of the Deep Linking request was not returned (or has expired).");
      const course = courses.find((x) => x.id === settings.c);
      if (course === undefined) refuse('The course no longer exists.');
      const items = c[CLAIM.deepLinkingContentItems] ?? [];
      if (!Array.isArray(items)) refuse("'content_items' is not an array.");
      if (items.length > 1) refuse('Only one content item may be returned (accept_multiple is false).');
      const links: Omit<SimResourceLink, 'id'>[] = [];
      for (const raw of items as unknown[]) {
        if (typeof raw !== 'object' || raw === null) refuse('A content item is not an object.');
        const item = raw as Record<string, unknown>;
        if (item.type !== 'ltiResourceLink') refuse(`Content items of type '${String(item.type).slice(0, 40)}' are not accepted here.`);
        if (item.url !== undefined) {
          if (typeof item.url !== 'string' || !/^https?:\/\//.test(item.url) || !URL.canParse(item.url))
            refuse("A content item's 'url' is not a URL.");
        }
        if (item.title !== undefined && typeof item.title !== 'string') refuse("A content item's 'title' is not text.");
        const custom: Record<string, string> = {};
        if (item.custom !== undefined) {
          if (typeof item.custom !== 'object' || item.custom === null || Array.isArray(item.custom)) refuse("'custom' is not an object.");
          for (const [k, v] of Object.entries(item.custom)) {
            if (typeof v !== 'string') refuse(`Custom parameter '${k.slice(0, 40)}' is not a string.`);
            custom[k] = v;
          }
        }
        links.push({
          title: (item.title as string | undefined) ?? 'labplane',
          ...(item.url === undefined ? {} : { url: item.url as string }),
          custom,
        });
      }
      if (!useOnce(usedNonces, claims.nonce, (claims.exp ?? nowS()) + CLOCK_TOLERANCE_S)) refuse('This Deep Linking response was already used.');
      const placed = links.map((l) => placeLink(course.id, l));
      const msg = c[CLAIM.deepLinkingMsg];
      const errormsg = c[CLAIM.deepLinkingErrorMsg];
      return {
        course,
        placed,
        ...(typeof msg === 'string' ? { msg } : {}),
        ...(typeof errormsg === 'string' ? { errormsg } : {}),
      };
    },

    async token(origin, form) {
      const fault = takeFault('token');
      if (fault !== undefined) return fault;
      const oauth = (status: number, error: string, description: string): SimAnswer => ({
        status,
        headers: { 'cache-control': 'no-store', pragma: 'no-cache' },
        body: JSON.stringify({ error, error_description: description }),
        kind: 'json',
      });
      if (form.grant_type !== 'client_credentials') {
        return form.grant_type === undefined
          ? oauth(400, 'invalid_request', "'grant_type' is missing.")
          : oauth(400, 'unsupported_grant_type', 'Only client_credentials is supported.');
      }
      if (form.client_assertion_type !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') {
        return oauth(400, 'invalid_request', "'client_assertion_type' must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer.");
      }
      const assertion = form.client_assertion;
      if (assertion === undefined || assertion === '' || assertion.length > 16 * 1024)
        return oauth(400, 'invalid_request', "'client_assertion' is missing.");
      const scope = form.scope;
      if (scope === undefined || scope.trim() === '') return oauth(400, 'invalid_request', "'scope' is missing.");
      let claims: JWTPayload;
      try {
        claims = await verifyToolJwt(origin, assertion, `${issuer(origin)}/token`);
      } catch (err) {
        if (err instanceof SimLmsRefusal && err.status >= 500) return oauth(503, 'temporarily_unavailable', err.message);
        if (err instanceof SimLmsRefusal) return oauth(401, 'invalid_client', err.message);
        throw err;
      }
      if (claims.sub !== clientId) return oauth(401, 'invalid_client', "The assertion's 'sub' is not the client id.");
      if (typeof claims.jti !== 'string' || claims.jti === '') return oauth(401, 'invalid_client', "The assertion has no 'jti'.");
      if (!useOnce(usedJtis, claims.jti, (claims.exp ?? nowS()) + CLOCK_TOLERANCE_S)) {
        return oauth(401, 'invalid_client', 'This client assertion was already used.');
      }
      const scopes = scope.trim().split(/\s+/);
      if (!scopes.every((s) => s === NRPS_SCOPE)) return oauth(400, 'invalid_scope', 'Only the NRPS scope is granted to this tool.');
      const token = b64url(randomBytes(32));
      const now = nowS();
      for (const [t, v] of accessTokens) if (v.exp < now) accessTokens.delete(t);
      accessTokens.set(token, { scopes, exp: now + accessTtl });
      issued += 1;
      return {
        status: 200,
        headers: { 'cache-control': 'no-store', pragma: 'no-cache' },
        body: JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: accessTtl, scope: scopes.join(' ') }),
        kind: 'json',
      };
    },

    memberships(origin, courseId, authorization, query) {
      const m = /^Bearer ([A-Za-z0-9_-]{1,200})$/.exec(authorization ?? '');
      const grant = m === null ? undefined : accessTokens.get(m[1] as string);
      const unauthorized: SimAnswer = {
        status: 401,
        headers: { 'www-authenticate': 'Bearer error="invalid_token"' },
        body: JSON.stringify({ error: 'invalid_token' }),
        kind: 'json',
      };
      if (grant === undefined || grant.exp < nowS()) return unauthorized;
      if (!grant.scopes.includes(NRPS_SCOPE)) {
        return {
          status: 403,
          headers: { 'www-authenticate': 'Bearer error="insufficient_scope"' },
          body: JSON.stringify({ error: 'insufficient_scope' }),
          kind: 'json',
        };
      }
      const fault = takeFault('memberships');
      if (fault !== undefined) return fault;
      const course = courses.find((c) => c.id === courseId);
      if (course === undefined) return { status: 404, body: JSON.stringify({ error: 'not_found' }), kind: 'json' };
      const limit = Math.min(Math.max(Number.parseInt(query.limit ?? '', 10) || 100, 1), 1000);
      const offset = Math.max(Number.parseInt(query.offset ?? '', 10) || 0, 0);
      const selfUrl = `${issuer(origin)}/courses/${encodeURIComponent(course.id)}/memberships`;
      // NRPS `role` filter: a full role URI, or its short name (`Learner`).
      const role = query.role;
      const listed =
        role === undefined || role === '' ? course.members : course.members.filter((x) => x.roles.some((r) => r === role || r.endsWith(`#${role}`)));
      const page = listed.slice(offset, offset + limit);
      const headers: Record<string, string> = { 'content-type': NRPS_MEDIA_TYPE };
      if (offset + limit < listed.length) {
        // Relative, as platforms may send it; the client resolves it against the page URL.
        const roleParam = role === undefined || role === '' ? '' : `&role=${encodeURIComponent(role)}`;
        headers.link = `<memberships?limit=${limit}&offset=${offset + limit}${roleParam}>; rel="next"`;
      }
      return {
        status: 200,
        headers,
        kind: 'json',
        body: JSON.stringify({
          id: offset === 0 ? selfUrl : `${selfUrl}?limit=${limit}&offset=${offset}`,
          context: { id: course.id, label: course.label, title: course.title },
          members: page.map((x) => ({
            status: x.status,
            name: x.name,
            ...(x.email === undefined ? {} : { email: x.email }),
            user_id: x.userId,
            roles: [...x.roles],
          })),
        }),
      };
    },
  };

  function placeLink(courseId: string, link: Omit<SimResourceLink, 'id'> & { id?: string }): SimResourceLink {
    const c = courseOrThrow(courseId);
    const placed: SimResourceLink = {
      id: link.id ?? `rl-${randomUUID()}`,
      title: link.title,
      ...(link.url === undefined ? {} : { url: link.url }),
      custom: { ...link.custom },
    };
    c.links.push(placed);
    return placed;
  }

  return {
    clientId,
    deploymentId,
    setBaseUrl(origin) {
      configuredBase = stripSlash(origin);
    },
    baseUrl: () => configuredBase,
    issuer,
    toolConfig,
    courses: () => courses,
    course: (id) => courses.find((c) => c.id === id),
    addMember(courseId, m) {
      const c = courseOrThrow(courseId);
      if (c.members.some((x) => x.userId === m.userId)) throw new Error(`'${m.userId}' is already in ${courseId}`);
      c.members.push({
        userId: m.userId,
        name: m.name,
        ...(m.email === undefined ? {} : { email: m.email }),
        roles: [...m.roles],
        status: m.status ?? 'Active',
      });
    },
    removeMember(courseId, userId) {
      const c = courseOrThrow(courseId);
      const i = c.members.findIndex((x) => x.userId === userId);
      if (i < 0) return false;
      c.members.splice(i, 1);
      return true;
    },
    setStatus(courseId, userId, status) {
      const m = courseOrThrow(courseId).members.find((x) => x.userId === userId);
      if (m === undefined) throw new Error(`'${userId}' is not in ${courseId}`);
      m.status = status;
    },
    placeLink,
    signIdToken: (claims, opts) => signJwt(claims, opts?.kid),
    async jwks() {
      return { keys: [(await keyPair).publicJwk] };
    },
    injectFault(fault) {
      faults.push({ ...fault, left: fault.times ?? 1 });
    },
    issuedTokens: () => issued,
    handlers,
  };
}

/**
 * The registration (for tenant `demo`) labplane needs to trust the simulated LMS, given the origin
 * it is served at (PUBLIC_URL, or the listening origin).
 */
export function seedSimLmsRegistration(
  origin: string,
  options: { clientId?: string; deploymentId?: string } = {},
): LtiRegistrationInput & { readonly tenant: 'demo' } {
  const iss = `${stripSlash(origin)}${SIM_LMS_PATH}`;
  return {
    tenant: 'demo',
    displayName: 'Simulated LMS',
    issuer: iss,
    clientId: options.clientId ?? SIM_LMS_CLIENT_ID,
    deploymentIds: [options.deploymentId ?? SIM_LMS_DEPLOYMENT_ID],
    authLoginUrl: `${iss}/auth`,
    accessTokenUrl: `${iss}/token`,
    jwksUrl: `${iss}/jwks`,
  };
}
