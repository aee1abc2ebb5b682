import { ApiException } from '@kubernetes/client-node';
import {
  ConflictError,
  DomainError,
  NotFoundError,
  QuotaExceededError,
  UpstreamRejectedError,
  UpstreamUnavailableError,
} from '../../domain/shared/errors.js';
import { notFoundResource } from '../../domain/shared/error-codes.js';

/** The parts of a Kubernetes `v1 Status` this adapter relies on. */
export interface KubeStatus {
  readonly code: number;
  readonly reason: string;
  readonly message: string;
  /** `reason` is the cause's type (`FieldValueInvalid`, `NamespaceTerminating`), '' when absent. */
  readonly causes: ReadonlyArray<{ readonly field: string; readonly message: string; readonly reason: string }>;
  readonly retryAfterSeconds: number | undefined;
  /** `details` names an object or kind (`pods "x" not found`); false for "the server could not find the requested resource". */
  readonly targeted: boolean;
}

/**
 * What a failed Kubernetes call was, kept as the `cause` of the domain error for logs. It holds the
 * Status figures only (no headers, no raw body).
 */
export class KubeApiError extends Error {
  readonly status: KubeStatus;
  constructor(what: string, status: KubeStatus) {
    super(`${what}: HTTP ${status.code} ${status.reason}: ${status.message}`);
    this.name = 'KubeApiError';
    this.status = status;
  }
}

/** What the adapter was doing, for messages and NotFoundError. */
export interface KubeCallContext {
  /** Human description, e.g. `create ResourceQuota t1/labplane-quota`. */
  readonly what: string;
  /** Resource named in a NotFoundError (`tenant`, `member`); defaults to the Kubernetes kind. */
  readonly resource?: string;
  readonly name?: string;
  /** URL path the request went to (set by the client); names the CustomResourceDefinition a 404 of an unserved resource is about. */
  readonly path?: string;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

function record(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function headerValue(headers: unknown, name: string): string | undefined {
  const h = record(headers);
  if (h === undefined) return undefined;
  for (const [k, v] of Object.entries(h)) if (k.toLowerCase() === name) return str(v);
  return undefined;
}

/** Reads the Status out of an ApiException (its body is a JSON string, or already parsed). */
export function statusOf(err: ApiException<unknown>): KubeStatus {
  let body: unknown = err.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      body = undefined;
    }
  }
  const b = record(body);
  const details = record(b?.details);
  const causes = Array.isArray(details?.causes) ? details.causes : [];
  const headerRetry = Number(headerValue(err.headers, 'retry-after'));
  const detailRetry = details?.retryAfterSeconds;
  const retryAfterSeconds =
    Number.isFinite(headerRetry) && headerRetry >= 0 ? headerRetry : typeof detailRetry === 'number' && detailRetry >= 0 ? detailRetry : undefined;
  return {
    code: err.code,
    reason: str(b?.reason) ?? '',
    message: str(b?.message) ?? '',
    causes: causes.flatMap((c) => {
      const r = record(c);
      return r === undefined ? [] : [{ field: str(r.field) ?? '', message: str(r.message) ?? str(r.reason) ?? '', reason: str(r.reason) ?? '' }];
    }),
    retryAfterSeconds,
    targeted: str(details?.name) !== undefined || str(details?.kind) !== undefined,
  };
}

/** The figures of a `exceeded quota: q, requested: a=1,b=2, used: ..., limited: ...` message. */
export function parseQuotaMessage(message: string): { quota: string; resources: Array<Record<string, string>> } | undefined {
  const m = /exceeded quota: ([^,]+), requested: (.*?), used: (.*?), limited: (.*)$/.exec(message);
  if (m === null) return undefined;
  const pairs = (s: string | undefined): Map<string, string> =>
    new Map(
      (s ?? '')
        .split(',')
        .map((p) => p.trim().split('='))
        .filter((kv): kv is [string, string] => kv.length === 2 && kv[0] !== ''),
    );
  const requested = pairs(m[2]);
  const used = pairs(m[3]);
  const limited = pairs(m[4]);
  const resources = [...requested.keys()].map((resource) => ({
    resource,
    requested: requested.get(resource) ?? '',
    used: used.get(resource) ?? '',
    limited: limited.get(resource) ?? '',
  }));
  return { quota: (m[1] ?? '').trim(), resources };
}

/** True for errors of the connection itself (refused, reset, DNS) and for request timeouts. */
export function isNetworkError(err: unknown): boolean {
  const e = record(err);
  if (e === undefined) return false;
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return true;
  const code = str(e.code);
  if (code !== undefined && NETWORK_CODES.has(code)) return true;
  if (err instanceof TypeError && e.message === 'fetch failed') return true;
  return e.cause !== undefined && e.cause !== err && isNetworkError(e.cause);
}

function isTimeout(err: unknown): boolean {
  const e = record(err);
  return e !== undefined && (e.name === 'TimeoutError' || (e.cause !== undefined && isTimeout(e.cause)));
}

/**
 * Translates what a client-node call threw into a domain error. Domain errors pass through; errors
 * that are neither HTTP answers nor network failures (bugs) are returned unchanged.
 */
export function translateKubeError(err: unknown, ctx: KubeCallContext): unknown {
  if (err instanceof DomainError) return err;
  if (err instanceof ApiException) return fromStatus(statusOf(err as ApiException<unknown>), ctx);
  if (isNetworkError(err)) {
    const timeout = isTimeout(err);
    const why = timeout ? 'did not answer in time' : 'is unreachable';
    return new UpstreamUnavailableError('KUBERNETES_UNAVAILABLE', `The Kubernetes API server ${why} (${ctx.what}).`, {
      cause: err,
      details: { timeout },
    });
  }
  return err;
}

