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
 * The headers of an API answer (JSON, problem+json, CSV, Prometheus text): what the OWASP REST
 * security guidance lists for an API, not helmet's whole set, which is for documents a browser
 * renders. Nothing an API answer needs is left out: it is never framed (`frame-ancestors 'none'`,
 * `X-Frame-Options` for browsers without CSP level 2), never sniffed into a script or a page
 * (`nosniff`), loads nothing if opened as a page (`default-src 'none'`), is not readable by
 * another site's no-cors request (CORP), and is reached over HTTPS only (HSTS). What is left out
 * only governs a rendered document: COOP, Origin-Agent-Cluster, Referrer-Policy, DNS prefetching,
 * IE's download and XSS-auditor switches, Adobe cross-domain policies. Sending them cost every
 * answer half a kilobyte and about a dozen header writes (the pipeline benchmark).
 */
export const API_SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'cross-origin-resource-policy': 'same-origin',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
});

/**
 * Paths whose every answer is data for a program, never a page: the versioned API, GraphQL's
 * endpoint (GraphiQL's page is /graphiql), the probes, the metrics, the contract, the dev token.
 * Every other route (the docs UI, GraphiQL, the console, the queue dashboard, the LTI pages, the
 * admin sign-in) gets helmet's whole set. An unmatched path is answered with a problem (JSON).
 */
export function isApiPath(url: string): boolean {
  return url.startsWith('/v1/') || API_EXACT_PATHS.has(url);
}
const API_EXACT_PATHS = new Set(['/graphql', '/healthz', '/readyz', '/metrics', '/openapi.json', '/dev/token']);

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
 * Security headers on every answer (404s and errors included), chosen when a route is registered
 * and computed once per distinct route configuration instead of once per request: the API set on
 * the API's paths (`isApiPath`) and on answers to unmatched paths, helmet's whole set for `options`
 * on every other route. A route may declare `config.securityHeaders` (helmet options merged over
 * the app's, as @fastify/helmet's route option did). Handlers may still replace or remove a header
 * (the LTI pages allow framing). Returns what sets them on a reply, for the caller's `onRequest`
 * hook to run first thing on every request (`src/api/app.ts`, which sets the request id in the same hook).
 */
export function installSecurityHeaders(app: FastifyInstance, options: HelmetOptions): (request: FastifyRequest, reply: FastifyReply) => void {
  const page = helmetHeaders(options);
  app.addHook('onRoute', (route) => {
    const own = route.config?.securityHeaders;
    const set = own !== undefined ? helmetHeaders({ ...options, ...own } as HelmetOptions) : isApiPath(route.url) ? API_SECURITY_HEADERS : page;
    route.config = { ...route.config, securityHeaderSet: set };
  });
  return (request, reply) => {
    reply.headers(request.routeOptions.config.securityHeaderSet ?? API_SECURITY_HEADERS);
  };
}
