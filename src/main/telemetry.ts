import { createRequire } from 'node:module';
import { isSpanContextValid, trace, type TracerProvider } from '@opentelemetry/api';
import type { QueueOptions } from 'bullmq';
import type { FastifyPluginCallback } from 'fastify';
import type { SpanProcessor } from '@opentelemetry/sdk-trace';
import { redactConsolePath } from '../api/console/ticket-path.js';

/**
 * OpenTelemetry tracing, configured by the standard variables (OTEL_EXPORTER_OTLP_ENDPOINT,
 * OTEL_TRACES_EXPORTER, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER[_ARG],
 * OTEL_SDK_DISABLED). Off unless asked for: then nothing of the SDK is loaded and the code paths
 * that trace run against the API's no-op tracer.
 *
 * What is traced when on: HTTP requests (REST and GraphQL, by @fastify/otel, named by route or
 * GraphQL operation), every job step (src/jobs/tracing.ts; the context travels in job data),
 * Kubernetes requests (client-node uses undici's fetch: @opentelemetry/instrumentation-undici),
 * ARM calls (the Azure SDK's own instrumentation), BullMQ (its telemetry interface, bullmq-otel).
 */
export interface Telemetry {
  /** Registers the request spans; must be registered before any route. */
  readonly fastifyPlugin: FastifyPluginCallback;
  /** BullMQ's telemetry (bullmq-otel), for its Queue and Worker options. */
  readonly bullmq: QueueOptions['telemetry'];
  readonly provider: TracerProvider;
  /** Exports what is buffered. */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

type Env = Readonly<Record<string, string | undefined>>;

let current: Telemetry | undefined;

/** The telemetry this process started, or undefined (tracing off). */
export function activeTelemetry(): Telemetry | undefined {
  return current;
}

/** True when the standard variables ask for traces: an OTLP endpoint or a traces exporter other than `none`. */
export function tracingRequested(env: Env): boolean {
  if (env['OTEL_SDK_DISABLED']?.trim().toLowerCase() === 'true') return false;
  const exporter = env['OTEL_TRACES_EXPORTER']?.trim().toLowerCase();
  if (exporter !== undefined && exporter !== '') return exporter !== 'none';
  return nonEmpty(env['OTEL_EXPORTER_OTLP_ENDPOINT']) || nonEmpty(env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']);
}

const nonEmpty = (v: string | undefined): boolean => v !== undefined && v.trim() !== '';

/** The sampler OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG name (default parentbased_always_on). */
export async function samplerFromEnv(env: Env) {
  const sdk = await import('@opentelemetry/sdk-trace');
  const name = (env['OTEL_TRACES_SAMPLER'] ?? 'parentbased_always_on').trim().toLowerCase();
  const arg = Number(env['OTEL_TRACES_SAMPLER_ARG'] ?? '1');
  const ratio = Number.isFinite(arg) && arg >= 0 && arg <= 1 ? arg : 1;
  switch (name) {
    case 'always_on':
      return new sdk.AlwaysOnSampler();
    case 'always_off':
      return new sdk.AlwaysOffSampler();
    case 'traceidratio':
      return new sdk.TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_off':
      return new sdk.ParentBasedSampler({ root: new sdk.AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new sdk.ParentBasedSampler({ root: new sdk.TraceIdRatioBasedSampler(ratio) });
    case 'parentbased_always_on':
      return new sdk.ParentBasedSampler({ root: new sdk.AlwaysOnSampler() });
    default:
      throw new TypeError(`OTEL_TRACES_SAMPLER: expected always_on, always_off, traceidratio or parentbased_* (got ${JSON.stringify(name)})`);
  }
}

/**
 * Where OTLP/HTTP traces go: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as it is, or
 * OTEL_EXPORTER_OTLP_ENDPOINT + `/v1/traces`; headers (`k=v,k2=v2`, values URL-encoded) from
 * OTEL_EXPORTER_OTLP_TRACES_HEADERS or OTEL_EXPORTER_OTLP_HEADERS. Empty: the exporter's defaults.
 */
export function otlpOptions(env: Env): { url?: string; headers?: Record<string, string> } {
  const traces = env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']?.trim();
  const base = env['OTEL_EXPORTER_OTLP_ENDPOINT']?.trim();
  const url =
    traces !== undefined && traces !== '' ? traces : base !== undefined && base !== '' ? `${base.replace(/\/+$/, '')}/v1/traces` : undefined;
  const raw = env['OTEL_EXPORTER_OTLP_TRACES_HEADERS'] ?? env['OTEL_EXPORTER_OTLP_HEADERS'] ?? '';
  const headers: Record<string, string> = {};
  for (const pair of raw.split(',')) {
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    headers[decodeURIComponent(pair.slice(0, at).trim())] = decodeURIComponent(pair.slice(at + 1).trim());
  }
  return { ...(url === undefined ? {} : { url }), ...(Object.keys(headers).length === 0 ? {} : { headers }) };
}

export interface StartTelemetryOptions {
  /** Default `labplane`; OTEL_SERVICE_NAME wins. */
  readonly serviceName?: string;
  /** Instead of the OTLP exporter (tests: an in-memory exporter). */
  readonly spanProcessors?: readonly SpanProcessor[];
}

/**
 * Starts tracing when `env` asks for it (see {@link tracingRequested}) or `options.spanProcessors`
 * are given; resolves to undefined otherwise, having loaded nothing. Call before building the
 * service. Idempotent: a second call returns the first telemetry.
 */
export async function startTelemetry(env: Env, options: StartTelemetryOptions = {}): Promise<Telemetry | undefined> {
  if (current !== undefined) return current;
  if (options.spanProcessors === undefined && !tracingRequested(env)) return undefined;
  const [sdk, resources, core, asyncHooks, semconv, api, instrumentation, undici, azure, azureTracing, fastifyOtel, bullmqOtel] = await Promise.all([
    import('@opentelemetry/sdk-trace'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/core'),
    import('@opentelemetry/context-async-hooks'),
    import('@opentelemetry/semantic-conventions'),
    import('@opentelemetry/api'),
    import('@opentelemetry/instrumentation'),
    import('@opentelemetry/instrumentation-undici'),
    import('@azure/opentelemetry-instrumentation-azure-sdk'),
    import('@azure/core-tracing'),
    import('@fastify/otel'),
    import('bullmq-otel'),
  ]);
  const serviceName = nonEmpty(env['OTEL_SERVICE_NAME']) ? (env['OTEL_SERVICE_NAME'] as string) : (options.serviceName ?? 'labplane');
  const resource = resources
    .resourceFromAttributes({ [semconv.ATTR_SERVICE_NAME]: serviceName })
    .merge(resources.detectResources({ detectors: [resources.envDetector] }))
    .merge(resources.resourceFromAttributes({ [semconv.ATTR_SERVICE_NAME]: serviceName }));
  let processors: SpanProcessor[];
  if (options.spanProcessors !== undefined) {
    processors = [...options.spanProcessors];
  } else {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');
    // Endpoint and headers from `env`; the exporter reads the rest (timeout, compression) itself.
    const delay = Number(env['OTEL_BSP_SCHEDULE_DELAY'] ?? '');
    processors = [
      new sdk.BatchSpanProcessor({
        exporter: new OTLPTraceExporter(otlpOptions(env)),
        ...(Number.isFinite(delay) && delay > 0 ? { scheduledDelayMillis: delay } : {}),
      }),
    ];
  }
  const provider = new sdk.TracerProvider({ resource, sampler: await samplerFromEnv(env), spanProcessors: processors });
  api.context.setGlobalContextManager(new asyncHooks.AsyncLocalStorageContextManager().enable());
  api.propagation.setGlobalPropagator(
    new core.CompositePropagator({ propagators: [new core.W3CTraceContextPropagator(), new core.W3CBaggagePropagator()] }),
  );
  api.trace.setGlobalTracerProvider(provider);

  // Kubernetes: client-node's fetch is undici's, which reports requests on diagnostics channels.
  // Only requests made inside a traced piece of work (a request, a job step) get a span: informer
  // watches and Lease renewals would otherwise be a root span each.
  const instrumentations = [new undici.UndiciInstrumentation({ requireParentforSpans: true })];
  const unregister = instrumentation.registerInstrumentations({ tracerProvider: provider, instrumentations });
  // ARM: the Azure SDK's instrumentation sets @azure/core-tracing's instrumenter when that module
  // loads; in ESM nothing intercepts loading, so its own patch is applied to the module here.
  const azureInstrumentation = new azure.AzureSdkInstrumentation();
  azureInstrumentation.setTracerProvider(provider);
  for (const def of azureInstrumentation.getModuleDefinitions()) def.patch?.(azureTracing, undefined);
  // Redis: the same for ioredis (the stores' client and BullMQ's): its instrumentation's own patch of
  // the client's prototype, applied to the module this process loaded. Commands get a span only
  // inside traced work, named by the command alone: arguments carry operation records and job data.
  const [ioredisInstrumentation, ioredis] = await Promise.all([import('@opentelemetry/instrumentation-ioredis'), import('ioredis')]);
  const redisInstrumentation = new ioredisInstrumentation.IORedisInstrumentation({
    requireParentSpan: true,
    dbStatementSerializer: (command) => command,
  });
  redisInstrumentation.setTracerProvider(provider);
  const ioredisVersion = (createRequire(import.meta.url)('ioredis/package.json') as { version: string }).version;
  for (const def of redisInstrumentation.getModuleDefinitions()) def.patch?.(ioredis, ioredisVersion);

  const fastify = new fastifyOtel.FastifyOtelInstrumentation({
    registerOnInitialization: false,
    // One span per request, not one per hook too: the pipeline runs a dozen hooks (auth, rate limit,
    // idempotency, audit, metrics...) and a span each cost most of the read throughput (bench:tracing).
    instrumentHooks: false,
    // Named by route (GraphQL requests are renamed by their operation, see src/api/graphql/plugin.ts);
    // the path without its query string, which may carry an LTI or OAuth parameter.
    requestHook: (span, request) => {
      // An unsampled request's span keeps nothing: do not compute what it would drop.
      if (!span.isRecording()) return;
      const route = request.routeOptions.url;
      span.updateName(`${request.method} ${route ?? 'unmatched'}`);
      span.setAttribute(semconv.ATTR_URL_PATH, redactConsolePath(request.url.split('?')[0] ?? '/'));
      span.setAttribute('labplane.request.id', String(request.id));
    },
  });
  fastify.setTracerProvider(provider);

  const telemetry: Telemetry = {
    fastifyPlugin: fastify.plugin(),
    bullmq: new bullmqOtel.BullMQOtel({ tracerName: 'labplane-bullmq' }),
    provider,
    flush: () => provider.forceFlush(),
    async shutdown() {
      unregister();
      for (const def of redisInstrumentation.getModuleDefinitions()) def.unpatch?.(ioredis, ioredisVersion);
      await provider.shutdown();
      current = undefined;
      api.trace.disable();
      api.propagation.disable();
      api.context.disable();
    },
  };
  current = telemetry;
  return telemetry;
}

/** The tracer of labplane's own spans (job steps); the API's no-op tracer while tracing is off. */
export function labplaneTracer() {
  return trace.getTracer('labplane');
}

/**
 * What every log line adds while tracing is on: the ids of the active span, under the names of
 * OpenTelemetry's log data model (`trace_id`, `span_id`, `trace_flags`), as the pino
 * instrumentation writes them. Nothing while tracing is off (no span is ever active then).
 */
export function traceLogFields(): Record<string, string> {
  const sc = trace.getActiveSpan()?.spanContext();
  if (sc === undefined || !isSpanContextValid(sc)) return {};
  return { trace_id: sc.traceId, span_id: sc.spanId, trace_flags: `0${sc.traceFlags.toString(16)}` };
}
