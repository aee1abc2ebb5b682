import type { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { buildApp, type PipelinePiece } from '../api/app.js';
import type { Deps } from './deps.js';
import { loggerOptions } from './logger.js';
import { activeTelemetry } from './telemetry.js';

/**
 * The HTTP app over already-built deps (used by the server and by tests). `benchWithout` is for
 * bench/pipeline-cost.ts alone: the server never passes it, and no setting reaches it. `logStream`
 * is where the app's log lines go (default: standard output, as the server's), for tests that read them.
 */
export function buildAppFromDeps(
  deps: Deps,
  options: { benchWithout?: ReadonlySet<PipelinePiece>; logStream?: Writable } = {},
): Promise<FastifyInstance> {
  const { config } = deps;
  const tracing = activeTelemetry()?.fastifyPlugin;
  return buildApp({
    logger: options.logStream === undefined ? loggerOptions(config) : { ...loggerOptions(config), stream: options.logStream },
    devMode: config.devMode,
    corsOrigins: config.corsOrigins,
    bodyLimitBytes: config.bodyLimitBytes,
    modules: deps.modules,
    routes: deps.routes,
    idempotency: deps.jobs.idempotency,
    auditLog: deps.jobs.auditLog,
    dashboardQueues: deps.jobs.dashboardQueues,
    dashboardWrite: config.queueDashboardWrite,
    principals: deps.principals,
    devTokens: deps.devTokens,
    readiness: deps.readiness,
    metrics: deps.metrics,
    maxEventLoopDelayMs: config.maxEventLoopDelayMs,
    rateLimitPerMinute: config.rateLimitPerMinute,
    rateLimitRedis: deps.jobs.redis,
    ...(tracing === undefined ? {} : { tracing }),
    ...(options.benchWithout === undefined ? {} : { benchWithout: options.benchWithout }),
  });
}
