import { KubeConfig } from '@kubernetes/client-node';
import { reuseTlsConnections } from './dispatcher-reuse.js';

/** Where the Kubernetes adapter finds its cluster. Exactly one source is used, in this order. */
export interface KubeConfigSource {
  /** Plain http(s) URL of an API server that needs no credentials (the in-process emulator). */
  readonly server?: string;
  /** Service-account credentials mounted into the pod. */
  readonly inCluster?: boolean;
  /** A kubeconfig file; its current context is used. */
  readonly kubeconfigPath?: string;
}

/**
 * Builds a client-node `KubeConfig` from one source: `server` (emulator), `inCluster`, or
 * `kubeconfigPath`; with none of them, the default chain (`KUBECONFIG`, `~/.kube/config`, in-cluster).
 * Throws when the chosen source does not yield a current cluster. Requests to a TLS cluster share
 * connections (`reuseTlsConnections`).
 */
export function loadKubeConfig(source: KubeConfigSource = {}): KubeConfig {
  const kc = new KubeConfig();
  if (source.server !== undefined) {
    const url = new URL(source.server);
    const server = url.toString().replace(/\/+$/, '');
    // client-node refuses plain http unless TLS verification is "skipped"; there is no TLS to skip.
    const plainHttp = url.protocol === 'http:';
    kc.loadFromOptions({
      clusters: [{ name: 'labplane', server, skipTLSVerify: plainHttp }],
      users: [{ name: 'labplane' }],
      contexts: [{ name: 'labplane', cluster: 'labplane', user: 'labplane' }],
      currentContext: 'labplane',
    });
  } else if (source.inCluster === true) {
    kc.loadFromCluster();
  } else if (source.kubeconfigPath !== undefined) {
    kc.loadFromFile(source.kubeconfigPath);
  } else {
    kc.loadFromDefault();
  }
  if (kc.getCurrentCluster() === null) {
    throw new Error('The Kubernetes configuration names no current cluster.');
  }
  reuseTlsConnections(kc);
  return kc;
}
