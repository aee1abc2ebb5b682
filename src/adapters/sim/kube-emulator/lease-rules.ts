import type { ResourceDef } from './resources.js';
import type { KubeObject, StatusCause } from './types.js';
import { isObject } from './types.js';

/** `metav1.MicroTime` on the wire: RFC 3339 with exactly six fractional digits (Go's `RFC3339Micro`). */
const MICRO_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.\d{6}(Z|[+-](\d{2}):(\d{2}))$/;
const MICRO_LAYOUT = '2006-01-02T15:04:05.000000Z07:00';
const STRATEGIES = ['OldestEmulationVersion'];

function validMicroTime(value: string): boolean {
  const m = MICRO_TIME.exec(value);
  if (m === null) return false;
  const [mo, d, h, mi, s] = [m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number];
  const zone = m[7] === 'Z' || (Number(m[8]) <= 23 && Number(m[9]) <= 59);
  return zone && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h <= 23 && mi <= 59 && s <= 59 && !Number.isNaN(Date.parse(value));
}

/**
 * What a real API server's JSON decoder refuses in a Lease before validation (400 Bad Request): a
 * MicroTime that Go's `time.Parse(RFC3339Micro, ...)` cannot read, e.g. JavaScript's
 * `toISOString()` with milliseconds only.
 */
export function leaseDecodeProblem(obj: KubeObject): string | undefined {
  const spec = isObject(obj.spec) ? obj.spec : {};
  for (const field of ['acquireTime', 'renewTime'] as const) {
    const value = spec[field];
    if (value === undefined) continue;
    if (typeof value !== 'string') {
      return `Lease in version "v1" cannot be handled as a Lease: json: cannot unmarshal ${Array.isArray(value) ? 'array' : typeof value} into Go struct field LeaseSpec.spec.${field} of type string`;
    }
    if (!validMicroTime(value)) {
      return `Lease in version "v1" cannot be handled as a Lease: parsing time ${JSON.stringify(value)} as ${JSON.stringify(MICRO_LAYOUT)}: cannot parse as RFC 3339 with microseconds`;
    }
  }
  return undefined;
}

/** `ValidateLeaseSpec` of the API server (422 Invalid). */
export function leaseRules(obj: KubeObject, _old: KubeObject | undefined, _def: ResourceDef): StatusCause[] {
  const spec = isObject(obj.spec) ? obj.spec : {};
  const causes: StatusCause[] = [];
  const duration = spec.leaseDurationSeconds;
  if (typeof duration === 'number' && duration <= 0) {
    causes.push({ reason: 'FieldValueInvalid', field: 'spec.leaseDurationSeconds', message: `Invalid value: ${duration}: must be greater than 0` });
  }
  const transitions = spec.leaseTransitions;
  if (typeof transitions === 'number' && transitions < 0) {
    causes.push({
      reason: 'FieldValueInvalid',
      field: 'spec.leaseTransitions',
      message: `Invalid value: ${transitions}: must be greater than or equal to 0`,
    });
  }
  const strategy = spec.strategy;
  if (typeof strategy === 'string' && !STRATEGIES.includes(strategy)) {
    causes.push({
      reason: 'FieldValueNotSupported',
      field: 'spec.strategy',
      message: `Unsupported value: ${JSON.stringify(strategy)}: supported values: ${STRATEGIES.map((s) => JSON.stringify(s)).join(', ')}`,
    });
  }
  if (typeof spec.preferredHolder === 'string' && spec.preferredHolder !== '' && (strategy === undefined || strategy === '')) {
    causes.push({
      reason: 'FieldValueForbidden',
      field: 'spec.preferredHolder',
      message: 'Forbidden: may only be specified if `strategy` is defined',
    });
  }
  return causes;
}
