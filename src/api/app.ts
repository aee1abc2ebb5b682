import { randomUUID } from 'node:crypto';
import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import underPressure from '@fastify/under-pressure';
import Fastify, { type FastifyInstance, type FastifyPluginCallback, type FastifyServerOptions } from 'fastify';
import type { Registry } from 'prom-client';
import type { PrincipalResolver } from '../domain/auth/authenticator.js';
import type { AuditLog } from '../domain/audit/audit.js';
import type { IdempotencyStore } from '../domain/operations/idempotency-store.js';
import { installGraphQL } from './graphql/plugin.js';
import { mergeHandlers, type ApiModule } from './module.js';
import { cachedSerializerFactory } from './plugins/compiled-schemas.js';
import { registerContractRoutes } from './contract-routes.js';
import { contractDocument, type OpenApiDocument } from './openapi-spec.js';
import { createAuditRecorder, installRestAudit } from './plugins/audit.js';
import { installAuth } from './plugins/auth.js';
import { clientErrorHandler, installErrorHandling, sendProblem } from './plugins/errors.js';
import { makeProblem, PROBLEM_CONTENT_TYPE } from './problem.js';
import { installFormBodies } from './plugins/form-body.js';
import { installConditionalGet } from './plugins/conditional-get.js';
import { installIdempotency } from './plugins/idempotency.js';
import { installQueueDashboard } from './plugins/queue-dashboard.js';
import { installRateLimit } from './plugins/rate-limit.js';
import { APP_SECURITY_HEADERS, installSecurityHeaders } from './plugins/security-headers.js';
import { requestChildLogger } from './request-logger.js';
import { installMetrics } from './plugins/metrics.js';
import { installMediaTypeGuard, installValidators, optionalBodyOperations } from './plugins/validation.js';
import { systemHandlers, type DevTokenIssuer, type ReadinessCheck } from './rest/system.js';

export interface AppDeps {
  readonly logger: Exclude<FastifyServerOptions['logger'], undefined>;
  readonly devMode: boolean;
  readonly corsOrigins: readonly string[];
  readonly bodyLimitBytes: number;
  /** API slices (tenants, operations, ...): REST handlers and GraphQL types over their use cases. */
  readonly modules: readonly ApiModule[];
  /** Routes outside the contract, registered after it (the embedded default's simulated LMS); none by default. */
  readonly routes?: readonly ((app: FastifyInstance) => Promise<void>)[];
  readonly principals: PrincipalResolver;
  readonly idempotency: IdempotencyStore;
  readonly auditLog: AuditLog;
  /** BullMQ queues shown on the admin dashboard (empty without Redis). */
  readonly dashboardQueues: readonly unknown[];
  /** The dashboard may retry, clean, promote, remove and pause; read-only otherwise. */
  readonly dashboardWrite: boolean;
  /** Present in dev mode only; without it `/dev/token` does not exist. */
  readonly devTokens: DevTokenIssuer | undefined;
  readonly readiness: readonly ReadinessCheck[];
  readonly metrics: Registry;
  /** Requests per minute per principal (per IP before authentication). */
  readonly rateLimitPerMinute: number;
  /** An ioredis client so limits hold across API instances; in memory when absent. */
  readonly rateLimitRedis: unknown;
  /** Event-loop delay (ms) above which requests are shed with 503; 0 turns shedding off. */
  readonly maxEventLoopDelayMs: number;
  /** The request spans' plugin while tracing is on (@fastify/otel); registered before anything else. */
  readonly tracing?: FastifyPluginCallback;
  /**
   * Pieces of the request pipeline left out, for `bench/pipeline-cost.ts` only: no setting or
   * environment variable reaches it (buildAppFromDeps takes it as a separate argument the server
   * never passes). Empty in production.
   */
  readonly benchWithout?: ReadonlySet<PipelinePiece>;
}

/**
 * The pieces of the shared request pipeline a benchmark can leave out one at a time (auth is
 * measured by the benchmark with a resolver that answers a fixed principal, so its hooks stay).
 */
export const PIPELINE_PIECES = [
  'headers',
  'cors',
  'shedding',
  'metrics',
  'rateLimit',
  'idempotency',
  'audit',
  'validation',
  'serialization',
] as const;
export type PipelinePiece = (typeof PIPELINE_PIECES)[number];

/** Log redaction: credentials never reach the log stream. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  '*.accessToken',
  '*.password',
  '*.secret',
  '*.token',
  '*.clientSecret',
];

const PUBLIC_PREFIXES = ['/graphql', '/graphiql', '/docs', '/openapi.json'];
const UNSHED_PATHS = new Set(['/healthz', '/metrics']);
const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

let servedWithoutDev: OpenApiDocument | undefined;

/**
 * The contract as served: without dev-only operations when dev mode is off. The same object on every
 * call (the process's one parsed, frozen copy, or one frozen copy without them): the routes made from
 * it are kept per document (registerContractRoutes).
 */
