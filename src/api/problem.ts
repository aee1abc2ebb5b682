import { ERROR_CODES, problemTypeOf, type ErrorCode } from '../domain/shared/error-codes.js';
import {
  isDomainError,
  jsonPointer,
  UnprocessableError,
  UpstreamUnavailableError,
  ValidationError,
  type DomainError,
  type ErrorKind,
  type FieldIssue,
} from '../domain/shared/errors.js';

/** RFC 9457 problem details with our stable `code`. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail?: string;
  instance?: string;
  requestId?: string;
  /** The W3C trace id of the request while tracing is on (the same as in the logs and the trace backend). */
  traceId?: string;
  errors?: FieldIssue[];
  details?: Record<string, unknown>;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

/**
 * The status of each domain error class. The classes only take codes whose catalogued statuses
 * include their own (`CodeWithStatus`), so this table and the catalogue agree by type.
 */
const STATUS_OF: Readonly<Record<ErrorKind, number>> = {
  validation: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  precondition_failed: 412,
  quota_exceeded: 409,
  unprocessable: 422,
  upstream_unavailable: 503,
  upstream_rejected: 502,
};

const TITLE_OF: Readonly<Record<number, string>> = {
  400: 'Bad request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not found',
  405: 'Method not allowed',
  406: 'Not acceptable',
  408: 'Request timeout',
  409: 'Conflict',
  411: 'Length required',
  412: 'Precondition failed',
  413: 'Payload too large',
  414: 'URI too long',
  415: 'Unsupported media type',
  422: 'Unprocessable content',
  426: 'Upgrade required',
  429: 'Too many requests',
  431: 'Request header fields too large',
  500: 'Internal server error',
  502: 'Bad gateway',
  503: 'Service unavailable',
  504: 'Gateway timeout',
};

export function problemType(code: ErrorCode): string {
  return problemTypeOf(code);
}

export function statusTitle(status: number): string {
  return TITLE_OF[status] ?? (status >= 500 ? 'Server error' : 'Client error');
}

/** A problem for `code`, with the catalogue's status unless `extra.status` says otherwise. */
export function makeProblem(code: ErrorCode, detail?: string, extra: Partial<Problem> = {}): Problem {
  const status = extra.status ?? ERROR_CODES[code].status;
  return {
    type: problemType(code),
    title: statusTitle(status),
    status,
    code,
    ...(detail === undefined ? {} : { detail }),
    ...extra,
  };
}

/** The HTTP status a domain error answers with (the only table that says so). */
export function statusOf(err: DomainError): number {
  return STATUS_OF[err.kind];
}

/** Maps a domain error to a problem; nothing but its code, message, field issues and safe details. */
export function domainProblem(err: DomainError): Problem {
  const status = statusOf(err);
  return makeProblem(err.code, err.message, {
    status,
    ...((err instanceof ValidationError || err instanceof UnprocessableError) && err.issues.length > 0 ? { errors: [...err.issues] } : {}),
    ...(err.details === undefined ? {} : { details: { ...err.details } }),
  });
}

export function retryAfterOf(err: unknown): number | undefined {
  if (err instanceof UpstreamUnavailableError) return err.retryAfterSeconds ?? 5;
  return undefined;
}

export { isDomainError };

/** Fastify's own errors by their code; the status is the catalogue's. */
const FASTIFY_CODES: Readonly<Record<string, { code: ErrorCode; detail: string }>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'PAYLOAD_TOO_LARGE', detail: 'The request body is too large.' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'UNSUPPORTED_MEDIA_TYPE', detail: 'This content type is not accepted here.' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'EMPTY_BODY', detail: 'A JSON body is required.' },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'INVALID_JSON', detail: 'The body is not valid JSON.' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'INVALID_CONTENT_LENGTH', detail: 'Content-Length does not match the body.' },
  FST_ERR_CTP_INVALID_TYPE: { code: 'BAD_CONTENT_TYPE', detail: 'The Content-Type header is malformed.' },
  FST_ERR_BAD_URL: { code: 'BAD_URL', detail: 'The URL is malformed.' },
  FST_ERR_ASYNC_CONSTRAINT: { code: 'BAD_REQUEST', detail: 'The request could not be routed.' },
};

