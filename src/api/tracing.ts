import { isSpanContextValid, trace } from '@opentelemetry/api';

/** The trace id of the request being answered, or undefined while tracing is off (no span is ever active then). */
export function currentTraceId(): string | undefined {
  const sc = trace.getActiveSpan()?.spanContext();
  return sc !== undefined && isSpanContextValid(sc) ? sc.traceId : undefined;
}
