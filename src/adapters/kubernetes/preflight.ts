import { DomainError, UpstreamUnavailableError } from '../../domain/shared/errors.js';
import { CDI_GROUP, CDI_VERSION, DATAVOLUMES } from './image-objects.js';
import { KubeApiError } from './errors.js';
import type { KubeClient } from './kube-client.js';
import { LABS, LABS_GROUP, LABS_VERSION } from './lab-objects.js';
import { KUBEVIRT_GROUP, KUBEVIRT_VERSION, VMIMS, VMIS, VMS } from './vm-objects.js';
import { WEBHOOK_SELECTOR } from './webhook-objects.js';

/** The process cannot work with this API server (unreachable, credentials refused, access denied); `message` is one line for the operator. */
export class KubePreflightError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KubePreflightError';
  }
}

/** What the probe found that does not stop the process: resources it cannot use yet. */
export interface KubePreflightResult {
  /** CustomResourceDefinitions the API server does not serve (`labs.labplane.io`, ...). */
  readonly missingCrds: readonly string[];
}

interface Probe {
  /** `plural.group` (core: plural), as RBAC and CRDs name it. */
  readonly resource: string;
  readonly custom: boolean;
  list(client: KubeClient): Promise<unknown>;
}

const custom = (group: string, version: string, plural: string): Probe => ({
  resource: `${plural}.${group}`,
  custom: true,
  list: (c) => c.custom.listClusterCustomObject({ group, version, plural, limit: 1 }),
});

/** Every collection an informer of the process lists and watches, across all namespaces. */
const PROBES: readonly Probe[] = [
  { resource: 'namespaces', custom: false, list: (c) => c.core.listNamespace({ limit: 1 }) },
  { resource: 'resourcequotas', custom: false, list: (c) => c.core.listResourceQuotaForAllNamespaces({ limit: 1 }) },
  { resource: 'rolebindings.rbac.authorization.k8s.io', custom: false, list: (c) => c.rbac.listRoleBindingForAllNamespaces({ limit: 1 }) },
  { resource: 'secrets', custom: false, list: (c) => c.core.listSecretForAllNamespaces({ labelSelector: WEBHOOK_SELECTOR, limit: 1 }) },
  { resource: 'nodes', custom: false, list: (c) => c.core.listNode({ limit: 1 }) },
  custom(CDI_GROUP, CDI_VERSION, DATAVOLUMES),
  custom(KUBEVIRT_GROUP, KUBEVIRT_VERSION, VMS),
  custom(KUBEVIRT_GROUP, KUBEVIRT_VERSION, VMIS),
  custom(KUBEVIRT_GROUP, KUBEVIRT_VERSION, VMIMS),
  custom(LABS_GROUP, LABS_VERSION, LABS),
];

/** The first error code (`ECONNREFUSED`, `CERT_HAS_EXPIRED`, ...) along a cause chain. */
function networkCode(err: unknown, depth = 0): string | undefined {
  if (typeof err !== 'object' || err === null || depth > 6) return undefined;
  const e = err as { code?: unknown; cause?: unknown; errors?: unknown; name?: unknown };
  if (typeof e.code === 'string' && /^[A-Z][A-Z0-9_]+$/.test(e.code) && !e.code.startsWith('KUBERNETES_')) return e.code;
  if (e.name === 'TimeoutError') return 'timeout';
  for (const inner of [e.cause, ...(Array.isArray(e.errors) ? e.errors : [])]) {
    const found = networkCode(inner, depth + 1);
    if (found !== undefined) return found;
  }
  // undici gives some refusals (a blocked port, a bad URL) as a bare message.
  const message = (err as { message?: unknown }).message;
  return e.cause === undefined && typeof message === 'string' && message !== '' ? message : undefined;
}

function statusCode(err: unknown): number | undefined {
  return err instanceof DomainError && err.cause instanceof KubeApiError ? err.cause.status.code : undefined;
}

function serverMessage(err: unknown): string {
  return err instanceof DomainError && err.cause instanceof KubeApiError ? err.cause.status.message : '';
}

function unreachable(server: string, err: unknown, timeoutMs: number): KubePreflightError {
  const code = networkCode(err);
  const why = code === 'timeout' ? `no answer within ${timeoutMs} ms` : (code ?? 'unreachable');
  return new KubePreflightError(`cannot reach the Kubernetes API server at ${server} (${why}): check KUBECONFIG / the cluster`, { cause: err });
}

function refused(server: string, err: unknown): KubePreflightError {
  return new KubePreflightError(
    `the Kubernetes API server at ${server} refused our credentials (401 Unauthorized): check the user of the current context in KUBECONFIG (in a pod: the service account token)`,
    { cause: err },
  );
}

/**
 * Checks, before anything is started, that the API server answers, accepts the credentials and
 * lets the process list every collection it watches (one `limit=1` list each). Throws
 * KubePreflightError when it cannot work at all; a missing CRD is returned instead, because
 * installing it later fixes that without a restart. `timeoutMs` bounds each request (the client's).
 */
export async function probeKubernetes(client: KubeClient, timeoutMs: number): Promise<KubePreflightResult> {
  const server = client.kubeConfig.getCurrentCluster()?.server ?? '(no server)';
  const isNetwork = (err: unknown) =>
    err instanceof UpstreamUnavailableError && err.code === 'KUBERNETES_UNAVAILABLE' && statusCode(err) === undefined;
  try {
    await client.request({ what: 'read /version', write: false }, () => client.version.getCode());
  } catch (err) {
    if (isNetwork(err)) throw unreachable(server, err, timeoutMs);
    if (statusCode(err) === 401) throw refused(server, err);
    // Some clusters hide /version; the lists below tell what matters.
  }
  const outcomes = await Promise.all(
    PROBES.map(async (p) => {
      try {
        await client.request({ what: `list ${p.resource}`, write: false }, () => p.list(client));
        return { probe: p, err: undefined };
      } catch (err) {
        return { probe: p, err };
      }
    }),
  );
  const failed = outcomes.filter((o) => o.err !== undefined);
  const network = failed.find((o) => isNetwork(o.err));
  if (network !== undefined) throw unreachable(server, network.err, timeoutMs);
  const unauthorized = failed.find((o) => statusCode(o.err) === 401);
  if (unauthorized !== undefined) throw refused(server, unauthorized.err);
  const forbidden = failed.filter((o) => statusCode(o.err) === 403);
  if (forbidden.length > 0) {
    const resources = forbidden.map((o) => o.probe.resource).join(', ');
    throw new KubePreflightError(
      `the Kubernetes API server at ${server} denied access (403 Forbidden: ${serverMessage(forbidden[0]?.err)}): grant list and watch on ${resources} across all namespaces to the identity in KUBECONFIG (see deploy/base/rbac/)`,
      { cause: forbidden[0]?.err },
    );
  }
  const missingCrds = failed.flatMap((o) =>
    o.err instanceof UpstreamUnavailableError && o.err.code === 'CRD_NOT_INSTALLED' ? [o.probe.resource] : [],
  );
  const other = failed.find((o) => !missingCrds.includes(o.probe.resource));
  if (other !== undefined) {
    const msg = other.err instanceof Error ? other.err.message : String(other.err);
    throw new KubePreflightError(`the Kubernetes API server at ${server} failed to list ${other.probe.resource}: ${msg}`, { cause: other.err });
  }
  return { missingCrds };
}
