import type { CodeWithStatus, ErrorCode, NotFoundResource } from './error-codes.js';

/**
 * Semantic errors of the domain. They carry a stable machine-readable `code` from the catalogue
 * (error-codes.ts) and never an HTTP status: the API maps them in one place (REST problem+json,
 * GraphQL `extensions.code`). Each class takes only the codes whose catalogued statuses include
 * the class's own, so the catalogue and what is answered cannot disagree.
 */
export type ErrorKind =
  | 'validation'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'precondition_failed'
  | 'quota_exceeded'
  | 'upstream_unavailable'
  | 'upstream_rejected'
  | 'unprocessable';

export interface FieldIssue {
  /**
   * JSON Pointer (RFC 6901) of the offending field, relative to the request body (REST) or to the
   * field's arguments (GraphQL), e.g. `/quota/cpu`; `/` is the body as a whole. Parameters outside
   * the body are named by `in`.
   */
  readonly field: string;
  /** Where the field is when it is not in the body: a query, path or header parameter. */
  readonly in?: 'query' | 'path' | 'header';
  readonly message: string;
  /** A machine-readable reason, where the code has several (e.g. `not-in-directory`, `ambiguous`). */
  readonly reason?: string;
}

/** A JSON Pointer (RFC 6901) to `tokens`: `~` and `/` inside a token are escaped (`~0`, `~1`). */
export function jsonPointer(...tokens: ReadonlyArray<string | number>): string {
  return tokens.map((t) => `/${String(t).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

export interface DomainErrorOptions {
  readonly cause?: unknown;
  /** Extra, safe-to-show facts (figures of a quota refusal, the conflicting state, ...). */
  readonly details?: Readonly<Record<string, unknown>>;
}

export abstract class DomainError extends Error {
  abstract readonly kind: ErrorKind;
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message: string, options: DomainErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options.details;
  }
}

export class ValidationError extends DomainError {
  readonly kind = 'validation' as const;
  readonly issues: readonly FieldIssue[];
  constructor(message: string, issues: readonly FieldIssue[] = [], options: DomainErrorOptions = {}) {
    super('VALIDATION_FAILED', message, options);
    this.issues = issues;
  }
}

/** The request is well-formed but cannot be carried out as asked (422). */
export class UnprocessableError extends DomainError {
  readonly kind = 'unprocessable' as const;
  /** The items refused, when the refusal is per item (answered as `errors[]`). */
  readonly issues: readonly FieldIssue[];
  constructor(code: CodeWithStatus<422>, message: string, options: DomainErrorOptions & { issues?: readonly FieldIssue[] } = {}) {
    super(code, message, options);
    this.issues = options.issues ?? [];
  }
}

export class UnauthenticatedError extends DomainError {
  readonly kind = 'unauthenticated' as const;
  constructor(message = 'A valid bearer token is required.', options: DomainErrorOptions = {}) {
    super('UNAUTHENTICATED', message, options);
  }
}

export class ForbiddenError extends DomainError {
  readonly kind = 'forbidden' as const;
  constructor(message = 'You are not allowed to do this.', options: DomainErrorOptions = {}) {
    super('FORBIDDEN', message, options);
  }
}

export class NotFoundError extends DomainError {
  readonly kind = 'not_found' as const;
  constructor(resource: NotFoundResource, id: string, options: DomainErrorOptions = {}) {
    super(`${resource.toUpperCase() as Uppercase<NotFoundResource>}_NOT_FOUND`, `${resource} '${id}' was not found.`, options);
  }
}

export class ConflictError extends DomainError {
  readonly kind = 'conflict' as const;
  constructor(code: CodeWithStatus<409>, message: string, options: DomainErrorOptions = {}) {
    super(code, message, options);
  }
}

export class PreconditionFailedError extends DomainError {
  readonly kind = 'precondition_failed' as const;
  constructor(code: CodeWithStatus<412>, message: string, options: DomainErrorOptions = {}) {
    super(code, message, options);
  }
}

export class QuotaExceededError extends DomainError {
  readonly kind = 'quota_exceeded' as const;
  constructor(code: CodeWithStatus<409>, message: string, options: DomainErrorOptions = {}) {
    super(code, message, options);
  }
}

/** The upstream (Kubernetes, ARM, Redis) is unreachable or overloaded; retrying later may work. */
export class UpstreamUnavailableError extends DomainError {
  readonly kind = 'upstream_unavailable' as const;
  /** Seconds the caller should wait before retrying, when the upstream said so. */
  readonly retryAfterSeconds: number | undefined;
  constructor(code: CodeWithStatus<503>, message: string, options: DomainErrorOptions & { retryAfterSeconds?: number } = {}) {
    super(code, message, options);
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** The upstream refused the request for good; retrying the same request will not help. */
export class UpstreamRejectedError extends DomainError {
  readonly kind = 'upstream_rejected' as const;
  constructor(code: CodeWithStatus<502>, message: string, options: DomainErrorOptions = {}) {
    super(code, message, options);
  }
}

/**
 * A child operation (a lab's VM) failed, and its parent fails with the child's code, whatever its
 * catalogued status: it is only ever recorded on the parent operation, never answered directly.
 */
export class ChildOperationFailedError extends DomainError {
  readonly kind = 'upstream_rejected' as const;
}

export function isDomainError(err: unknown): err is DomainError {
  return err instanceof DomainError;
}

/** True when retrying the same step later may succeed. */
export function isRetryable(err: unknown): boolean {
  return err instanceof UpstreamUnavailableError;
}
