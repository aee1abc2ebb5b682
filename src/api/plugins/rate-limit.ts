import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import { makeProblem } from '../problem.js';
import { localTokenBucketStore, redisTokenBucketStore, type ScriptingRedis } from './rate-limit-store.js';

/** Probes and scraping: never rate limited. */
const EXEMPT_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * Per-principal rate limit (per IP for callers not yet authenticated): a token bucket refilled at
 * `perMinute` a minute holding a burst of a tenth of the limit (`burstOf` in rate-limit-store.ts), so any minute holds at most
 * `perMinute + burst` (660 for the default 600). Counted in Redis when one is configured, so the
 * limit holds across API instances. Over it: 429 problem+json with `Retry-After`. Health,
 * readiness and metrics are exempt (probes and scrapers must not be shed).
 */
export async function installRateLimit(app: FastifyInstance, opts: { perMinute: number; redis: unknown }): Promise<void> {
  // The exempt routes get no rate-limit hook at all (the plugin adds its hook per route, and leaves
  // out routes with `config.rateLimit: false`), instead of an allow list every request would run.
  // Registered before the plugin, so its onRoute hook sees the flag.
  app.addHook('onRoute', (route) => {
    if (EXEMPT_ROUTES.has(route.url)) route.config = { ...(route.config ?? {}), rateLimit: false };
  });
  await app.register(rateLimit, {
    global: true,
    hook: 'preHandler',
    max: opts.perMinute,
    timeWindow: 60_000,
    store: opts.redis === undefined ? localTokenBucketStore() : redisTokenBucketStore(opts.redis as ScriptingRedis, 'labplane:ratelimit:'),
    ...(opts.redis === undefined ? {} : { skipOnError: true }),
    keyGenerator: (request) => (request.principal === undefined ? `ip:${request.ip}` : `p:${request.principal.id}`),
    addHeadersOnExceeding: { 'x-ratelimit-limit': true, 'x-ratelimit-remaining': true, 'x-ratelimit-reset': true },
    addHeaders: { 'x-ratelimit-limit': true, 'x-ratelimit-remaining': true, 'x-ratelimit-reset': true, 'retry-after': true },
    errorResponseBuilder: (_request, context) =>
      Object.assign(new Error(`Rate limit of ${context.max} requests per minute exceeded; retry in ${Math.ceil(context.ttl / 1000)} s.`), {
        statusCode: 429,
        problem: makeProblem(
          'RATE_LIMITED',
          `Rate limit of ${context.max} requests per minute exceeded; retry in ${Math.ceil(context.ttl / 1000)} s.`,
        ),
      }),
  });
}
