/** The fixed bearer tokens the ARM stand-in's clients send in the tracing tests. */
export const CONTROL_PLANE_TOKEN = 'otel-control-plane-token-2f9c';
export const ONBOARDING_TOKEN = 'otel-onboarding-token-7d1e';

/** What the tests read of a span, whether from the SDK or decoded from OTLP. */
export interface SpanLike {
  readonly name: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly attributes: Readonly<Record<string, unknown>>;
}

interface SdkSpan {
  readonly name: string;
  readonly attributes: Readonly<Record<string, unknown>>;
  spanContext(): { spanId: string };
  readonly parentSpanContext?: { spanId: string } | undefined;
}

const like = (s: SdkSpan | SpanLike): SpanLike =>
  'spanId' in s ? s : { name: s.name, spanId: s.spanContext().spanId, parentSpanId: s.parentSpanContext?.spanId, attributes: s.attributes };

/** The spans of one trace without a parent (roots) and those whose parent is not in the trace (orphans). */
export function spanTree<S extends SdkSpan | SpanLike>(spans: readonly S[]): { roots: S[]; orphans: S[] } {
  const ids = new Set(spans.map((s) => like(s).spanId));
  const roots: S[] = [];
  const orphans: S[] = [];
  for (const s of spans) {
    const parent = like(s).parentSpanId;
    if (parent === undefined || parent === '') roots.push(s);
    else if (!ids.has(parent)) orphans.push(s);
  }
  return { roots, orphans };
}

/**
 * Attributes (of any span) that hold one of `secrets` (or its bearer value without the `Bearer `
 * prefix), an authorization header, or a cookie: `span name: attribute`.
 */
export function secretsIn(spans: readonly (SdkSpan | SpanLike)[], secrets: readonly string[]): string[] {
  const needles = secrets.flatMap((s) => [s, s.replace(/^Bearer /, '')]).filter((s) => s.length >= 8);
  const found: string[] = [];
  for (const s of spans.map(like)) {
    for (const [key, value] of Object.entries(s.attributes)) {
      const text = JSON.stringify(value);
      if (/authorization|cookie/i.test(key) || needles.some((n) => text.includes(n)) || /\bBearer\s/i.test(text)) found.push(`${s.name}: ${key}`);
    }
    if (needles.some((n) => s.name.includes(n))) found.push(`${s.name}: (name)`);
  }
  return found;
}
