import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { addRouteHook } from '../plugins/route-hooks.js';
import { getOperationAST, GraphQLError, type ExecutionResult } from 'graphql';
import websocket from '@fastify/websocket';
import mercurius from 'mercurius';
import type { PrincipalResolver } from '../../domain/auth/authenticator.js';
import { isErrorCode, statusOfCode, type ErrorCode } from '../../domain/shared/error-codes.js';
import { isDomainError, ValidationError } from '../../domain/shared/errors.js';
import { authenticate } from '../plugins/auth.js';
import { domainProblem, makeProblem, type Problem } from '../problem.js';
import { sendProblem } from '../plugins/errors.js';
import { mergeLoaders, mergeResolvers, type ApiModule } from '../module.js';
import type { GraphQLContext } from './context.js';
import type { AuditRecorder } from '../plugins/audit.js';
import { auditMutations, noteMutations } from './audit.js';
import { createDocumentGuard, DocumentRefusedError, DOCUMENT_BUDGETS, withoutSuggestions } from './document-guard.js';
import { graphqlRuntime } from './graphql-runtime.js';
import { aliasLimitRule, asksForIntrospection, costLimitRule, GRAPHQL_LIMITS, introspectionRefused } from './limits.js';
import { baseResolvers } from './resolvers.js';
import { baseTypeDefs } from './schema.js';

export interface GraphQLDeps {
  readonly modules: readonly ApiModule[];
  readonly audit: AuditRecorder;
  readonly principals: PrincipalResolver;
  /** GraphiQL at /graphiql and schema introspection for everyone (dev mode). */
  readonly graphiql: boolean;
  /** Dev mode: validation messages keep graphql-js' "Did you mean …?" suggestions. */
  readonly devMode: boolean;
}

function where(err: GraphQLError): { nodes?: GraphQLError['nodes'] & object; positions?: readonly number[]; path?: readonly (string | number)[] } {
  return {
    ...(err.nodes === undefined ? {} : { nodes: err.nodes }),
    ...(err.positions === undefined ? {} : { positions: err.positions }),
    ...(err.path === undefined ? {} : { path: err.path }),
  };
}

/** Maps one GraphQL error to the REST table: same `code`, HTTP-like `status`; internals never leave. */
export function formatGraphQLError(err: GraphQLError, suggestions = true): GraphQLError {
  const original = err.originalError;
  if (isDomainError(original)) {
    const p = domainProblem(original);
    return new GraphQLError(original.message, {
      ...where(err),
      extensions: {
        code: p.code,
        status: p.status,
        ...(p.errors === undefined ? {} : { errors: p.errors }),
        ...(p.details === undefined ? {} : { details: p.details }),
      },
    });
  }
  const status = (original as { statusCode?: unknown } | undefined)?.statusCode;
  if (original === undefined || original === null || original instanceof GraphQLError || (typeof status === 'number' && status < 500)) {
    // Parse and validation errors of the query itself (limit rules name their own code).
    const own = err.extensions['code'];
    const message = suggestions ? err.message : withoutSuggestions(err.message);
    return new GraphQLError(message, { ...where(err), extensions: catalogued(isErrorCode(own) ? own : 'GRAPHQL_VALIDATION_FAILED') });
  }
  return new GraphQLError('Something went wrong on our side.', {
    ...(err.path === undefined ? {} : { path: err.path }),
    extensions: catalogued('INTERNAL'),
  });
}

/** `extensions` of an error that is not a domain error: the code and the catalogue's status. */
function catalogued(code: ErrorCode): { code: ErrorCode; status: number } {
  return { code, status: statusOfCode(code) };
}

/** Mercurius wraps query validation errors in one error whose `originalError.errors` lists them. */
function flatten(errors: readonly GraphQLError[]): GraphQLError[] {
  return errors.flatMap((e) => {
    const inner = (e.originalError as { errors?: unknown } | undefined)?.errors;
    if (!Array.isArray(inner)) return [e];
    return inner.map((x: unknown) => (x instanceof GraphQLError ? x : new GraphQLError(x instanceof Error ? x.message : 'Invalid query.')));
  });
}

const PREFLIGHT_HEADERS = ['graphql-preflight', 'apollo-require-preflight', 'x-apollo-operation-name'];
const JSON_TYPES = new Set(['application/json', 'application/graphql-response+json', 'application/graphql+json']);

/**
 * CSRF prevention: a browser can send a GET or a form/text POST cross-site without a preflight,
 * so those must carry a header only a script could set. WebSocket upgrades (subscriptions) are
 * authenticated by their connection_init payload instead.
 */
function refuseCrossSiteRequest(method: string, headers: Record<string, string | string[] | undefined>): void {
  const type =
    String(headers['content-type'] ?? '')
      .split(';')[0]
      ?.trim()
      .toLowerCase() ?? '';
  const simple = method === 'GET' || (method === 'POST' && !JSON_TYPES.has(type));
  if (simple && !PREFLIGHT_HEADERS.some((h) => headers[h] !== undefined)) {
    throw Object.assign(
      new ValidationError(
        'GraphQL requests must be POSTed as application/json (or carry a graphql-preflight header) to prevent cross-site request forgery.',
        [{ field: '/content-type', in: 'header', message: 'application/json expected' }],
      ),
      { statusCode: 400 },
    );
  }
}

