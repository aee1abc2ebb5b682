import { ConflictError, DomainError, NotFoundError, UpstreamRejectedError, UpstreamUnavailableError } from '../../domain/shared/errors.js';
import { notFoundResource } from '../../domain/shared/error-codes.js';

/**
 * What a failed ARM call was, kept as the `cause` of the domain error for logs. It holds figures
 * only (status, ARM error code and message, request id): never the request, its headers (which
 * carry the bearer token) or the raw body.
 */
export class AzureApiError extends Error {
  readonly statusCode: number | undefined;
  readonly armCode: string | undefined;
  readonly requestId: string | undefined;
  constructor(what: string, facts: { statusCode?: number; armCode?: string; armMessage?: string; requestId?: string }) {
    const status = facts.statusCode === undefined ? 'no response' : `HTTP ${facts.statusCode}`;
    super(`${what}: ${status}${facts.armCode ? ` ${facts.armCode}` : ''}${facts.armMessage ? `: ${facts.armMessage}` : ''}`);
    this.name = 'AzureApiError';
    this.statusCode = facts.statusCode;
    this.armCode = facts.armCode;
    this.requestId = facts.requestId;
  }
}

/** What the adapter was doing, for messages and NotFoundError. */
export interface ArmCallContext {
  /** Human description, e.g. `get Arc machine vm-1`. */
  readonly what: string;
  /** Resource named in a NotFoundError (`arc_machine`, `role_assignment`). */
  readonly resource?: string;
  readonly name?: string;
}

/** The fields of `@azure/core-rest-pipeline`'s RestError this module reads (matched by shape, not class). */
interface RestErrorLike {
  readonly name: 'RestError';
  readonly message: string;
  readonly code?: string;
  readonly statusCode?: number;
  readonly response?: { readonly headers?: { get(name: string): string | undefined } };
}

function isRestError(err: unknown): err is RestErrorLike {
  return typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'RestError';
}

/** Seconds from `Retry-After` (seconds or HTTP date) or the `retry-after-ms` headers ARM also sends. */
export function retryAfterSecondsOf(get: (name: string) => string | undefined, nowMs = Date.now()): number | undefined {
  for (const h of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const ms = Number(get(h));
    if (get(h) !== undefined && Number.isFinite(ms) && ms >= 0) return Math.ceil(ms / 1000);
  }
  const raw = get('retry-after');
  if (raw === undefined || raw.trim() === '') return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds);
  const date = Date.parse(raw);
  return Number.isFinite(date) ? Math.max(0, Math.ceil((date - nowMs) / 1000)) : undefined;
}

const IDENTITY_ERRORS = new Set(['AuthenticationError', 'AuthenticationRequiredError', 'CredentialUnavailableError', 'AggregateAuthenticationError']);
/** Identity failures that retrying will not fix: the identity or its secret is wrong or missing. */
const IDENTITY_REFUSALS = new Set(['AuthenticationRequiredError', 'CredentialUnavailableError']);

/**
 * Translates what an Azure SDK call threw into a domain error. Domain errors pass through; errors
 * that are neither ARM answers, network failures nor credential failures (bugs) return unchanged.
 */
