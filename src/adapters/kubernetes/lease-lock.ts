import {
  CoordinationV1Api,
  ServerConfiguration,
  V1MicroTime,
  createConfiguration,
  type KubeConfig,
  type Middleware,
  type V1Lease,
} from '@kubernetes/client-node';
import type { LeaseLock, LeaseRecord, VersionedLease } from '../../domain/shared/leadership.js';
import { isNotFound, translateKubeError } from './errors.js';

export interface KubeLeaseLockOptions {
  readonly kubeConfig: KubeConfig;
  readonly namespace: string;
  readonly name: string;
  /** Bound of each request, connection to last byte (the renew deadline at most). */
  readonly timeoutMs: number;
  /** Labels of a Lease this lock creates. */
  readonly labels?: Readonly<Record<string, string>>;
}

function timeoutMiddleware(timeoutMs: number): Middleware {
  return {
    pre: (ctx) => {
      const own = AbortSignal.timeout(timeoutMs);
      const given = ctx.getSignal();
      ctx.setSignal(given === undefined ? own : AbortSignal.any([given, own]));
      return Promise.resolve(ctx);
    },
    post: (res) => Promise.resolve(res),
  };
}

/** client-node types MicroTime as a Date but hands back the wire string (the type is not in its serializer's map). */
function toDate(value: unknown): Date | undefined {
  if (value instanceof Date) return value;
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}

/** V1MicroTime renders six fractional digits; a plain Date's three are refused by a real API server. */
const micro = (d: Date): V1MicroTime => new V1MicroTime(d.getTime());

function fromLease(lease: V1Lease): VersionedLease {
  const spec = lease.spec ?? {};
  return {
    record: {
      holderIdentity: spec.holderIdentity ?? '',
      leaseDurationSeconds: spec.leaseDurationSeconds ?? 0,
      acquireTime: toDate(spec.acquireTime),
      renewTime: toDate(spec.renewTime),
      leaseTransitions: spec.leaseTransitions ?? 0,
    },
    version: lease.metadata?.resourceVersion ?? '',
  };
}

/**
 * The leader lease as a coordination.k8s.io/v1 Lease. It has its own client: lease requests do not
 * wait behind the process's shared write budget (KUBE_QPS), which a busy leader could exhaust and so
 * miss its renew deadline.
 */
export function createKubeLeaseLock(options: KubeLeaseLockOptions): LeaseLock {
  const { namespace, name } = options;
  const cluster = options.kubeConfig.getCurrentCluster();
  if (cluster === null) throw new Error('The Kubernetes configuration names no current cluster.');
  const api = new CoordinationV1Api(
    createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: { default: options.kubeConfig },
      promiseMiddleware: [timeoutMiddleware(options.timeoutMs)],
    }),
  );
  const description = `${namespace}/${name}`;

  function body(record: LeaseRecord, version: string | undefined): V1Lease {
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name,
        namespace,
        ...(version === undefined ? {} : { resourceVersion: version }),
        ...(options.labels === undefined ? {} : { labels: { ...options.labels } }),
      },
      spec: {
        holderIdentity: record.holderIdentity,
        leaseDurationSeconds: record.leaseDurationSeconds,
        leaseTransitions: record.leaseTransitions,
        ...(record.acquireTime === undefined ? {} : { acquireTime: micro(record.acquireTime) }),
        ...(record.renewTime === undefined ? {} : { renewTime: micro(record.renewTime) }),
      },
    };
  }

  const ctx = (verb: string) => ({ what: `${verb} Lease ${description}`, resource: 'lease', name });
  async function call<T>(verb: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (err) {
      throw translateKubeError(err, ctx(verb));
    }
  }

  return {
    description,
    async get() {
      try {
        return fromLease(await call('read', () => api.readNamespacedLease({ namespace, name })));
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    create: async (record) => fromLease(await call('create', () => api.createNamespacedLease({ namespace, body: body(record, undefined) }))),
    update: async (record, version) =>
      fromLease(await call('update', () => api.replaceNamespacedLease({ namespace, name, body: body(record, version) }))),
  };
}