function fromStatus(s: KubeStatus, ctx: KubeCallContext): DomainError {
  const cause = new KubeApiError(ctx.what, s);
  const name = ctx.name ?? '';
  switch (s.code) {
    case 404:
      if (!s.targeted) return crdNotInstalled(ctx, cause);
      return new NotFoundError(notFoundResource(ctx.resource, 'object'), name, { cause });
    case 409:
      if (s.reason === 'AlreadyExists') {
        return new ConflictError('ALREADY_EXISTS', `Kubernetes already holds the object (${ctx.what}).`, { cause });
      }
      return new ConflictError('VERSION_CONFLICT', `The object changed meanwhile (${ctx.what}); read it again and retry.`, {
        cause,
      });
    case 422:
      return new UpstreamRejectedError('KUBERNETES_INVALID', `Kubernetes found the object invalid (${ctx.what}).`, {
        cause,
        details: { causes: s.causes.map((c) => ({ field: c.field, message: c.message })) },
      });
    case 403: {
      // NamespaceLifecycle admission refuses to create anything in a namespace being deleted (403 with
      // a NamespaceTerminating cause): the platform's namespaces that are ever deleted are tenants',
      // so this is the tenant's deletion racing the request, not an RBAC refusal.
      if (s.causes.some((c) => c.reason === 'NamespaceTerminating')) {
        return new ConflictError(
          'TENANT_TERMINATING',
          `The tenant is being deleted: Kubernetes creates nothing new in its namespace (${ctx.what}).`,
          {
            cause,
          },
        );
      }
      const quota = s.message.includes('exceeded quota') ? parseQuotaMessage(s.message) : undefined;
      if (quota !== undefined) {
        return new QuotaExceededError('QUOTA_EXCEEDED', `The tenant's quota does not allow this (${ctx.what}).`, {
          cause,
          details: quota,
        });
      }
      return new UpstreamRejectedError('KUBERNETES_FORBIDDEN', `Kubernetes refused the request (${ctx.what}).`, { cause });
    }
    case 429:
      return new UpstreamUnavailableError('KUBERNETES_THROTTLED', `The Kubernetes API server is throttling requests (${ctx.what}).`, {
        cause,
        ...(s.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: s.retryAfterSeconds }),
      });
    case 401:
      return new UpstreamRejectedError('KUBERNETES_UNAUTHORIZED', `Kubernetes did not accept the adapter's credentials (${ctx.what}).`, {
        cause,
      });
    default:
      if (s.code >= 500) {
        return new UpstreamUnavailableError('KUBERNETES_UNAVAILABLE', `The Kubernetes API server failed (${ctx.what}).`, {
          cause,
          ...(s.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: s.retryAfterSeconds }),
        });
      }
      return new UpstreamRejectedError('KUBERNETES_REJECTED', `Kubernetes rejected the request with ${s.code} ${s.reason} (${ctx.what}).`, {
        cause,
      });
  }
}

/**
 * A 404 naming no object: the API server does not serve the resource at all, so for a custom
 * resource its CustomResourceDefinition is missing. Retryable: installing the CRD fixes it.
 */
function crdNotInstalled(ctx: KubeCallContext, cause: KubeApiError): DomainError {
  const crd = ctx.path === undefined ? undefined : crdOfPath(ctx.path);
  if (crd === undefined) return new NotFoundError(notFoundResource(ctx.resource, 'object'), ctx.name ?? '', { cause });
  return new UpstreamUnavailableError('CRD_NOT_INSTALLED', `The Kubernetes API server does not serve ${crd}: ${crdHint(crd)}.`, {
    cause,
    details: { crd },
    retryAfterSeconds: CRD_RETRY_AFTER_SECONDS,
  });
}

/** What a client waits before asking again for something whose CRD is missing. */
export const CRD_RETRY_AFTER_SECONDS = 30;

/** `labs.labplane.io` for `/apis/labplane.io/v1alpha1/namespaces/t/labs/x`; undefined for core paths. */
export function crdOfPath(path: string): string | undefined {
  const s = path.split('?')[0]?.split('/').filter(Boolean) ?? [];
  if (s[0] !== 'apis' || s.length < 4) return undefined;
  const plural = s[3] === 'namespaces' && s.length >= 6 ? s[5] : s[3];
  return `${plural}.${s[1]}`;
}

/** How an operator installs a CustomResourceDefinition labplane depends on. */
export function crdHint(crd: string): string {
  if (crd.endsWith('.labplane.io'))
    return `its CustomResourceDefinition is not installed; apply it with \`kubectl apply --server-side -f deploy/crds/${crd}.yaml\``;
  if (crd.endsWith('.cdi.kubevirt.io'))
    return 'its CustomResourceDefinition is not installed; install CDI (the Containerized Data Importer) in the cluster';
  if (crd.endsWith('.kubevirt.io')) return 'its CustomResourceDefinition is not installed; install KubeVirt in the cluster';
  return 'its CustomResourceDefinition is not installed';
}

/** True for a translated 409 of the given code (`ALREADY_EXISTS`, `VERSION_CONFLICT`). */
export function isConflict(err: unknown, code: 'ALREADY_EXISTS' | 'VERSION_CONFLICT'): boolean {
  return err instanceof ConflictError && err.code === code;
}

export function isNotFound(err: unknown): boolean {
  return err instanceof NotFoundError;
}
