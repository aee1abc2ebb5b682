import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { AuditLog } from '../../domain/audit/audit.js';
import { makePrincipal, type Principal } from '../../domain/auth/principal.js';
import type { PlatformTokenVerifier, RefusalStatus } from '../../domain/lti/launch.js';
import type {
  Directory,
  LaunchStateStore,
  LtiRegistrationRepository,
  LtiRosterSync,
  LtiSessionStore,
  NonceLedger,
  ToolKeys,
} from '../../domain/lti/ports.js';
import type { LtiRegistration } from '../../domain/lti/registration.js';
import type { LabRepository } from '../../domain/labs/lab-repository.js';
import type { LabService } from '../../domain/labs/lab-service.js';
import type { Image, ImageOwner } from '../../domain/images/image.js';
import type { Page, PageRequest } from '../../domain/shared/page.js';
import type { Clock } from '../../domain/shared/ids.js';
import { LTI_ASSETS, ltiCsp } from './html.js';

/** Fixed tool URLs (what a platform registers). */
export const LTI_LOGIN_PATH = '/lti/login';
export const LTI_LAUNCH_PATH = '/lti/launch';
export const LTI_DEEP_LINK_PATH = '/lti/deep-link';
export const LTI_LEARNER_PATH = '/lti/learner';
export const LTI_INSTRUCTOR_PATH = '/lti/instructor';
export const LTI_DEEP_LINK_SCRIPT = `${LTI_ASSETS}/deep-link-return.js`;

/** The session cookie (HttpOnly; holds only the session id). */
export const LTI_SESSION_COOKIE = 'lp_lti_session';
/** Launch state cookies are named by the state's first 8 characters (several launches may run in one browser). */
export const LTI_STATE_COOKIE_PREFIX = 'lp_lti_state_';
/** How long a login initiation waits for its launch, seconds. */
export const LAUNCH_STATE_TTL_SECONDS = 600;
/** Longest session, ms (never longer, whatever the id_token's exp). */
export const LTI_SESSION_TTL_MS = 3_600_000;
/** A nonce is remembered as long as any id_token carrying it could still be accepted (exp, skew and margin). */
export const NONCE_TTL_SECONDS = 3_600;
/** Longest form or query value accepted (an lti_message_hint may be a JWT; an id_token a few KB). */
export const MAX_PARAM = 8_192;
export const MAX_ID_TOKEN = 65_536;

/** Visible images of a tenant (its own and the platform's), for the Deep Linking "new lab" form. */
export type LtiImageCatalog = Pick<{ list(p: Principal, owner: ImageOwner, filter: object, page: PageRequest): Promise<Page<Image>> }, 'list'>;

export interface LtiLaunchDeps {
  readonly registrations: Pick<LtiRegistrationRepository, 'findByClient' | 'findByIssuer' | 'get'>;
  readonly verifier: PlatformTokenVerifier;
  readonly toolKeys: Pick<ToolKeys, 'current'>;
  readonly states: LaunchStateStore;
  readonly nonces: NonceLedger;
  readonly sessions: LtiSessionStore;
  readonly directory: Directory;
  readonly rosterSync: LtiRosterSync;
  /** Reads of the registration's tenant's labs (the launch resolves its lab here). */
  readonly labRepo: Pick<LabRepository, 'list' | 'get'>;
  readonly labs: Pick<LabService, 'create' | 'bindLti'>;
  readonly images: LtiImageCatalog;
  readonly auditLog: AuditLog;
  readonly logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  readonly clock?: Clock;
  /** PUBLIC_URL; without it the tool's origin is the request's. */
  readonly publicUrl?: string;
  /** CSP frame-ancestors of the LTI pages (LTI_FRAME_ANCESTORS; default `*`). */
  readonly frameAncestors: string;
}

/** A random URL-safe value of 256 bits. */
export function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Equal strings, compared in constant time. */
export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The tool's origin: PUBLIC_URL when set, else the request's. */
export function toolBase(request: FastifyRequest, publicUrl: string | undefined): string {
  return (publicUrl ?? `${request.protocol}://${request.host}`).replace(/\/+$/, '');
}

/** A cookie the launch sets: HttpOnly, Secure, SameSite=None (the launch is a cross-site form POST), Partitioned (framed in the LMS), Path=/lti. */
export function ltiCookie(name: string, value: string, maxAgeSeconds: number): string {
  return `${name}=${value}; Max-Age=${maxAgeSeconds}; Path=/lti; HttpOnly; Secure; SameSite=None; Partitioned`;
}

/**
 * Sends an LTI page: framable by the LMS (no X-Frame-Options; CSP frame-ancestors from the
 * setting), never cached.
 */
export function sendPage(
  reply: FastifyReply,
  status: number,
  html: string,
  frameAncestors: string,
  formAction: readonly string[] = [],
): FastifyReply {
  reply.removeHeader('x-frame-options');
  return reply
    .code(status)
    .header('content-security-policy', ltiCsp(frameAncestors, formAction))
    .header('cache-control', 'no-store')
    .type('text/html; charset=utf-8')
    .send(html);
}

export const REFUSAL_TITLES: Readonly<Record<RefusalStatus, string>> = {
  400: 'Launch not understood',
  401: 'Launch not accepted',
  403: 'Not allowed',
  404: 'Lab not found',
  502: 'Platform not reachable',
};

/** Form fields or query parameters as single strings (a repeated field counts once, its last value). */
export function fields(source: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof source !== 'object' || source === null) return out;
  for (const [k, v] of Object.entries(source as Record<string, unknown>)) {
    const value = Array.isArray(v) ? v[v.length - 1] : v;
    if (typeof value === 'string') out[k] = value;
  }
  return out;
}

/** The principal the LMS integration acts as for a registration: `labs.manage` in its tenant only, on behalf of the person. */
export function integrationPrincipal(registration: Pick<LtiRegistration, 'id' | 'tenant' | 'displayName' | 'issuer'>, onBehalfOf: string): Principal {
  return {
    ...makePrincipal({
      id: `lti:${registration.id}`,
      name: registration.displayName ?? registration.issuer,
      kind: 'service',
      integrationRoles: ['labs.manage'],
      integrationTenants: [registration.tenant],
    }),
    onBehalfOf,
  };
}
