import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { PrincipalResolver } from '../../domain/auth/authenticator.js';
import { authorize, isPlatformOnly, PERMISSIONS, type Permission } from '../../domain/auth/policy.js';
import type { Principal } from '../../domain/auth/principal.js';
import { UnauthenticatedError } from '../../domain/shared/errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Permission of a route not described by the contract (`public` for none). */
    permission?: Permission | 'public';
    /** Admin pages (/admin) also take the token from the `labplane_admin` cookie; nothing else does. */
    adminSession?: boolean;
  }
  interface FastifyRequest {
    /** Set once the bearer token was verified; routes marked `public` leave it undefined. */
    principal: Principal | undefined;
  }
}

/** The permission a route declares (`x-permission` in the contract, or `config.permission`). */
export function routePermission(request: FastifyRequest): Permission | 'public' | undefined {
  // One read of routeOptions: fastify builds that object anew on every access.
  const { schema, config } = request.routeOptions;
  const fromSchema = (schema as Record<string, unknown> | undefined)?.['x-permission'];
  const fromConfig = (config as { permission?: unknown } | undefined)?.permission;
  const value = fromSchema ?? fromConfig;
  if (value === 'public') return 'public';
  return typeof value === 'string' && (PERMISSIONS as readonly string[]).includes(value) ? (value as Permission) : undefined;
}

/** The admin session cookie set by `POST /admin/sign-in` (Path=/admin): it holds the bearer token. */
export const ADMIN_COOKIE = 'labplane_admin';

/**
 * The value of cookie `name` in a Cookie header (RFC 6265 §5.4: `name=value` pairs separated by
 * `; `), percent-decoded; undefined when absent or not decodable. A few lines instead of
 * @fastify/cookie: one cookie is read, in one place.
 */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const pair of (header ?? '').split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0 || pair.slice(0, eq).trim() !== name) continue;
    try {
      return decodeURIComponent(pair.slice(eq + 1).trim());
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Whether the request's credentials came from the admin cookie (no Authorization header). */
export function usesAdminCookie(request: FastifyRequest): boolean {
  return (
    request.headers.authorization === undefined &&
    request.routeOptions.config.adminSession === true &&
    cookieValue(request.headers.cookie, ADMIN_COOKIE) !== undefined
  );
}

export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const m = /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)$/i.exec(header.trim());
  return m?.[1];
}

/** Resolves the caller from the Authorization header, or throws UnauthenticatedError. */
export async function authenticate(resolver: PrincipalResolver, header: string | undefined): Promise<Principal> {
  const token = bearerToken(header);
  if (token === undefined) throw new UnauthenticatedError('A bearer token is required (Authorization: Bearer <token>).');
  return resolver.resolve(token);
}

/**
 * Every route declares a permission; a route that declares none is refused (fail closed).
 * Authentication runs before body validation, so an anonymous caller learns nothing about the
 * contract; the coarse tenant gate runs after params are parsed; use cases do the fine checks.
 */
export function installAuth(app: FastifyInstance, resolver: PrincipalResolver): void {
  app.decorateRequest('principal', undefined);
  // Both hooks take a callback rather than being async: on public routes (and 404s) they end
  // without creating a promise, which every request would otherwise pay for.
  app.addHook('onRequest', (request, _reply, done) => {
    if (request.is404) return done();
    const permission = routePermission(request);
    if (permission === 'public') return done();
    if (permission === undefined) {
      request.log.error({ route: request.routeOptions.url }, 'route declares no permission');
      return done(new UnauthenticatedError('This route is not available.'));
    }
    const header = request.headers.authorization;
    const cookie = usesAdminCookie(request) ? cookieValue(request.headers.cookie, ADMIN_COOKIE) : undefined;
    authenticate(resolver, cookie === undefined ? header : `Bearer ${cookie}`).then(
      (principal) => {
        request.principal = principal;
        done();
      },
      (err: unknown) => done(err as Error),
    );
  });
  app.addHook('preHandler', (request, _reply, done) => {
    if (request.principal === undefined) return done();
    const permission = routePermission(request);
    if (permission === undefined || permission === 'public') return done();
    try {
      // The tenant a request is about: its path, else a `tenant` filter in the query.
      const tenant = (request.params as { tenant?: unknown } | undefined)?.tenant ?? (request.query as { tenant?: unknown } | undefined)?.tenant;
      if (typeof tenant === 'string') authorize(request.principal, permission, { tenant });
      // Without a tenant in the request (an operation by id, say) only the use case knows the
      // target's tenant: it authorizes, and answers 404 for another tenant's things.
      else if (isPlatformOnly(permission)) authorize(request.principal, permission, {});
    } catch (err) {
      return done(err as Error);
    }
    done();
  });
}

/** The authenticated caller of a route (routes only run after `installAuth` set it). */
export function principalOf(request: FastifyRequest): Principal {
  if (request.principal === undefined) throw new UnauthenticatedError();
  return request.principal;
}