/**
 * An anonymous body is refused from its Content-Length, before it is read: it could only hold a
 * document over the anonymous budget. A body without a length (chunked) is refused alike.
 */
function anonymousBodyRefusal(headers: Record<string, string | string[] | undefined>): Problem | undefined {
  const length = Number(headers['content-length'] ?? Number.NaN);
  if (Number.isFinite(length) && length <= DOCUMENT_BUDGETS.anonymous.maxBodyBytes) return undefined;
  const detail = `Without a valid bearer token a GraphQL request body holds at most ${DOCUMENT_BUDGETS.anonymous.maxBodyBytes} bytes and states its Content-Length.`;
  return Number.isFinite(length) ? makeProblem('PAYLOAD_TOO_LARGE', detail) : makeProblem('LENGTH_REQUIRED', detail);
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The GraphQL route's caller, resolved in its onRequest hook; undefined on every other route. */
    graphqlCaller: GraphQLContext | undefined;
  }
}

export async function installGraphQL(app: FastifyInstance, deps: GraphQLDeps): Promise<void> {
  // The caller is resolved once per request, before the body is read, so that its budget applies
  // early, and kept on the request itself. Not in a WeakMap keyed by the request: that table grew by
  // one entry per request until a full GC, and every young-generation GC walked it (under load the
  // scavenges took 23 ms each and garbage collection 15% of a GraphQL request's CPU).
  app.decorateRequest('graphqlCaller', undefined);
  // On the GraphQL route only (no other request pays for it).
  addRouteHook(
    app,
    'onRequest',
    (route) => route.url === '/graphql',
    async (request: FastifyRequest, reply: FastifyReply) => {
      if (request.url.split('?')[0] !== '/graphql' || request.headers.upgrade?.toLowerCase() === 'websocket') return;
      refuseCrossSiteRequest(request.method, request.headers);
      let caller: GraphQLContext;
      try {
        caller = { principal: await authenticate(deps.principals, request.headers.authorization), authError: undefined };
      } catch (authError) {
        caller = { principal: undefined, authError };
      }
      request.graphqlCaller = caller;
      const refusal = caller.principal === undefined && request.method === 'POST' ? anonymousBodyRefusal(request.headers) : undefined;
      // Answered here, as problem+json: the GraphQL route's own error handler would read the body first.
      if (refusal !== undefined) return sendProblem(reply.header('connection', 'close'), refusal);
      return undefined;
    },
  );
  addRouteHook(
    app,
    'preValidation',
    (route) => route.url === '/graphql',
    async (request: FastifyRequest) => {
      if (request.url.split('?')[0] === '/graphql' && Array.isArray(request.body) && request.body.length > GRAPHQL_LIMITS.batch) {
        // statusCode: mercurius answers its own route's errors, and takes the status from here.
        throw Object.assign(
          new ValidationError(`A batch holds at most ${GRAPHQL_LIMITS.batch} queries.`, [{ field: '/', message: `${request.body.length} queries` }]),
          {
            statusCode: 400,
          },
        );
      }
    },
  );
  const validateOptions = { maxErrors: 100, hideSuggestions: !deps.devMode };
  const validationRules = [aliasLimitRule(GRAPHQL_LIMITS.aliases), costLimitRule(GRAPHQL_LIMITS.cost)];
  // Registered before mercurius (which then keeps it) for a smaller message limit than its 1 MiB:
  // a subscription's document is parsed as it arrives, before any hook of ours can look at it.
  await app.register(websocket, { options: { maxPayload: DOCUMENT_BUDGETS.signedIn.maxChars * 2 } });
  await app.register(mercurius, {
    schema: [baseTypeDefs, ...deps.modules.flatMap((m) => (m.graphql === undefined ? [] : [m.graphql.typeDefs]))].join('\n'),
    resolvers: mergeResolvers([
      { name: 'base', handlers: {}, graphql: { typeDefs: '', resolvers: baseResolvers } },
      ...deps.modules,
    ]) as unknown as mercurius.IResolvers,
    loaders: mergeLoaders(deps.modules) as unknown as mercurius.MercuriusLoaders,
    // mercurius' own GraphiQL loads its scripts from a CDN; ours comes from this origin.
    graphiql: false,
    queryDepth: GRAPHQL_LIMITS.depth,
    // graphql-js' own switch for "Did you mean …?" in validation messages; the error formatter also
    // cuts them from messages validation does not make (variable coercion).
    // (A variable, not a literal: mercurius' types predate graphql 16.15's `hideSuggestions`.)
    graphql: { validateOptions },
    allowBatchedQueries: true,
    // A document seen a third time (mercurius caches parsed and validated documents, 1,024 of them)
    // is compiled to a function by graphql-jit instead of being interpreted by graphql-js on every
    // request; validation, the depth, cost and alias limits and every hook still run as before.
    jit: 3,
    validationRules,
    path: '/graphql',
    subscription: {
      // Subscriptions authenticate once, at connection start: connection_init payload
      // { "authorization": "Bearer <token>" } (or payload.headers.authorization).
      onConnect: async (data: { payload?: { authorization?: unknown; headers?: { authorization?: unknown } } | null }) => {
        const raw = data.payload?.authorization ?? data.payload?.headers?.authorization;
        try {
          const principal = await authenticate(deps.principals, typeof raw === 'string' ? raw : undefined);
          return { principal, authError: undefined } satisfies GraphQLContext;
        } catch {
          return false;
        }
      },
    },
    context: async (request): Promise<GraphQLContext> => {
      const known = request.graphqlCaller;
      if (known !== undefined) return known;
      try {
        return { principal: await authenticate(deps.principals, request.headers.authorization), authError: undefined };
      } catch (authError) {
        return { principal: undefined, authError };
      }
    },
    errorFormatter: (execution: ExecutionResult, context) => {
      const base = mercurius.defaultErrorFormatter({ ...execution, errors: execution.errors ?? [] }, context);
      const errors = flatten(execution.errors ?? []).map((e) => formatGraphQLError(e, deps.devMode));
      const internal = errors.some((e) => e.extensions['code'] === 'INTERNAL');
      if (internal) app.log.error({ errors: execution.errors?.map((e) => e.originalError ?? e) }, 'graphql resolver failed');
      return { statusCode: base.statusCode, response: { data: execution.data ?? null, errors } };
    },
  });
  // Before parsing: size, token count and a plausible start, by the caller's budget.
  const checkDocument = createDocumentGuard();
  app.graphql.addHook('preParsing', async (_schema, source, context) => {
    const signedIn = (context as unknown as GraphQLContext).principal !== undefined;
    checkDocument(source, signedIn ? DOCUMENT_BUDGETS.signedIn : DOCUMENT_BUDGETS.anonymous);
  });
  if (deps.graphiql) {
    // Dev mode only: outside it, GraphiQL's page and its static assets are not even loaded.
    const { installGraphiQLPage } = await import('../plugins/graphiql-page.js');
    await installGraphiQLPage(app, { schema: () => app.graphql.schema });
  }
  // mercurius does not validate subscription documents (a client may even send one as a ready-made
  // AST object): they get the same rules and limits as queries before they run.
  app.graphql.addHook('preSubscriptionExecution', async (schema, document) => {
    const errors = graphqlRuntime.validate(schema, document, [...graphqlRuntime.specifiedRules, ...validationRules], validateOptions);
    const first = errors[0];
    if (first !== undefined) {
      const own = first.extensions['code'];
      throw new DocumentRefusedError(
        errors.map((e) => (deps.devMode ? e.message : withoutSuggestions(e.message))).join(' '),
        isErrorCode(own) ? own : 'GRAPHQL_VALIDATION_FAILED',
      );
    }
  });
  app.graphql.addHook('onResolution', async (execution, context) => {
    auditMutations(deps.audit, execution, context);
  });
  // preExecution, not preValidation: mercurius skips validation hooks for queries it has cached.
  app.graphql.addHook('preExecution', async (_schema, document, context, variables) => {
    // Only HTTP requests come here (WebSocket ones go through preSubscriptionExecution): a
    // subscription sent over HTTP has no stream to answer on, and mercurius would fail it as a 500.
    const body = (context as unknown as { reply?: { request?: { body?: unknown } } }).reply?.request?.body;
    const operationName =
      typeof body === 'object' && body !== null && 'operationName' in body && typeof body.operationName === 'string' ? body.operationName : undefined;
    const operation = getOperationAST(document, operationName);
    nameRequestSpan(context, operation);
    if (operation?.operation === 'subscription') {
      throw new DocumentRefusedError(
        'Subscriptions run over a WebSocket on /graphql (graphql-transport-ws), not over HTTP.',
        'GRAPHQL_SUBSCRIPTION_OVER_HTTP',
      );
    }
    noteMutations(context, document, variables as Record<string, unknown> | undefined);
    const principal = (context as unknown as GraphQLContext).principal;
    if (!deps.graphiql && asksForIntrospection(document) && principal?.platformAdmin !== true) throw introspectionRefused();
    // Mutations stay interpreted by graphql-js (mercurius compiles no document a hook hands back):
    // graphql-jit's serial execution leaves `locations` out of a refused mutation's errors
    // (test/api/graphql-jit.test.ts). Queries, the repeated reads, are compiled.
    return operation?.operation === 'mutation' ? { document } : undefined;
  });
}

/**
 * While tracing is on (@fastify/otel decorates the request), the request's span is named by the
 * GraphQL operation (`graphql query Labs`), not by the one route every GraphQL request shares.
 */
function nameRequestSpan(context: unknown, operation: ReturnType<typeof getOperationAST>): void {
  const request = (context as { reply?: { request?: { opentelemetry?: () => { span?: { updateName(name: string): unknown } } } } }).reply?.request;
  const span = request?.opentelemetry?.().span;
  if (span === undefined || operation === null || operation === undefined) return;
  const name = operation.name?.value.slice(0, 64) ?? 'anonymous';
  span.updateName(`graphql ${operation.operation} ${name}`);
}
