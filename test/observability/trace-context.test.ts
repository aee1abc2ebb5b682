import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { afterAll, describe, expect, it } from 'vitest';
import { currentTraceRef, inStepSpan, jobTraceOf, LINK_AFTER_DELAY_MS } from '../../src/jobs/tracing.js';
import { activeTelemetry, startTelemetry, type Telemetry } from '../../src/main/telemetry.js';

/**
 * How the trace context travels in job data: a step continues the trace of whoever enqueued it; a
 * job delayed an hour or more, or one re-enqueued where nothing is traced (recovery), starts a trace
 * of its own linked to the operation's; nothing at all while tracing is off.
 */
const exporter = new InMemorySpanExporter();
let telemetry: Telemetry | undefined;
afterAll(async () => {
  await telemetry?.shutdown();
});

const job = { kind: 'vm.create', operationId: '00000000-0000-4000-8000-000000000001', step: 'wait', generation: 3 };

describe('trace context in job data', () => {
  it('while tracing is off: nothing is started, job data carries no trace, operations no trace id', async () => {
    expect(await startTelemetry({})).toBeUndefined();
    expect(activeTelemetry()).toBeUndefined();
    expect(jobTraceOf(0)).toEqual({});
    expect(currentTraceRef()).toBeUndefined();
    expect(await inStepSpan(job, async () => trace.getActiveSpan()?.isRecording() ?? false)).toBe(false);
  });

  it('a step continues the enqueuer trace; a long delay or recovery starts a new trace linked to it', async () => {
    telemetry = await startTelemetry({}, { spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    const tracer = trace.getTracer('test');
    const { soon, late, ref } = tracer.startActiveSpan('request', (span) => {
      const r = { soon: jobTraceOf(5_000), late: jobTraceOf(LINK_AFTER_DELAY_MS), ref: currentTraceRef() };
      span.end();
      return r;
    });
    const traceId = ref?.traceId ?? '';
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(soon.trace?.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    expect(soon.trace?.link).toBeUndefined();
    expect(late.trace?.link).toBe(true);
    // Recovery: no span here, the operation's own traceparent as a link.
    expect(jobTraceOf(0, { traceparent: ref?.traceparent ?? '' })).toEqual({ trace: { traceparent: ref?.traceparent, link: true } });

    const child = await inStepSpan({ ...job, ...soon }, async () => trace.getActiveSpan()?.spanContext());
    const linked = await inStepSpan({ ...job, ...late }, async () => trace.getActiveSpan()?.spanContext());
    expect(child?.traceId).toBe(traceId);
    expect(linked?.traceId).not.toBe(traceId);
    const spans = exporter.getFinishedSpans();
    const linkedSpan = spans.find((s) => s.spanContext().spanId === linked?.spanId);
    expect(linkedSpan?.parentSpanContext).toBeUndefined();
    expect(linkedSpan?.links.map((l) => l.context.traceId)).toEqual([traceId]);
    expect(linkedSpan?.name).toBe('job vm.create/wait');
    expect(linkedSpan?.attributes).toEqual({
      'labplane.operation.id': job.operationId,
      'labplane.job.kind': 'vm.create',
      'labplane.job.step': 'wait',
      'labplane.job.generation': 3,
    });
  });
});
