import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createTokenBucket, type TokenBucket } from '../../../src/domain/identity/token-bucket.js';
import { aadRoute, aadState, type AadState } from './aad-routes.js';
import { authorizationRoute } from './arm-authorization-routes.js';
import { hybridComputeRoute } from './arm-hybridcompute-routes.js';
import { ArmState, armError, type ArmRequest, type ArmResponse } from './arm-state.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly at: number;
  readonly authorization: string | undefined;
  readonly body: unknown;
  readonly status: number;
}

/** A scripted answer that replaces the next `times` requests matching `method` and `path`. */
export interface Fault {
  readonly method?: string;
  /** Substring of the path (case-insensitive). */
  readonly path?: string;
  /** HTTP status, or `reset` to drop the connection without an answer. */
  readonly status: number | 'reset';
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: unknown;
  /** Default 1. */
  readonly times?: number;
}

export interface ArmServerOptions {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly location: string;
  /** ARM's per-kind token buckets; over budget a request answers 429 with `Retry-After`. */
  readonly throttling?: Partial<Record<'reads' | 'writes' | 'deletes', { ratePerSecond: number; burst: number }>>;
}

export interface ArmServer {
  readonly url: string;
  /** PEM of the server's self-signed certificate, for `AzureArmSettings.trustedCa`. */
  readonly ca: string;
  readonly state: ArmState;
  /** The fake Azure AD token endpoint on the same server (authority host = `url`). */
  readonly aad: AadState;
  readonly requests: RecordedRequest[];
  inject(fault: Fault): void;
  /** Requests matching method and path substring (case-insensitive). */
  count(method: string, pathPart?: string): number;
  close(): Promise<void>;
}

const kindOf = (method: string) => (method === 'GET' || method === 'HEAD' ? 'reads' : method === 'DELETE' ? 'deletes' : 'writes');

/** A local HTTPS server speaking ARM for the calls the Azure adapters make (see the route modules). */
export async function startArmServer(options: ArmServerOptions): Promise<ArmServer> {
  const state = new ArmState(options.subscriptionId, options.resourceGroup, options.location);
  const aad = aadState();
  const requests: RecordedRequest[] = [];
  const faults: Array<Fault & { left: number }> = [];
  const buckets: Partial<Record<string, TokenBucket>> = {};
  for (const [kind, limits] of Object.entries(options.throttling ?? {})) buckets[kind] = createTokenBucket(limits);
  let baseUrl = '';

  const answer = (req: ArmRequest): ArmResponse | 'reset' => {
    const fault = faults.find(
      (f) => (f.method === undefined || f.method === req.method) && (f.path === undefined || req.path.toLowerCase().includes(f.path.toLowerCase())),
    );
    if (fault !== undefined) {
      fault.left -= 1;
      if (fault.left <= 0) faults.splice(faults.indexOf(fault), 1);
      if (fault.status === 'reset') return 'reset';
      return { status: fault.status, ...(fault.headers === undefined ? {} : { headers: fault.headers }), body: fault.body };
    }
    const token = aadRoute(aad, req, baseUrl);
    if (token !== undefined) return token;
    const bucket = buckets[kindOf(req.method)];
    if (bucket !== undefined && !bucket.tryTake()) {
      const seconds = Math.max(1, Math.ceil(bucket.nextAvailableInMs() / 1000));
      return armError(429, 'TooManyRequests', 'The request is being throttled.', { 'retry-after': String(seconds) });
    }
    const auth = req.headers['authorization'];
    if (typeof auth !== 'string' || !auth.startsWith('Bearer ')) {
      return armError(401, 'AuthenticationFailed', 'Authentication failed. The Authorization header is missing.');
    }
    if (!req.query.has('api-version')) return armError(400, 'MissingApiVersionParameter', 'The api-version query parameter is required.');
    return (
      hybridComputeRoute(state, req, baseUrl) ??
      authorizationRoute(state, req) ??
      armError(404, 'InvalidResourceType', `The resource type could not be found for ${req.path}.`)
    );
  };

  const server: Server = createServer({ key: fixture('localhost-key.pem'), cert: fixture('localhost-cert.pem') }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', baseUrl);
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = text === '' ? undefined : JSON.parse(text);
      } catch {
        body = text;
      }
      const path = url.pathname.replace(/\/{2,}/g, '/').replace(/\/$/, '');
      const armReq: ArmRequest = { method: req.method ?? 'GET', rawPath: url.pathname, path, query: url.searchParams, headers: req.headers, body };
      const out = answer(armReq);
      const auth = req.headers['authorization'];
      requests.push({
        method: armReq.method,
        path: url.pathname,
        query: url.search,
        at: Date.now(),
        authorization: typeof auth === 'string' ? auth : undefined,
        body,
        status: out === 'reset' ? 0 : out.status,
      });
      if (out === 'reset') {
        req.socket.destroy();
        return;
      }
      const payload = out.body === undefined ? '' : JSON.stringify(out.body);
      res.writeHead(out.status, {
        ...(payload === '' ? {} : { 'content-type': 'application/json; charset=utf-8' }),
        'x-ms-request-id': `req-${requests.length}`,
        ...(out.headers ?? {}),
      });
      res.end(payload);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: baseUrl,
    ca: fixture('localhost-cert.pem'),
    state,
    aad,
    requests,
    inject: (fault) => void faults.push({ ...fault, left: fault.times ?? 1 }),
    count: (method, pathPart = '') => requests.filter((r) => r.method === method && r.path.toLowerCase().includes(pathPart.toLowerCase())).length,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
