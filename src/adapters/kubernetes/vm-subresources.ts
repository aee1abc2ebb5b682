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
  const path = `/apis/${SUBRESOURCES_GROUP}/v1/namespaces/${encodeURIComponent(namespace)}/virtualmachines/${encodeURIComponent(name)}/${action}`;
  await sendSubresource(client, 'PUT', path, JSON.stringify(body), `${action} of ${namespace}/${name}`, timeoutMs);
}

/** The answer of each read-only VMI subresource. */
export interface VmiSubresourceAnswers {
  userlist: kubevirt.VirtualMachineInstanceGuestOSUserList;
}

/**
 * GETs a read-only KubeVirt subresource of a VMI (`userlist`), sent like {@link putVmSubresource}.
 * The answer is parsed JSON, not checked against its schema. Non-2xx answers throw an
 * `ApiException` whose body is the raw text: virt-api answers these with plain text, not a Status.
 */
export async function getVmiSubresource<S extends keyof VmiSubresourceAnswers>(
  client: KubeClient,
  namespace: string,
  name: string,
  subresource: S,
  timeoutMs: number = DEFAULT_TIMEOUT_MS,
): Promise<VmiSubresourceAnswers[S]> {
  const path = `/apis/${SUBRESOURCES_GROUP}/v1/namespaces/${encodeURIComponent(namespace)}/virtualmachineinstances/${encodeURIComponent(name)}/${subresource}`;
  const text = await sendSubresource(client, 'GET', path, undefined, `${subresource} of ${namespace}/${name}`, timeoutMs);
  return JSON.parse(text) as VmiSubresourceAnswers[S];
}

async function sendSubresource(
  client: KubeClient,
  method: 'GET' | 'PUT',
  path: string,
  payload: string | undefined,
  label: string,
  timeoutMs: number,
): Promise<string> {
  const cluster = client.kubeConfig.getCurrentCluster();
  if (cluster === null) throw new Error('The Kubernetes configuration names no current cluster.');
  const url = new URL(path, cluster.server.endsWith('/') ? cluster.server : `${cluster.server}/`);
  const opts: https.RequestOptions = {
    method,
    headers: {
      accept: 'application/json',
      ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
    },
  };
  await client.kubeConfig.applyToHTTPSOptions(opts);
  const plain = url.protocol === 'http:';
  if (plain) delete opts.agent;
  const send = plain ? http.request : https.request;
  return new Promise<string>((resolve, reject) => {
    const req = send(url, { ...opts, signal: AbortSignal.timeout(timeoutMs) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        const text = Buffer.concat(chunks).toString('utf8');
        if (status >= 200 && status < 300) return resolve(text);
        const headers = Object.fromEntries(Object.entries(res.headers).flatMap(([k, v]) => (typeof v === 'string' ? [[k, v]] : [])));
        reject(new ApiException<string>(status, `HTTP ${status} from ${label}`, text, headers));
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}
