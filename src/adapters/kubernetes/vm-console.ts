import type { Agent, IncomingMessage } from 'node:http';
import type https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { WebSocket } from 'ws';
import type { ConsoleType } from '../../domain/vms/console.js';
import { ConflictError, UpstreamUnavailableError } from '../../domain/shared/errors.js';
import { SUBRESOURCES_GROUP } from './vm-subresources.js';

/** KubeVirt's websocket subprotocol for its consoles: binary frames of raw bytes, one stream. */
export const PLAIN_KUBEVIRT_PROTOCOL = 'plain.kubevirt.io';

/** The VMI subresource of each console type. */
const SUBRESOURCE: Readonly<Record<ConsoleType, string>> = { vnc: 'vnc', serial: 'console' };

export interface KubeConsoleDeps {
  /** The control plane's own cluster credentials (those of the Kubernetes adapter). */
  readonly kubeConfig: KubeConfig;
  /** Time to get the upgrade answered, ms. */
  readonly connectTimeoutMs: number;
  /** Largest websocket message accepted from virt-api (a VNC update is about one framebuffer). */
  readonly maxPayloadBytes?: number;
}

/** The body of a refused upgrade, read up to a few KiB. */
async function bodyOf(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of res as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > 8192) break;
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function messageOf(text: string): string {
  try {
    const status = JSON.parse(text) as { message?: unknown };
    return typeof status.message === 'string' ? status.message : text;
  } catch {
    return text;
  }
}

/**
 * Opens a VM's console at virt-api:
 * `GET /apis/subresources.kubevirt.io/v1/namespaces/{tenant}/virtualmachineinstances/{vm}/vnc|console`
 * upgraded to a websocket with subprotocol `plain.kubevirt.io`, authenticated with the control
 * plane's kubeconfig (CA, client certificate or bearer token: `applyToHTTPSOptions`). Needs RBAC
 * `get` on `virtualmachineinstances/vnc` and `/console` in `subresources.kubevirt.io`. virt-api's
 * refusals become domain errors: 404 (no VMI) is the VM not running, 400 `VMI is not running` too;
 * anything else, or no answer in time, is 503 `KUBERNETES_UNAVAILABLE`. The socket is returned
 * paused (nothing is read until the caller resumes it).
 */
export function createKubeConsoleDialer(deps: KubeConsoleDeps) {
  return async function dial(tenant: string, vm: string, type: ConsoleType): Promise<WebSocket> {
    const cluster = deps.kubeConfig.getCurrentCluster();
    if (cluster === null) throw new Error('The Kubernetes configuration names no current cluster.');
    const base = new URL(cluster.server.endsWith('/') ? cluster.server : `${cluster.server}/`);
    const path = `apis/${SUBRESOURCES_GROUP}/v1/namespaces/${encodeURIComponent(tenant)}/virtualmachineinstances/${encodeURIComponent(vm)}/${SUBRESOURCE[type]}`;
    const url = new URL(path, base);
    url.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
    const opts: https.RequestOptions = { headers: {} };
    await deps.kubeConfig.applyToHTTPSOptions(opts);
    const plain = url.protocol === 'ws:';
    const socket = new WebSocket(url, [PLAIN_KUBEVIRT_PROTOCOL], {
      headers: opts.headers as Record<string, string>,
      handshakeTimeout: deps.connectTimeoutMs,
      maxPayload: deps.maxPayloadBytes ?? 16 * 1024 * 1024,
      perMessageDeflate: false,
      ...(plain
        ? {}
        : {
            ...(opts.agent === undefined ? {} : { agent: opts.agent as Agent }),
            ...(opts.ca === undefined ? {} : { ca: opts.ca }),
            ...(opts.cert === undefined ? {} : { cert: opts.cert }),
            ...(opts.key === undefined ? {} : { key: opts.key }),
            ...(opts.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: opts.rejectUnauthorized }),
          }),
    });
    const what = `${SUBRESOURCE[type]} of VirtualMachineInstance ${tenant}/${vm}`;
    return new Promise<WebSocket>((resolve, reject) => {
      socket.once('open', () => {
        // Returned paused: the guest may speak at once (a login prompt, the RFB version), before the
        // caller listens. It resumes the socket once it does.
        socket.pause();
        socket.removeAllListeners('error');
        if (socket.protocol !== PLAIN_KUBEVIRT_PROTOCOL) {
          socket.terminate();
          reject(new UpstreamUnavailableError('KUBERNETES_UNAVAILABLE', `virt-api did not agree to ${PLAIN_KUBEVIRT_PROTOCOL} for the ${what}.`));
          return;
        }
        resolve(socket);
      });
      socket.once('unexpected-response', (_req, res) => {
        void bodyOf(res).then((text) => {
          const status = res.statusCode ?? 0;
          const message = messageOf(text).trim();
          socket.terminate();
          if (status === 404 && /virtualmachineinstances?\.kubevirt\.io "[^"]*" not found/.test(message)) {
            reject(
              new ConflictError('ACTION_NOT_ALLOWED', `VM '${vm}' is not running; it has a console only while it runs.`, {
                details: { state: 'Stopped' },
              }),
            );
          } else if (status === 400 && /VMI is not running/.test(message)) {
            reject(
              new ConflictError('ACTION_NOT_ALLOWED', `VM '${vm}' is not running; it has a console only while it runs.`, {
                details: { state: 'Starting' },
              }),
            );
          } else {
            reject(new UpstreamUnavailableError('KUBERNETES_UNAVAILABLE', `virt-api answered HTTP ${status} to the ${what}.`));
          }
        });
      });
      socket.once('error', (err) => {
        reject(new UpstreamUnavailableError('KUBERNETES_UNAVAILABLE', `The ${what} could not be opened: ${err.message}`, { cause: err }));
      });
    });
  };
}

export type KubeConsoleDialer = ReturnType<typeof createKubeConsoleDialer>;
