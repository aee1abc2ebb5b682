import { pino, type LoggerOptions, type Logger } from 'pino';
import { REDACT_PATHS } from '../api/app.js';
import type { Config } from './config.js';
import { activeTelemetry, traceLogFields } from './telemetry.js';

/** Structured JSON logs; credentials redacted wherever they appear in a logged object. */
export function loggerOptions(config: Pick<Config, 'logLevel'>): LoggerOptions {
  return {
    level: config.logLevel,
    base: { service: 'labplane' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Only while tracing is on: the mixin runs for every line.
    ...(activeTelemetry() === undefined ? {} : { mixin: traceLogFields }),
  };
}

export function createLogger(config: Pick<Config, 'logLevel'>): Logger {
  return pino(loggerOptions(config));
}
