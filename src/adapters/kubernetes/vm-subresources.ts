import http from 'node:http';
import https from 'node:https';
import { ApiException } from '@kubernetes/client-node';
import type * as kubevirt from './generated/kubevirt.js';
import type { KubeClient } from './kube-client.js';
import { DEFAULT_TIMEOUT_MS } from './kube-client.js';

/** KubeVirt's subresource API group (virt-api), e.g. `.../virtualmachines/{name}/start`. */
export const SUBRESOURCES_GROUP = 'subresources.kubevirt.io';

/** The body each VM subresource takes (all its fields are optional). */
export interface VmSubresourceBodies {
  start: kubevirt.StartOptions;
  stop: kubevirt.StopOptions;
  restart: kubevirt.RestartOptions;
  migrate: kubevirt.MigrateOptions;
}

/**
 * PUTs a KubeVirt subresource (`start`, `stop`, `restart`, `migrate`) of a VM. The typed clients
 * cannot express these paths (they escape the `/` in `{name}/{action}`), so the request is sent
 * with node:http(s) and the cluster's credentials (`KubeConfig.applyToHTTPSOptions`: CA, client
 * certificate, bearer token). Non-2xx answers throw an `ApiException`, which `client.request`
 * translates like any other Kubernetes error.
 */
export async function putVmSubresource<A extends keyof VmSubresourceBodies>(
  client: KubeClient,
  namespace: string,
  name: string,
  action: A,
  body: VmSubresourceBodies[A] = {},
  timeoutMs: number = DEFAULT_TIMEOUT_MS,
): Promise<void> {
  const cluster = client.kubeConfig.getCurrentCluster();
  if (cluster === null) throw new Error('The Kubernetes configuration names no current cluster.');
  const path = `/apis/${SUBRESOURCES_GROUP}/v1/namespaces/${encodeURIComponent(namespace)}/virtualmachines/${encodeURIComponent(name)}/${action}`;
  const url = new URL(path, cluster.server.endsWith('/') ? cluster.server : `${cluster.server}/`);
  const payload = JSON.stringify(body);
  const opts: https.RequestOptions = {
    method: 'PUT',
    headers: { 'content-type': 'application/json', accept: 'application/json', 'content-length': Buffer.byteLength(payload) },
  };
  await client.kubeConfig.applyToHTTPSOptions(opts);
  const plain = url.protocol === 'http:';
  if (plain) delete opts.agent;
  const send = plain ? http.request : https.request;
  await new Promise<void>((resolve, reject) => {
    const req = send(url, { ...opts, signal: AbortSignal.timeout(timeoutMs) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) return resolve();
        const text = Buffer.concat(chunks).toString('utf8');
        const headers = Object.fromEntries(Object.entries(res.headers).flatMap(([k, v]) => (typeof v === 'string' ? [[k, v]] : [])));
        reject(new ApiException<string>(status, `HTTP ${status} from ${action} of ${namespace}/${name}`, text, headers));
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}
