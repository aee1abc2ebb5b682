import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Histogram, type Registry } from 'prom-client';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Set when the route is registered: its duration histogram's children by `method status`. */
    requestDurations?: Map<string, Histogram.Internal<'method' | 'route' | 'status_code'>>;
  }
}

/**
 * Prometheus metrics (served by the contract's `getMetrics`): process metrics and a request duration histogram labelled by
 * route pattern (never the raw URL, so ids do not explode cardinality), method and status. The
 * labelled series of a route are kept on the route (one per method and status it answered), so
 * a request observes its series without the registry hashing its labels again.
 */
export function installMetrics(app: FastifyInstance, registry: Registry): void {
  collectDefaultMetrics({ register: registry, prefix: 'labplane_' });
  const duration = new Histogram({
    name: 'labplane_http_request_duration_seconds',
    help: 'Duration of HTTP requests by route and status.',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const unmatched = new Map<string, Histogram.Internal<'method' | 'route' | 'status_code'>>();
  app.addHook('onRoute', (route) => {
    route.config = { ...(route.config ?? {}), requestDurations: new Map() };
  });
  app.addHook('onResponse', (request, reply, done) => {
    const own = request.is404 ? undefined : request.routeOptions.config.requestDurations;
    const series = own ?? unmatched;
    const key = `${request.method} ${reply.statusCode}`;
    let child = series.get(key);
    if (child === undefined) {
      const route = own === undefined ? 'unmatched' : (request.routeOptions.url ?? 'unmatched');
      child = duration.labels({ method: request.method, route, status_code: String(reply.statusCode) });
      series.set(key, child);
    }
    child.observe(reply.elapsedTime / 1000);
    done();
  });
}
