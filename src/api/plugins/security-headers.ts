import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import helmet, { type HelmetOptions } from 'helmet';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** This route's security headers: helmet's options over the app's (a page with its own CSP). */
    securityHeaders?: HelmetOptions;
    /** Set by installSecurityHeaders when the route is registered: the headers every answer gets. */
    securityHeaderSet?: Readonly<Record<string, string>>;
  }
}

/**
 * Helmet's defaults, with scripts and images only from this origin: the docs UI loads every script
 * as a file from this origin, so no inline script anywhere (GraphiQL's page sets its own, narrower
 * policy: src/api/plugins/graphiql-page.ts).
 */
export const APP_SECURITY_HEADERS: HelmetOptions = {
  contentSecurityPolicy: { directives: { 'script-src': ["'self'"], 'img-src': ["'self'", 'data:'] } },
};

/**
 * The headers helmet sets for `options`, computed once. Helmet's middleware only ever sets fixed
 * values (no directive here depends on the request), so running it against a recording response
 * gives exactly what it would set on every answer; @fastify/helmet instead builds the middleware
 * anew for every request, which the pipeline benchmark found to be the largest single cost.
 */
export function helmetHeaders(options: HelmetOptions): Readonly<Record<string, string>> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  let failure: unknown;
  helmet(options)({} as never, recorder as never, (err?: unknown) => {
    failure = err;
  });
  if (failure !== undefined) throw failure instanceof Error ? failure : new Error(String(failure));
  return Object.freeze(headers);
}

/**
 * Helmet's headers on every answer (404s and errors included), computed once per distinct route
 * configuration instead of once per request. A route may declare `config.securityHeaders` (helmet
 * options merged over the app's, as @fastify/helmet's route option did). Handlers may still
 * replace or remove a header (the LTI pages allow framing). Returns what sets them on a reply, for
 * the caller's `onRequest` hook to run first thing on every request (`src/api/app.ts`, which sets
 * the request id in the same hook).
 */
export function installSecurityHeaders(app: FastifyInstance, options: HelmetOptions): (request: FastifyRequest, reply: FastifyReply) => void {
  const global = helmetHeaders(options);
  app.addHook('onRoute', (route) => {
    const own = route.config?.securityHeaders;
    if (own === undefined) return;
    route.config = { ...route.config, securityHeaderSet: helmetHeaders({ ...options, ...own } as HelmetOptions) };
  });
  return (request, reply) => {
    reply.headers(request.routeOptions.config.securityHeaderSet ?? global);
  };
}
