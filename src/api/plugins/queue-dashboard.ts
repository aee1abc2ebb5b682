import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler, RouteOptions } from 'fastify';
import type { PrincipalResolver } from '../../domain/auth/authenticator.js';
import { authorize } from '../../domain/auth/policy.js';
import { DomainError, isDomainError } from '../../domain/shared/errors.js';
import { makeProblem } from '../problem.js';
import { SIGN_IN_PATH } from './admin-sign-in-page.js';
import type { AuditRecorder } from './audit.js';
import { checkSameOrigin, installAdminSignIn, prefersHtml } from './admin-sign-in.js';
import { principalOf, usesAdminCookie } from './auth.js';
import { replyWithError, sendProblem } from './errors.js';

export const QUEUE_DASHBOARD_PATH = '/admin/queues';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** A write through the dashboard while it is read-only (QUEUE_DASHBOARD_WRITE is off). */
export class DashboardReadOnlyError extends DomainError {
  readonly kind = 'forbidden' as const;
  constructor() {
    super('DASHBOARD_READ_ONLY', 'The queue dashboard is read-only; set QUEUE_DASHBOARD_WRITE=true to retry, clean, promote, remove or pause jobs.');
  }
}

export interface QueueDashboardOptions {
  /** BullMQ queues to show; empty without Redis (the dashboard then answers 404 DASHBOARD_UNAVAILABLE). */
  readonly queues: readonly unknown[];
  /** Allow the dashboard's write actions (retry, clean, promote, remove, pause). */
  readonly write: boolean;
  /** Verifies the token given at sign-in, like the API does. */
  readonly principals: PrincipalResolver;
  /** Records sign-ins and the dashboard's write calls. */
  readonly audit: AuditRecorder;
}

/** A browser opening a dashboard page (not the JSON API, not an asset). */
function isPageNavigation(request: FastifyRequest): boolean {
  const path = request.url.split('?')[0] ?? '';
  return (request.method === 'GET' || request.method === 'HEAD') && prefersHtml(request) && !/^\/admin\/queues\/(api|static)(\/|$)/.test(path);
}

/**
 * bull-board installs its own error handler (a bare 500 for anything it did not throw itself), and
 * routes use the innermost one: every dashboard route gets ours instead, so refusals from the auth
 * and rate-limit hooks are problem+json, and a browser without a session is sent to sign in.
 */
function dashboardErrorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (isDomainError(err) && err.kind === 'unauthenticated' && isPageNavigation(request)) {
    return reply.code(303).header('location', SIGN_IN_PATH).header('cache-control', 'no-store').send();
  }
  return replyWithError(err, request, reply);
}

/** Writes: admins only (checked before saying anything else), refused while read-only, same-origin with a cookie. */
function writeGuard(write: boolean): onRequestHookHandler {
  return async (request) => {
    if (SAFE_METHODS.has(request.method)) return;
    authorize(principalOf(request), 'queue.admin', {});
    if (!write) throw new DashboardReadOnlyError();
    if (usesAdminCookie(request)) checkSameOrigin(request);
  };
}

/** Every route of `scope` needs `queue.admin`, takes the admin cookie, and answers errors our way; writes are audited. */
function protectRoutes(scope: FastifyInstance, write: boolean, audit: AuditRecorder): void {
  const guard = writeGuard(write);
  scope.addHook('onResponse', async (request, reply) => {
    if (SAFE_METHODS.has(request.method) || request.principal === undefined || request.is404) return;
    const queue = (request.params as { queueName?: unknown } | undefined)?.queueName;
    const code = reply.getHeader('x-problem-code');
    audit.record(
      request,
      {
        action: `queueDashboard:${(request.routeOptions.url ?? '').replace(`${QUEUE_DASHBOARD_PATH}/api/`, '')}`,
        ...(typeof queue === 'string' ? { target: { type: 'queue', id: queue } } : {}),
        result: { status: reply.statusCode, ...(typeof code === 'string' ? { code } : {}) },
      },
      request.principal,
    );
  });
  scope.addHook('onRoute', (route: RouteOptions) => {
    route.config = { ...(route.config ?? {}), permission: 'queue.admin', adminSession: true };
    route.errorHandler = dashboardErrorHandler;
    const own = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest];
    route.onRequest = [...own, guard];
  });
}

/**
 * bull-board under /admin/queues for platform admins only (permission `queue.admin`): the token in
 * the Authorization header, or for a browser the `labplane_admin` cookie set by /admin/sign-in.
 * Read-only unless `write`. Without BullMQ (no Redis) its paths answer 404 DASHBOARD_UNAVAILABLE.
 */
export async function installQueueDashboard(app: FastifyInstance, options: QueueDashboardOptions): Promise<void> {
  const { queues, write } = options;
  await installAdminSignIn(app, { principals: options.principals, audit: options.audit, home: QUEUE_DASHBOARD_PATH });
  if (queues.length === 0) {
    await app.register(
      async (scope) => {
        protectRoutes(scope, true, options.audit);
        const unavailable = async (_req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> =>
          sendProblem(reply, makeProblem('DASHBOARD_UNAVAILABLE', 'The queue dashboard needs Redis (REDIS_URL); jobs run in process.'));
        scope.get('/', unavailable);
        scope.get('/*', unavailable);
      },
      { prefix: QUEUE_DASHBOARD_PATH },
    );
    return;
  }
  // bull-board is loaded only when there are queues to show (BullMQ): the embedded default never needs it.
  const [{ createBullBoard }, { BullMQAdapter }, { FastifyAdapter }] = await Promise.all([
    import('@bull-board/api'),
    import('@bull-board/api/bullMQAdapter'),
    import('@bull-board/fastify'),
  ]);
  const serverAdapter = new FastifyAdapter();
  createBullBoard({
    queues: queues.map((q) => new BullMQAdapter(q as ConstructorParameters<typeof BullMQAdapter>[0], { readOnlyMode: !write, allowRetries: write })),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'labplane queues', miscLinks: [{ text: 'Sign out', url: SIGN_IN_PATH }] } },
  });
  serverAdapter.setBasePath(QUEUE_DASHBOARD_PATH);
  await app.register(
    async (scope) => {
      protectRoutes(scope, write, options.audit);
      await scope.register(serverAdapter.registerPlugin());
    },
    { prefix: QUEUE_DASHBOARD_PATH },
  );
}
