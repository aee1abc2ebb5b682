/**
 * A resource request in the API server's RequestInfo terms: what an RBAC authorizer is asked about.
 * `namespace` is absent for cluster-scoped requests and for requests across all namespaces.
 */
export interface ResourceRequestInfo {
  readonly kind: 'resource';
  /** get, list, watch, create, update, patch, delete, deletecollection (or the HTTP method lower-cased for others). */
  readonly verb: string;
  /** '' for the core group. */
  readonly apiGroup: string;
  readonly apiVersion: string;
  readonly resource: string;
  readonly subresource?: string;
  readonly namespace?: string;
  readonly name?: string;
}

/** A request outside the resource tree (`/api`, `/apis/<group>/<version>`, `/version`, `/healthz`, ...). */
export interface NonResourceRequestInfo {
  readonly kind: 'nonResource';
  /** The HTTP method lower-cased, as RBAC's nonResourceURLs rules see it. */
  readonly verb: string;
  readonly path: string;
}

export type RequestInfo = ResourceRequestInfo | NonResourceRequestInfo;

const API_PREFIXES = new Set(['api', 'apis']);
const SPECIAL_VERBS = new Set(['proxy', 'watch']);
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);
const METHOD_VERBS: Record<string, string> = { POST: 'create', GET: 'get', HEAD: 'get', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };

/**
 * Classifies a request the way the API server's `RequestInfoFactory.NewRequestInfo`
 * (k8s.io/apiserver/pkg/endpoints/request/requestinfo.go) does; ported rather than imported
 * because no npm package exposes it. Paths with fewer than three segments, or groups without a
 * version, are non-resource URLs; a GET without a name is `list` or `watch` (`?watch=true` or the
 * legacy `/watch/` prefix); a `metadata.name=` field selector names the object; a DELETE without a
 * name is `deletecollection`.
 */
export function requestInfoOf(method: string, url: URL): RequestInfo {
  const upper = method.toUpperCase();
  const path = url.pathname;
  const nonResource: NonResourceRequestInfo = { kind: 'nonResource', verb: upper.toLowerCase(), path };
  let parts = path
    .split('/')
    .filter((p) => p !== '')
    .map((p) => decodeURIComponent(p));
  if (parts.length < 3 || !API_PREFIXES.has(parts[0] ?? '')) return nonResource;
  const prefix = parts[0];
  parts = parts.slice(1);
  let apiGroup = '';
  if (prefix === 'apis') {
    if (parts.length < 3) return nonResource;
    apiGroup = parts[0] ?? '';
    parts = parts.slice(1);
  }
  const apiVersion = parts[0] ?? '';
  parts = parts.slice(1);
  let verb: string;
  if (SPECIAL_VERBS.has(parts[0] ?? '') && parts.length >= 2) {
    verb = parts[0] ?? '';
    parts = parts.slice(1);
  } else {
    verb = METHOD_VERBS[upper] ?? '';
  }
  let namespace: string | undefined;
  if (parts[0] === 'namespaces') {
    if (parts.length > 1) {
      namespace = parts[1];
      if (parts.length > 2 && !NAMESPACE_SUBRESOURCES.has(parts[2] ?? '')) parts = parts.slice(2);
    }
  }
  const resource = parts[0] ?? '';
  let name = parts[1];
  const subresource = parts.length >= 3 && verb !== 'proxy' ? parts[2] : undefined;
  if (name === undefined && verb === 'get') {
    const watch = url.searchParams.get('watch');
    verb = watch !== null && !['false', '0'].includes(watch.toLowerCase()) ? 'watch' : 'list';
    name = exactName(url.searchParams.get('fieldSelector'));
  }
  if (name === undefined && verb === 'delete') verb = 'deletecollection';
  return {
    kind: 'resource',
    verb,
    apiGroup,
    apiVersion,
    resource,
    ...(subresource === undefined ? {} : { subresource }),
    ...(namespace === undefined ? {} : { namespace }),
    ...(name === undefined ? {} : { name }),
  };
}

/** The name a field selector requires exactly (`metadata.name=x` or `==x`), if any. */
function exactName(selector: string | null): string | undefined {
  for (const term of (selector ?? '').split(',')) {
    const m = /^\s*metadata\.name\s*==?\s*([^=!\s]+)\s*$/.exec(term);
    if (m?.[1] !== undefined) return m[1];
  }
  return undefined;
}

/** Requests an emulator received, classified; see {@link requestInfoOf}. */
export interface RecordedRequests {
  readonly resource: readonly ResourceRequestInfo[];
  readonly nonResource: readonly NonResourceRequestInfo[];
}

/** Collects classified requests (only when recording is on: a long-running simulated default would grow it forever). */
export class RequestRecorder {
  private readonly resource: ResourceRequestInfo[] = [];
  private readonly nonResource: NonResourceRequestInfo[] = [];

  constructor(private readonly on: boolean) {}

  record(method: string, url: URL): void {
    if (!this.on) return;
    const info = requestInfoOf(method, url);
    if (info.kind === 'resource') this.resource.push(info);
    else this.nonResource.push(info);
  }

  snapshot(): RecordedRequests {
    return { resource: [...this.resource], nonResource: [...this.nonResource] };
  }
}