/** Codes of 4xx statuses the HTTP layer chose itself; any other 4xx is BAD_REQUEST with that status. */
const CODE_OF_STATUS: Readonly<Record<number, ErrorCode>> = {
  404: 'NOT_FOUND',
  411: 'LENGTH_REQUIRED',
  413: 'PAYLOAD_TOO_LARGE',
  429: 'RATE_LIMITED',
};

interface AjvLikeError {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** Where fastify says a validation error is, as `FieldIssue['in']` (undefined: the body). */
const LOCATION_OF: Readonly<Record<string, FieldIssue['in']>> = { querystring: 'query', params: 'path', headers: 'header' };

/**
 * Keywords whose error only sums up the errors of their subschemas (`oneOf`: "must match exactly one
 * schema"; `if`: "must match the then/else schema"), which name the fields themselves.
 */
const SUMMARY_KEYWORDS: ReadonlySet<string> = new Set(['oneOf', 'if']);

/**
 * One entry per offending field, each once: `field` is a JSON Pointer (RFC 6901) relative to the
 * body (or naming the parameter, with `in` saying where). Ajv reports a failed `oneOf` (or
 * `if`/`then`/`else`) once for the schema and again for each branch; the branch errors name the
 * fields, so the summary is dropped, enum refusals of the same field are merged into one list, and repeated messages go.
 */
export function validationIssues(context: string, errors: readonly AjvLikeError[]): FieldIssue[] {
  const where = LOCATION_OF[context];
  const byField = new Map<string, { messages: string[]; allowed: unknown[] }>();
  const branchPaths = errors.filter((e) => !SUMMARY_KEYWORDS.has(e.keyword ?? '')).map((e) => e.instancePath ?? '');
  for (const e of errors) {
    const at = e.instancePath ?? '';
    if (SUMMARY_KEYWORDS.has(e.keyword ?? '') && branchPaths.some((b) => b === at || b.startsWith(`${at}/`))) continue;
    let path = at;
    const p = e.params ?? {};
    let message = e.message ?? 'is invalid';
    if (e.keyword === 'required' && typeof p['missingProperty'] === 'string') path += jsonPointer(p['missingProperty']);
    if (e.keyword === 'additionalProperties' && typeof p['additionalProperty'] === 'string') {
      path += jsonPointer(p['additionalProperty']);
      message = 'is not a known field';
    }
    const field = path === '' ? '/' : path;
    const entry = byField.get(field) ?? { messages: [], allowed: [] };
    byField.set(field, entry);
    if (e.keyword === 'enum' && Array.isArray(p['allowedValues'])) {
      for (const v of p['allowedValues']) if (!entry.allowed.includes(v)) entry.allowed.push(v);
    } else if (!entry.messages.includes(message)) {
      entry.messages.push(message);
    }
  }
  return [...byField].map(([field, { messages, allowed }]) => ({
    field,
    ...(where === undefined ? {} : { in: where }),
    message: [...(allowed.length > 0 ? [`must be one of: ${allowed.join(', ')}`] : []), ...messages].join('; '),
  }));
}

/** Problem for any thrown value: fastify's own errors by code, domain errors by kind, else 500. */
export function toProblem(err: unknown): Problem {
  if (isDomainError(err)) return domainProblem(err);
  const e = err as { code?: unknown; statusCode?: unknown; validation?: AjvLikeError[]; validationContext?: string };
  if (Array.isArray(e.validation)) {
    return makeProblem('VALIDATION_FAILED', 'The request does not match the API contract.', {
      errors: validationIssues(e.validationContext ?? 'body', e.validation),
    });
  }
  const f = typeof e.code === 'string' ? FASTIFY_CODES[e.code] : undefined;
  if (f !== undefined) {
    const msg = (err as { message?: unknown }).message;
    return makeProblem(f.code, f.code === 'UNSUPPORTED_MEDIA_TYPE' && typeof msg === 'string' && msg.startsWith('Send') ? msg : f.detail);
  }
  const status = typeof e.statusCode === 'number' ? e.statusCode : 500;
  if (status >= 400 && status < 500) {
    const msg = (err as { message?: unknown }).message;
    return makeProblem(CODE_OF_STATUS[status] ?? 'BAD_REQUEST', typeof msg === 'string' ? msg : undefined, { status });
  }
  if (status === 503) return makeProblem('SERVICE_UNAVAILABLE', 'The service is overloaded or a dependency is down; retry later.');
  return makeProblem('INTERNAL', 'Something went wrong on our side; the request id helps us find it.');
}
