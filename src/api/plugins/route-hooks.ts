import type { FastifyInstance, RouteOptions } from 'fastify';

type HookName = 'onRequest' | 'preValidation' | 'preHandler' | 'onSend' | 'onResponse';

/**
 * Adds `hook` to the routes `applies` accepts, as they are registered, instead of to every request:
 * a hook that only concerns some routes (idempotency on POST, audit on mutations, conditional reads
 * on GET) then costs nothing elsewhere. It runs before the route's own hooks of that kind, as an
 * app-level hook would. Must be called before the routes are registered.
 */
export function addRouteHook(app: FastifyInstance, name: HookName, applies: (route: RouteOptions) => boolean, hook: unknown): void {
  app.addHook('onRoute', (route) => {
    if (!applies(route)) return;
    const own = (route as unknown as Record<HookName, unknown>)[name];
    const hooks = own === undefined ? [hook] : [hook, ...(Array.isArray(own) ? own : [own])];
    (route as unknown as Record<HookName, unknown>)[name] = hooks;
  });
}

/** Whether a route answers any of `methods`. */
export function routeAnswers(route: RouteOptions, methods: ReadonlySet<string>): boolean {
  return (Array.isArray(route.method) ? route.method : [route.method]).some((m) => methods.has(String(m).toUpperCase()));
}
