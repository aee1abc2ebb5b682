import type { KubeStatus, StatusCause } from './types.js';

/** An error that the emulator answers as a `v1 Status` with the given HTTP code. */
export class KubeStatusError extends Error {
  readonly status: KubeStatus;
  /** Extra response headers (e.g. `Retry-After`). */
  readonly headers: Record<string, string>;

  constructor(status: KubeStatus, headers: Record<string, string> = {}) {
    super(status.message ?? status.reason ?? 'error');
    this.name = 'KubeStatusError';
    this.status = status;
    this.headers = headers;
  }

  get code(): number {
    return this.status.code;
  }
}

/** Identifies the resource an error is about, the way `details` of a Status does. */
export interface ErrorTarget {
  /** Plural resource name, e.g. `virtualmachines`. */
  plural: string;
  /** API group, empty for core. */
  group: string;
  /** Kind, used by Invalid. */
  kind?: string;
}

function failure(code: number, reason: string, message: string, details?: KubeStatus['details']): KubeStatus {
  const status: KubeStatus = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
  if (details) status.details = details;
  return status;
}

/** `virtualmachines.kubevirt.io` or `secrets`. */
export function qualifiedResource(t: ErrorTarget): string {
  return t.group ? `${t.plural}.${t.group}` : t.plural;
}

function targetDetails(t: ErrorTarget, name: string, kindAsKind = false): NonNullable<KubeStatus['details']> {
  const details: NonNullable<KubeStatus['details']> = { name, kind: kindAsKind && t.kind ? t.kind : t.plural };
  if (t.group) details.group = t.group;
  return details;
}

export function notFound(t: ErrorTarget, name: string): KubeStatusError {
  return new KubeStatusError(failure(404, 'NotFound', `${qualifiedResource(t)} "${name}" not found`, targetDetails(t, name)));
}

export function pathNotFound(): KubeStatusError {
  return new KubeStatusError(failure(404, 'NotFound', 'the server could not find the requested resource', {}));
}

export function alreadyExists(t: ErrorTarget, name: string): KubeStatusError {
  return new KubeStatusError(failure(409, 'AlreadyExists', `${qualifiedResource(t)} "${name}" already exists`, targetDetails(t, name)));
}

/** 409 Conflict; the default message is the optimistic-concurrency one of a real API server. */
export function conflict(t: ErrorTarget, name: string, why?: string): KubeStatusError {
  const reason = why ?? 'the object has been modified; please apply your changes to the latest version and try again';
  return new KubeStatusError(
    failure(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedResource(t)} "${name}": ${reason}`, targetDetails(t, name)),
  );
}

/** Renders one cause the way field.Error does: `spec.x: Invalid value: ...`. */
function causeText(c: StatusCause): string {
  return c.field ? `${c.field}: ${c.message ?? ''}` : (c.message ?? '');
}

/** 422 Invalid listing each offending field. */
export function invalid(t: ErrorTarget, name: string, causes: StatusCause[]): KubeStatusError {
  const kind = t.kind ?? t.plural;
  const qualifiedKind = t.group ? `${kind}.${t.group}` : kind;
  const texts = causes.map(causeText);
  const list = texts.length === 1 ? (texts[0] ?? '') : `[${texts.join(', ')}]`;
  const details = targetDetails(t, name, true);
  details.causes = causes;
  return new KubeStatusError(failure(422, 'Invalid', `${qualifiedKind} "${name}" is invalid: ${list}`, details));
}

export function badRequest(message: string): KubeStatusError {
  return new KubeStatusError(failure(400, 'BadRequest', message));
}

export function forbidden(t: ErrorTarget, name: string, why: string, causes?: StatusCause[]): KubeStatusError {
  const details = targetDetails(t, name);
  if (causes) details.causes = causes;
  return new KubeStatusError(failure(403, 'Forbidden', `${qualifiedResource(t)} "${name}" is forbidden: ${why}`, details));
}

/** The authorizer's refusal (RBAC): a 403 with no causes, naming the user, verb and resource in its message. */
export function rbacDenied(message: string): KubeStatusError {
  return new KubeStatusError(failure(403, 'Forbidden', message, {}));
}

export function methodNotAllowed(): KubeStatusError {
  return new KubeStatusError(failure(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {}));
}

export function unsupportedMediaType(contentType: string): KubeStatusError {
  return new KubeStatusError(
    failure(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, got ${contentType}`,
    ),
  );
}

export function tooManyRequests(retryAfterSeconds: number): KubeStatusError {
  return new KubeStatusError(failure(429, 'TooManyRequests', 'Too many requests, please try again later.', { retryAfterSeconds }), {
    'Retry-After': String(retryAfterSeconds),
  });
}

export function internalError(message: string): KubeStatusError {
  return new KubeStatusError(failure(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] }));
}

export function serviceUnavailable(retryAfterSeconds?: number): KubeStatusError {
  const headers: Record<string, string> = retryAfterSeconds === undefined ? {} : { 'Retry-After': String(retryAfterSeconds) };
  const details = retryAfterSeconds === undefined ? {} : { retryAfterSeconds };
  return new KubeStatusError(failure(503, 'ServiceUnavailable', 'the server is currently unable to handle the request', details), headers);
}

/** 410 Expired: what a watch (as an ERROR event) or list answers for a compacted resourceVersion. */
export function expired(message: string): KubeStatus {
  return failure(410, 'Expired', message);
}

export function successStatus(t: ErrorTarget, name: string, uid?: string): KubeStatus {
  const details = targetDetails(t, name);
  if (uid) details.uid = uid;
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details, code: 200 };
}

/** Turns anything thrown into a Status error (unknown errors become 500 InternalError). */
export function toStatusError(err: unknown): KubeStatusError {
  if (err instanceof KubeStatusError) return err;
  return internalError(err instanceof Error ? err.message : String(err));
}
