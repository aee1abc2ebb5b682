import type { FastifyInstance, RouteOptions } from 'fastify';
import openapiGlue from 'fastify-openapi-glue';
import { routeSpec, type OpenApiDocument } from './openapi-spec.js';

/** A route of the contract as fastify-openapi-glue makes it, with the operation it serves. */
interface ContractRoute {
  readonly operationId: string;
  /** Method, URL, schema and config: everything but the handler. */
  readonly options: Omit<RouteOptions, 'handler'>;
}

interface MadeRoutes {
  /**
   * The routes as JSON text: what each app parses into a copy of its own (fastify normalizes route
   * schemas in place). Kept as text, the process holds 0.6 MiB for them instead of a 2.1 MiB object
   * graph, and parsing it is faster than a structured clone. The options are plain data: method,
   * URL, schema, config (openapi-glue's `preHandler` is left undefined without security handlers).
   */
  readonly json: string;
  readonly prefix: string | undefined;
}

const made = new WeakMap<OpenApiDocument, Promise<MadeRoutes>>();

/**
 * The contract's routes, made once per document and process by fastify-openapi-glue itself.
 *
 * Why not register the plugin on every app: it validates the whole contract against the OpenAPI
 * meta-schema and dereferences it on every registration (0.2-0.35 s of CPU per app on 2 cores),
 * although what it makes depends on the document alone; the tests build hundreds of apps. So the
 * plugin runs here once, through its public entry point, against a recorder standing in for the
 * fastify instance (it only calls `register` with its route generator and `route` per operation),
 * with its documented `operationResolver` telling which operation each route serves.
 */
async function makeRoutes(doc: OpenApiDocument): Promise<MadeRoutes> {
  const routes: ContractRoute[] = [];
  let prefix: string | undefined;
  let operation: string | undefined;
  const recorder = {
    log: { warn() {}, debug() {}, info() {} },
    // Every request body type of the contract has a parser in the app (tests post each one).
    hasContentTypeParser: () => true,
    route(options: RouteOptions) {
      if (operation === undefined) throw new Error(`route ${options.method} ${options.url} made with no operation`);
      const { handler: _placeholder, ...rest } = options;
      routes.push({ operationId: operation, options: rest });
      operation = undefined;
    },
    async register(generate: (instance: unknown) => Promise<void>, conf: { prefix?: string }) {
      prefix = conf.prefix;
      await generate(recorder);
    },
  };
  await openapiGlue(recorder as never, {
    specification: routeSpec(doc),
    operationResolver: (operationId: string) => {
      operation = operationId;
      return async () => undefined;
    },
  });
  return { json: JSON.stringify(routes), prefix };
}

/**
 * Registers the contract's routes on `app`, each served by `handlers[operationId]` (called with
 * `handlers` as `this`, as openapi-glue's `serviceHandlers` does); an operation with no handler
 * answers with an error, as openapi-glue's do. Each app gets its own copy of the route options.
 */
export async function registerContractRoutes(app: FastifyInstance, doc: OpenApiDocument, handlers: Record<string, unknown>): Promise<void> {
  let pending = made.get(doc);
  if (pending === undefined) {
    pending = makeRoutes(doc);
    made.set(doc, pending);
    pending.catch(() => made.delete(doc));
  }
  const { json, prefix } = await pending;
  const copies = JSON.parse(json) as ContractRoute[];
  await app.register(
    async (instance) => {
      for (const { operationId, options } of copies) {
        const own = handlers[operationId];
        const handler =
          typeof own === 'function'
            ? (own as (...args: unknown[]) => unknown).bind(handlers)
            : async () => {
                throw new Error(`Operation ${operationId} not implemented`);
              };
        instance.route({ ...options, handler } as RouteOptions);
      }
    },
    prefix === undefined ? {} : { prefix },
  );
}
