import type { FastifyBaseLogger } from 'fastify';
import { symbols } from 'pino';

/**
 * Fastify's per-request child logger, without running the log redaction over the request id.
 *
 * Fastify calls `logger.child({ reqId }, {})` for every request. Because the app's logger redacts
 * wildcard paths (`*.token`, ...), pino passes every binding value through the redactor, which
 * clones and walks it for each path: about 2.5 µs per request (bench/pipeline-cost.ts, profile of
 * `/healthz`), for a value that is a string (a UUID, or a client's id matching `[A-Za-z0-9._-]`)
 * no path can reach into. So a child with no bindings is made (pino's cheap case) and the string
 * bindings are appended to its serialized bindings (`pino.symbols.chindingsSym`, the string pino
 * itself writes into every line), JSON-encoded as pino encodes them. The log lines are identical.
 * Anything else (options such as a route's log level or serializers, a binding that is not a
 * string, or one with its own redaction or serializer) goes through pino's `child` unchanged.
 */
export function requestChildLogger(logger: FastifyBaseLogger, bindings: Record<string, unknown>, options: object): FastifyBaseLogger {
  if (!isEmpty(options) || !plainStringBindings(logger, bindings)) return logger.child(bindings, options);
  const child = logger.child({}) as unknown as Record<symbol, string>;
  let added = '';
  for (const key in bindings) added += `,${JSON.stringify(key)}:${JSON.stringify(bindings[key])}`;
  child[symbols.chindingsSym] += added;
  return child as unknown as FastifyBaseLogger;
}

function isEmpty(options: object): boolean {
  for (const _ in options) return false;
  return true;
}

/** Whether every binding is a string pino would write as JSON.stringify does (no serializer, no redaction of its own). */
function plainStringBindings(logger: FastifyBaseLogger, bindings: Record<string, unknown>): boolean {
  const pinoLogger = logger as unknown as Record<symbol, Record<string, unknown> | undefined>;
  if (typeof pinoLogger[symbols.chindingsSym] !== 'string') return false;
  const serializers = pinoLogger[symbols.serializersSym];
  const stringifiers = pinoLogger[symbols.stringifiersSym];
  for (const key in bindings) {
    if (!Object.hasOwn(bindings, key) || typeof bindings[key] !== 'string') return false;
    if (RESERVED.has(key) || serializers?.[key] !== undefined || stringifiers?.[key] !== undefined) return false;
  }
  return true;
}

/** Keys pino treats specially in bindings. */
const RESERVED = new Set(['level', 'serializers', 'formatters', 'customLevels']);
