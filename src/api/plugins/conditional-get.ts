import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { addRouteHook, routeAnswers } from './route-hooks.js';

const READS: ReadonlySet<string> = new Set(['GET', 'HEAD']);

/** The opaque part of an entity tag (`"v"` or `W/"v"`), for the weak comparison RFC 9110 §13.1.2 asks of If-None-Match. */
function opaqueTag(tag: string): string {
  const t = tag.trim();
  return t.startsWith('W/') ? t.slice(2) : t;
}

/** Whether an `If-None-Match` (`*` or a list of entity tags) names the current ETag. */
export function noneMatchHits(header: string, etag: string): boolean {
  if (header.trim() === '*') return true;
  const current = opaqueTag(etag);
  return header.split(',').some((tag) => opaqueTag(tag) === current);
}

/**
 * Conditional reads for every resource whose GET answers with an `ETag` (tenants, labs, VMs, LTI
 * registrations): an `If-None-Match` naming the current one answers 304 with no body. One hook, so
 * a route only has to set its `ETag` (the hook is on GET routes only).
 */
export function installConditionalGet(app: FastifyInstance): void {
  addRouteHook(
    app,
    'onSend',
    (route) => routeAnswers(route, READS),
    // A callback, not an async hook: every GET passes here, most of them without If-None-Match.
    (request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: Error | null, payload?: unknown) => void) => {
      if ((request.method !== 'GET' && request.method !== 'HEAD') || reply.statusCode !== 200) return done(null, payload);
      const header = request.headers['if-none-match'];
      const etag = reply.getHeader('etag');
      if (typeof header !== 'string' || typeof etag !== 'string' || !noneMatchHits(header, etag)) return done(null, payload);
      reply.code(304).removeHeader('content-type').removeHeader('content-length');
      done(null, '');
    },
  );
}
