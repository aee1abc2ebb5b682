import {
  context,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Link,
  type Span,
} from '@opentelemetry/api';
import type { JobMessage, JobTrace, StepOutcomeLabel } from '../domain/operations/job-queue.js';
import type { OperationRecord, TraceRef } from '../domain/operations/operation.js';

/**
 * A job that waits at least this long before it runs starts a trace of its own, linked to the one
 * that enqueued it: a re-check days later is not a child span hanging hours after its trace ended
 * (which backends show as one endless trace, or drop), and not an orphan either.
 */
export const LINK_AFTER_DELAY_MS = 3_600_000;

const tracer = () => trace.getTracer('labplane');

interface Carrier {
  traceparent?: string;
  tracestate?: string;
}

/** The trace the caller runs in, or undefined when nothing is traced (tracing off: no span is ever active). */
export function currentTraceRef(): TraceRef | undefined {
  const span = trace.getActiveSpan();
  if (span === undefined) return undefined;
  const sc = span.spanContext();
  if (!isSpanContextValid(sc)) return undefined;
  const carrier: Carrier = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent === undefined ? undefined : { traceId: sc.traceId, traceparent: carrier.traceparent };
}

/**
 * The trace context job data carries: the caller's (a request, the step that enqueues the next one),
 * or, when nothing is traced here (recovery, a background loop), the operation's own as a link.
 */
export function jobTraceOf(delayMs: number, op?: Pick<OperationRecord, 'traceparent'>): { trace?: JobTrace } {
  const span = trace.getActiveSpan();
  if (span !== undefined && isSpanContextValid(span.spanContext())) {
    const carrier: Carrier = {};
    propagation.inject(context.active(), carrier);
    if (carrier.traceparent !== undefined) {
      return {
        trace: {
          traceparent: carrier.traceparent,
          ...(carrier.tracestate === undefined ? {} : { tracestate: carrier.tracestate }),
          ...(delayMs >= LINK_AFTER_DELAY_MS ? { link: true } : {}),
        },
      };
    }
  }
  return op?.traceparent === undefined ? {} : { trace: { traceparent: op.traceparent, link: true } };
}

/**
 * Runs one job step in a span `job <kind>/<step>`: a child of the trace in the job data (or a new
 * trace linked to it), so a worker in another process continues the request's trace. Attributes
 * are ids only (operation, kind, step, generation), never inputs.
 */
export async function inStepSpan<T>(job: JobMessage, fn: () => Promise<T>): Promise<T> {
  let parent: Context = ROOT_CONTEXT;
  const links: Link[] = [];
  if (job.trace !== undefined) {
    const carrier: Carrier = {
      traceparent: job.trace.traceparent,
      ...(job.trace.tracestate === undefined ? {} : { tracestate: job.trace.tracestate }),
    };
    const extracted = propagation.extract(ROOT_CONTEXT, carrier);
    if (job.trace.link === true) {
      const sc = trace.getSpanContext(extracted);
      if (sc !== undefined && isSpanContextValid(sc)) links.push({ context: sc, attributes: { 'labplane.link': 'operation' } });
    } else {
      parent = extracted;
    }
  }
  return tracer().startActiveSpan(
    `job ${job.kind}/${job.step}`,
    {
      kind: SpanKind.CONSUMER,
      links,
      attributes: {
        'labplane.operation.id': job.operationId,
        'labplane.job.kind': job.kind,
        'labplane.job.step': job.step,
        'labplane.job.generation': job.generation,
      },
    },
    parent,
    async (span: Span) => {
      try {
        return await fn();
      } catch (err) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.name : 'error' });
        throw err;
      } finally {
        span.end();
      }
    },
  );
}

/** Records how the step ended on the active step span (a failed step's span is an error). */
export function recordStepOutcome(outcome: StepOutcomeLabel, code?: string): void {
  const span = trace.getActiveSpan();
  if (span === undefined) return;
  span.setAttribute('labplane.step.outcome', outcome);
  if (outcome === 'failed') span.setStatus({ code: SpanStatusCode.ERROR, ...(code === undefined ? {} : { message: code }) });
}
