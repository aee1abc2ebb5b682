/** The services labplane calls whose budgets and answers are measured. */
export type Upstream = 'kubernetes' | 'arm';

/**
 * What adapters report of their calls to an upstream (Kubernetes API server, Azure Resource
 * Manager), for metrics. Labels stay bounded: `verb` is the HTTP method, `resource` a resource type
 * (never a name or id), `status` the HTTP status or `error` when no answer came.
 */
export interface UpstreamMetrics {
  request(call: { readonly upstream: Upstream; readonly verb: string; readonly resource: string; readonly status: number | 'error' }): void;
  /** Time a request waited for a token of the client-side budget. */
  budgetWait(upstream: Upstream, seconds: number): void;
  /** A 429 Too Many Requests (or 503 with Retry-After) seen from the upstream. */
  throttled(upstream: Upstream): void;
}

/** The resource type in a Kubernetes API path (`/api/v1/namespaces/t/secrets/x` -> `secrets`, subresources as `vms/start`). */
export function kubeResourceOf(path: string): string {
  const parts = path.split('/').filter((p) => p !== '');
  let rest = parts[0] === 'api' ? parts.slice(2) : parts[0] === 'apis' ? parts.slice(3) : [];
  if (rest[0] === 'namespaces' && rest.length >= 3) rest = rest.slice(2);
  else if (rest[0] === 'namespaces') return 'namespaces';
  const resource = rest[0] ?? 'other';
  const sub = rest[2];
  return (sub === undefined ? resource : `${resource}/${sub}`).slice(0, 64);
}

/** The resource type in an ARM URL (`.../providers/Microsoft.HybridCompute/machines/m/extensions/e` -> `Microsoft.HybridCompute/machines/extensions`). */
export function armResourceOf(url: string): string {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    return 'other';
  }
  const parts = path.split('/').filter((p) => p !== '');
  const at = parts.lastIndexOf('providers');
  if (at < 0 || at + 1 >= parts.length) return 'other';
  const namespace = parts[at + 1] as string;
  const types = parts.slice(at + 2).filter((_, i) => i % 2 === 0);
  return [namespace, ...types].join('/').slice(0, 96);
}