export function servedSpec(devMode: boolean): OpenApiDocument {
  const doc = contractDocument();
  if (devMode) return doc;
  if (servedWithoutDev === undefined) {
    const paths = { ...doc.paths };
    delete paths['/dev/token'];
    servedWithoutDev = Object.freeze({ ...doc, paths: Object.freeze(paths) });
  }
  return servedWithoutDev;
}

/** Builds the fastify app (does not listen). Plugin order is deliberate; see comments. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const without = deps.benchWithout ?? new Set<PipelinePiece>();
  const app = Fastify({
    logger: deps.logger,
    childLoggerFactory: requestChildLogger,
    bodyLimit: deps.bodyLimitBytes,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    requestTimeout: 30_000,
    connectionTimeout: 60_000,
    clientErrorHandler,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 500 },
    // Errors the router raises before any route runs (bad URL encoding, overlong parameters).
    frameworkErrors: (error, _request, reply) => {
      const tooLong = error.code === 'FST_ERR_MAX_PARAM_LENGTH';
      void sendProblem(reply, makeProblem(tooLong ? 'URI_TOO_LONG' : 'BAD_URL', tooLong ? 'A path parameter is too long.' : 'The URL is malformed.'));
    },
    ajv: { customOptions: { removeAdditional: false } },
    schemaController: { compilersFactory: { buildSerializer: cachedSerializerFactory as never } },
  });
  if (deps.tracing !== undefined) await app.register(deps.tracing);
  // Routes of docs, GraphQL and the spec authenticate in their own way (or are public).
  app.addHook('onRoute', (route) => {
    if (PUBLIC_PREFIXES.some((p) => route.url.startsWith(p))) route.config = { ...(route.config ?? {}), permission: 'public' };
  });
  installValidators(app);
  if (without.has('validation')) app.setValidatorCompiler(() => () => true);
  if (without.has('serialization')) app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  installMediaTypeGuard(app, optionalBodyOperations(contractDocument()));
  installErrorHandling(app);
  app.addContentTypeParser('application/merge-patch+json', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));
  installFormBodies(app);

  // One hook answers every request (404s and errors included) with its id and the security headers.
  const securityHeaders = without.has('headers') ? undefined : installSecurityHeaders(app, APP_SECURITY_HEADERS);
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', String(request.id));
    if (securityHeaders !== undefined) securityHeaders(request, reply);
    done();
  });
  // With no origin allowed, @fastify/cors would only copy its options on every request to find
  // that out (its preflight route answers 404 then, as an unknown route does).
  if (!without.has('cors') && deps.corsOrigins.length > 0)
    await app.register(cors, { origin: [...deps.corsOrigins], credentials: false, maxAge: 600 });
  if (!without.has('shedding'))
    await app.register(underPressure, {
      maxEventLoopDelay: deps.maxEventLoopDelayMs,
      retryAfter: 5,
      exposeStatusRoute: false,
      pressureHandler: (req, reply, type, value) => {
        // Liveness and scraping go through: a busy process is alive (a restart would only lose its
        // work), and its metrics matter most then. Readiness is shed, which takes the pod out of rotation.
        if (UNSHED_PATHS.has(req.url.split('?')[0] ?? '')) return;
        reply.header('retry-after', '5');
        void reply
          .code(503)
          .type(PROBLEM_CONTENT_TYPE)
          .send(makeProblem('OVERLOADED', `The server is under pressure (${type}=${String(value)}); retry later.`));
      },
    });
  if (!without.has('metrics')) installMetrics(app, deps.metrics);
  installAuth(app, deps.principals);
  if (!without.has('rateLimit')) await installRateLimit(app, { perMinute: deps.rateLimitPerMinute, redis: deps.rateLimitRedis });
  if (!without.has('idempotency')) installIdempotency(app, deps.idempotency);
  installConditionalGet(app);
  const audit = createAuditRecorder(deps.auditLog);
  if (!without.has('audit')) installRestAudit(app, audit);

  const spec = servedSpec(deps.devMode);
  await app.register(swagger, { mode: 'static', specification: { document: spec as never } });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { deepLinking: true, persistAuthorization: true } });

  await registerContractRoutes(
    app,
    spec,
    mergeHandlers([
      {
        name: 'system',
        handlers: systemHandlers({ readiness: deps.readiness, devTokens: deps.devMode ? deps.devTokens : undefined, metrics: deps.metrics, spec }),
      },
      ...deps.modules,
    ]),
  );
  await installGraphQL(app, { modules: deps.modules, principals: deps.principals, graphiql: deps.devMode, devMode: deps.devMode, audit });
  await installQueueDashboard(app, { queues: deps.dashboardQueues, write: deps.dashboardWrite, principals: deps.principals, audit });
  for (const routes of deps.routes ?? []) await app.register(routes);
  return app;
}