export function translateArmError(err: unknown, ctx: ArmCallContext): unknown {
  if (err instanceof DomainError) return err;
  if (isRestError(err)) {
    const get = (h: string) => err.response?.headers?.get(h);
    const statusCode = err.statusCode;
    const armCode = statusCode === undefined ? undefined : err.code;
    const cause = new AzureApiError(ctx.what, {
      ...(statusCode === undefined ? {} : { statusCode }),
      ...(armCode === undefined ? {} : { armCode }),
      ...(statusCode === undefined ? {} : { armMessage: err.message.slice(0, 500) }),
      ...(get('x-ms-request-id') === undefined ? {} : { requestId: get('x-ms-request-id') as string }),
    });
    if (statusCode === undefined) {
      return new UpstreamUnavailableError('AZURE_UNREACHABLE', `Azure Resource Manager is unreachable (${ctx.what}).`, { cause });
    }
    return fromStatus(statusCode, armCode, retryAfterSecondsOf(get), ctx, cause);
  }
  const e = err as { name?: unknown; statusCode?: unknown } | null;
  if (e !== null && typeof e === 'object' && typeof e.name === 'string') {
    if (e.name === 'AbortError' || e.name === 'TimeoutError') {
      return new UpstreamUnavailableError('AZURE_UNAVAILABLE', `Azure Resource Manager did not answer in time (${ctx.what}).`, {
        cause: new AzureApiError(ctx.what, {}),
        details: { timeout: true },
      });
    }
    if (IDENTITY_ERRORS.has(e.name)) {
      const status = typeof e.statusCode === 'number' ? e.statusCode : undefined;
      const cause = new AzureApiError(`${ctx.what} (${e.name})`, status === undefined ? {} : { statusCode: status });
      if (IDENTITY_REFUSALS.has(e.name) || (status !== undefined && status >= 400 && status < 500)) {
        return new UpstreamRejectedError(
          'AZURE_CREDENTIAL_REJECTED',
          `The Azure identity could not get a token (${ctx.what}); check its configuration.`,
          {
            cause,
          },
        );
      }
      return new UpstreamUnavailableError('AZURE_CREDENTIAL_UNAVAILABLE', `Azure AD could not issue a token (${ctx.what}).`, { cause });
    }
  }
  return err;
}

function fromStatus(
  status: number,
  armCode: string | undefined,
  retryAfterSeconds: number | undefined,
  ctx: ArmCallContext,
  cause: AzureApiError,
): DomainError {
  const retry = retryAfterSeconds === undefined ? {} : { retryAfterSeconds };
  const details = { armCode: armCode ?? '', statusCode: status };
  if (status === 404 && (armCode === 'ResourceGroupNotFound' || armCode === 'SubscriptionNotFound')) {
    return new UpstreamRejectedError(
      'AZURE_SCOPE_NOT_FOUND',
      `The configured ${armCode === 'SubscriptionNotFound' ? 'subscription' : 'resource group'} does not exist (${ctx.what}).`,
      {
        cause,
        details,
      },
    );
  }
  if (status === 404) return new NotFoundError(notFoundResource(ctx.resource, 'azure_resource'), ctx.name ?? '', { cause, details });
  if (status === 409) {
    if (armCode === 'RoleAssignmentExists') {
      return new ConflictError('AZURE_ROLE_ASSIGNMENT_EXISTS', `The role assignment already exists (${ctx.what}).`, { cause, details });
    }
    return new ConflictError('AZURE_CONFLICT', `Azure refused the change because of a conflict: ${armCode ?? 'Conflict'} (${ctx.what}).`, {
      cause,
      details,
    });
  }
  if (status === 429) {
    return new UpstreamUnavailableError('AZURE_THROTTLED', `Azure Resource Manager is throttling requests (${ctx.what}).`, {
      cause,
      details,
      ...retry,
    });
  }
  if (status >= 500 || status === 408) {
    return new UpstreamUnavailableError('AZURE_UNAVAILABLE', `Azure Resource Manager failed: ${armCode ?? status} (${ctx.what}).`, {
      cause,
      details,
      ...retry,
    });
  }
  if (status === 400 && armCode === 'PrincipalNotFound') {
    return new UpstreamUnavailableError('AZURE_PRINCIPAL_NOT_FOUND', `Azure AD does not know the principal yet (${ctx.what}).`, {
      cause,
      details,
      retryAfterSeconds: retryAfterSeconds ?? 30,
    });
  }
  if (status === 401) {
    return new UpstreamRejectedError('AZURE_UNAUTHORIZED', `Azure did not accept the adapter's token (${ctx.what}).`, { cause, details });
  }
  if (status === 403) {
    return new UpstreamRejectedError('AZURE_FORBIDDEN', `Azure refused the request: ${armCode ?? 'Forbidden'} (${ctx.what}).`, { cause, details });
  }
  return new UpstreamRejectedError('AZURE_REJECTED', `Azure rejected the request: ${armCode ?? status} (${ctx.what}).`, { cause, details });
}
