import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { PrincipalResolver } from '../../domain/auth/authenticator.js';
import { authorize } from '../../domain/auth/policy.js';
import { DomainError, isDomainError, UnauthenticatedError, ValidationError } from '../../domain/shared/errors.js';
import { statusOf } from '../problem.js';
import { SIGN_IN_CSP, SIGN_IN_CSS, SIGN_IN_CSS_PATH, SIGN_IN_PATH, SIGN_OUT_PATH, signInPage } from './admin-sign-in-page.js';
import type { AuditRecorder } from './audit.js';
import { ADMIN_COOKIE } from './auth.js';

/** Sign-in bodies carry one token: a few KB at most. */
export const SIGN_IN_BODY_LIMIT = 8 * 1024;
/** A session never outlives its token, nor this (seconds). */
export const MAX_SESSION_SECONDS = 8 * 3600;
/** Lifetime of a session whose token's expiry the verifier did not say (seconds). */
export const UNKNOWN_EXPIRY_SESSION_SECONDS = 3600;
/** Browsers drop a cookie over 4096 bytes (RFC 6265 §6.1 minimum) without telling anyone. */
const MAX_COOKIE_BYTES = 4096;

/** A state-changing /admin request that did not come from a page of this origin. */
export class CrossOriginError extends DomainError {
  readonly kind = 'forbidden' as const;
  constructor() {
    super('CROSS_ORIGIN_REFUSED', 'This request must come from a page of this site (Origin header).');
  }
}

/** The origin that sent the request (`Origin`, else the origin of `Referer`), parsed. */
function requestOrigin(request: FastifyRequest): URL | undefined {
  const origin = request.headers.origin ?? request.headers.referer;
  if (origin === undefined) return undefined;
  try {
    const url = new URL(origin);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url : undefined;
  } catch {
    return undefined;
  }
}

/**
 * CSRF defence besides SameSite=Strict: a POST must come from a page of this host (`Origin`, which
 * every current browser sends on POST; `null` or another site is refused). Host only, not the
 * scheme: behind a TLS-terminating proxy the app sees http unless it trusts the proxy. The host is
 * what fastify derives for the request, so trustProxy / X-Forwarded-Host apply as configured.
 * Returns the page's origin.
 */
export function checkSameOrigin(request: FastifyRequest): URL {
  const origin = requestOrigin(request);
  if (origin === undefined || origin.host !== request.host.toLowerCase()) throw new CrossOriginError();
  return origin;
}

/** Whether the browser talks to us over https: its page's origin says so even when a proxy ended TLS. */
function overHttps(request: FastifyRequest, origin: URL): boolean {
  return request.protocol === 'https' || origin.protocol === 'https:';
}

/** True for a browser asking for a page (as opposed to an API client or a script fetching JSON). */
export function prefersHtml(request: FastifyRequest): boolean {
  return /\btext\/html\b/i.test(request.headers.accept ?? '');
}

function sessionCookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  return `${ADMIN_COOKIE}=${value}; Path=/admin; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

/** Whole seconds the session may last: the token's remaining lifetime, capped. */
export function sessionSeconds(expiresAt: number | undefined, now: number): number {
  const left = expiresAt === undefined ? UNKNOWN_EXPIRY_SESSION_SECONDS : Math.floor((expiresAt - now) / 1000);
  return Math.min(left, MAX_SESSION_SECONDS);
}

function tokenOf(body: unknown): string {
  const token = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)['token'] : undefined;
  if (typeof token !== 'string' || token.trim() === '') {
    throw new ValidationError('An access token is required.', [{ field: '/token', message: 'is required' }]);
  }
  return token.trim();
}

const PAGE_MESSAGES: Readonly<Record<string, string>> = {
  UNAUTHENTICATED: 'That token is not valid, or it has expired.',
  FORBIDDEN: 'That token does not hold the queue.admin permission.',
  CROSS_ORIGIN_REFUSED: 'The form was not sent from this site.',
  VALIDATION_FAILED: 'Paste an access token.',
  TOKEN_TOO_LARGE: 'That token is too large to keep in a browser cookie; use the Authorization header instead.',
};

function sendPage(reply: FastifyReply, status: number, message?: string): FastifyReply {
  if (status === 401) reply.header('www-authenticate', 'Bearer realm="labplane"');
  return (
    reply
      .code(status)
      .header('content-security-policy', SIGN_IN_CSP)
      // Form posts carry `Origin: null` under the app's default `no-referrer`; this page's forms must name their origin.
      .header('referrer-policy', 'same-origin')
      .header('cache-control', 'no-store')
      .type('text/html; charset=utf-8')
      .send(signInPage(message))
  );
}

export interface AdminSignInOptions {
  readonly principals: PrincipalResolver;
  readonly audit: AuditRecorder;
  /** Where a signed-in admin goes (the dashboard). */
  readonly home: string;
  readonly now?: () => number;
}

/**
 * `GET /admin/sign-in` (a form, no script), `POST /admin/sign-in` (verifies the token like the API
 * does, requires `queue.admin`, sets the `labplane_admin` cookie: HttpOnly, SameSite=Strict,
 * Path=/admin, Secure over https, no longer than the token lives) and `POST /admin/sign-out`.
 * Both POSTs must come from a page of this host (Origin).
 * A browser gets the form back with the reason when refused; other clients get problem+json.
 */
export async function installAdminSignIn(app: FastifyInstance, options: AdminSignInOptions): Promise<void> {
  const { principals, audit, home } = options;
  const now = options.now ?? Date.now;
  await app.register(async (scope) => {
    // Form bodies are parsed app-wide (plugins/form-body.ts); these routes take SIGN_IN_BODY_LIMIT at most.
    const config = { permission: 'public' as const };

    scope.get(SIGN_IN_PATH, { config }, async (_request, reply) => sendPage(reply, 200));
    scope.get(SIGN_IN_CSS_PATH, { config }, async (_request, reply) =>
      reply.header('cache-control', 'public, max-age=3600').type('text/css; charset=utf-8').send(SIGN_IN_CSS),
    );

    scope.post(SIGN_IN_PATH, { config, bodyLimit: SIGN_IN_BODY_LIMIT }, async (request, reply) => {
      try {
        const origin = checkSameOrigin(request);
        const token = tokenOf(request.body);
        const principal = await principals.resolve(token);
        authorize(principal, 'queue.admin', {});
        const maxAge = sessionSeconds(principal.expiresAt, now());
        if (maxAge <= 0) throw new UnauthenticatedError('The token has expired.');
        const cookie = sessionCookie(encodeURIComponent(token), maxAge, overHttps(request, origin));
        if (Buffer.byteLength(cookie) > MAX_COOKIE_BYTES) throw new TokenTooLargeError();
        audit.record(request, { action: 'adminSignIn', result: { status: 303 } }, principal);
        return await reply.code(303).header('set-cookie', cookie).header('cache-control', 'no-store').header('location', home).send();
      } catch (err) {
        if (prefersHtml(request) && isDomainError(err) && statusOf(err) < 500) {
          request.log.info({ code: err.code }, 'admin sign-in refused');
          return sendPage(reply, statusOf(err), PAGE_MESSAGES[err.code] ?? err.message);
        }
        throw err;
      }
    });

    scope.post(SIGN_OUT_PATH, { config, bodyLimit: SIGN_IN_BODY_LIMIT }, async (request, reply) => {
      const origin = checkSameOrigin(request);
      return reply
        .code(303)
        .header('set-cookie', sessionCookie('', 0, overHttps(request, origin)))
        .header('cache-control', 'no-store')
        .header('location', SIGN_IN_PATH)
        .send();
    });
  });
}

class TokenTooLargeError extends DomainError {
  readonly kind = 'validation' as const;
  constructor() {
    super('TOKEN_TOO_LARGE', 'The token is too large to keep in a browser cookie (4 KB); send it in the Authorization header instead.');
  }
}
