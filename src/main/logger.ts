import { pino, type LoggerOptions, type Logger } from 'pino';
import { REDACT_PATHS } from '../api/app.js';
import { redactConsolePath } from '../api/console/ticket-path.js';
import type { Config } from './config.js';
import { activeTelemetry, traceLogFields } from './telemetry.js';

/** Structured JSON logs; credentials redacted wherever they appear in a logged object. */
export function loggerOptions(config: Pick<Config, 'logLevel'>): LoggerOptions {
  return {
    level: config.logLevel,
    base: { service: 'labplane' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    // Fastify's request serializer, with the console ticket (a credential in the path) taken out.
    serializers: { req: requestLogFields },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Only while tracing is on: the mixin runs for every line.
    ...(activeTelemetry() === undefined ? {} : { mixin: traceLogFields }),
  };
}

/** What a request's log lines say of it (fastify's default fields), its URL without a console ticket. */
export function requestLogFields(req: {
  method?: string;
  url?: string;
  headers?: Record<string, unknown>;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number } | null;
}): Record<string, unknown> {
  return {
    method: req.method,
    url: redactConsolePath(req.url ?? ''),
    version: req.headers?.['accept-version'],
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}

export function createLogger(config: Pick<Config, 'logLevel'>): Logger {
  return pino(loggerOptions(config));
}
