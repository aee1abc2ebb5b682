import { createHash } from 'node:crypto';
import type { AgentOptions } from 'node:https';
import type { Cluster, KubeConfig } from '@kubernetes/client-node';

/** What this module needs of an undici dispatcher. */
interface Dispatcher {
  close(): Promise<void>;
}

type DispatcherFactory = (cluster: Cluster | null, agentOptions: AgentOptions) => Dispatcher | undefined;

/** Distinct TLS materials kept at once (rotated credentials replace the oldest). */
const KEPT = 4;

/**
 * Makes every request of `kc` to a TLS cluster share one connection pool per distinct TLS material.
 *
 * Why our own code: client-node 2.0.1 builds a new undici Agent for every request when the cluster
 * has TLS material (a CA, a client certificate: every real cluster, in-cluster included). Its private
 * `createDispatcher` has no cache, unlike `createAgent` beside it, so every Kubernetes call opened a
 * TCP connection and made a TLS handshake, and left the connection idle until undici's keep-alive
 * timeout. Measured against a loopback HTTPS server (both ends in one process, no request budget):
 * 200 list calls, 200 handshakes, 5.7 ms of CPU per call; with this, no new handshake and 1.7 ms, as
 * over plain HTTP. Every watch, list and write goes through
 * `applySecurityAuthentication`, which calls that method, so wrapping it reaches them all.
 *
 * Keyed by what client-node computed for the request (server, proxy, CA, client certificate and key,
 * verification, server name), so a rotated certificate gets a pool of its own; a replaced pool is
 * closed, which lets its requests in flight finish. Throws if the method is gone (a client-node
 * upgrade), so the regression cannot pass unnoticed; test/kubernetes/tls-connection-reuse.test.ts
 * counts the handshakes.
 */
export function reuseTlsConnections(kc: KubeConfig): void {
  const target = kc as unknown as { createDispatcher?: DispatcherFactory };
  const create = target.createDispatcher;
  if (typeof create !== 'function') throw new Error('client-node no longer has KubeConfig.createDispatcher: review dispatcher-reuse.ts');
  const pools = new Map<string, Dispatcher | undefined>();
  target.createDispatcher = (cluster, agentOptions) => {
    const key = materialKey(cluster, agentOptions);
    if (pools.has(key)) return pools.get(key);
    const made = create.call(kc, cluster, agentOptions);
    pools.set(key, made);
    if (pools.size > KEPT) {
      const [oldest, pool] = pools.entries().next().value as [string, Dispatcher | undefined];
      pools.delete(oldest);
      void pool?.close().catch(() => undefined);
    }
    return made;
  };
}

function materialKey(cluster: Cluster | null, o: AgentOptions): string {
  const part = (v: unknown): string => (v === undefined || v === null ? '' : Buffer.isBuffer(v) ? v.toString('base64') : JSON.stringify(v));
  const h = createHash('sha256');
  for (const v of [cluster?.server, cluster?.proxyUrl, o.ca, o.cert, o.key, o.pfx, o.passphrase, o.rejectUnauthorized, o.servername]) {
    h.update(part(v)).update('\0');
  }
  return h.digest('base64');
}
